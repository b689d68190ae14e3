#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Job events reach the journal (read back in its export format) with the
# fields an operator filters on, at info level without --verbose.
source "$(dirname "$0")/lib.sh"

MAX_ATTEMPTS=2 write_config
mkdir -p "$T/devices.d"
printf '[Device kitchen-node]\nTarget=serial:%s\n' "$T/dev" >"$T/devices.d/kitchen.conf"
printf '[Device cellar-node]\nTarget=serial:%s\n' "$T/absent" >"$T/devices.d/cellar.conf"

# without --verbose: the events are there, the debug detail is not
"$DFUD" >>"$T/dfud.log" 2>&1 &
DFUD_PID=$!
wait_for 10 "dfud on the bus" "$DFUCTL" list

start_sim dev --baud 0 --running-version 1.0.0
mkimage -o "$T/app.bin" --version 1.1.0 --size 8000 --seed 1

start_job 0 kitchen-node "$T/app.bin"
ok_job=$n
start_job 1 cellar-node "$T/app.bin"
failed_job=$n
log "a job for the target URI of a named device is still that device's"
start_job 2 "serial:$T/dev" "$T/app.bin"
uri_job=$n

events() {
	journal "$@" | jq -r '.DFUD_EVENT' | paste -sd' '
}

[ "$(events DFUD_JOB=$ok_job)" = "submitted started finished" ] ||
	fail "job $ok_job has events '$(events DFUD_JOB=$ok_job)'"
[ "$(events DFUD_JOB=$failed_job)" = "submitted started retry attempt finished" ] ||
	fail "job $failed_job has events '$(events DFUD_JOB=$failed_job)'"
[ "$(events DFUD_DEVICE=kitchen-node)" = "submitted started finished submitted started finished" ] ||
	fail "kitchen-node has events '$(events DFUD_DEVICE=kitchen-node)'"
[ "$(journal DFUD_JOB=$uri_job DFUD_EVENT=finished | jq -r .DFUD_STATUS_NAME)" = up-to-date ] ||
	fail "job $uri_job did not finish up-to-date in the journal"

log "the fields of a finished job"
entry=$(journal DFUD_JOB=$ok_job DFUD_EVENT=finished)
check() {
	[ "$(jq -r ".$1" <<<"$entry")" = "$2" ] || fail "$1 is '$(jq -r ".$1" <<<"$entry")', expected '$2' in $entry"
}
check MESSAGE_ID 94af92672c6a4774b474b8c0a0417b47
check DFUD_TARGET "serial:$T/dev"
check DFUD_DEVICE kitchen-node
check DFUD_STATUS_CODE 1
check DFUD_STATUS_NAME success
check DFUD_STATE succeeded
check DFUD_SOURCE app.bin
check PRIORITY 6
check MESSAGE "job $ok_job for kitchen-node: succeeded: success: Update installed and confirmed"

log "the retry says why, the failure is a warning"
entry=$(journal DFUD_JOB=$failed_job DFUD_EVENT=retry)
check MESSAGE_ID 859b94d083ab42f6a2bce80c3df514ee
check DFUD_STATUS_NAME link-not-found
check DFUD_ATTEMPT 1
check DFUD_DEVICE cellar-node
entry=$(journal DFUD_JOB=$failed_job DFUD_EVENT=finished)
check PRIORITY 4
check DFUD_STATUS_NAME link-not-found
check DFUD_ATTEMPT 2
entry=$(journal DFUD_JOB=$failed_job DFUD_EVENT=attempt)
check MESSAGE_ID a7d5f1998b40445c8a52f7a0a864e155
check MESSAGE "job $failed_job for cellar-node: attempt 2 started"

log "every event is also a line on standard error, no debug line is"
grep -q "dfud: job $ok_job for kitchen-node: started" "$T/dfud.log" || fail "no event line on stderr"
if grep -q "attempt 1 started" "$T/dfud.log"; then fail "debug detail without --verbose"; fi

log "dfud(8) and the journal catalog explain every MESSAGE_ID the daemon sends"
for id in $(journal | jq -r .MESSAGE_ID | sort -u); do
	grep -q "$id" "$DFUD_SOURCE_ROOT/man/dfud.8.in" || fail "MESSAGE_ID $id is not documented"
	grep -q "^-- $id$" "$DFUD_SOURCE_ROOT/catalog/dfud.catalog" || fail "MESSAGE_ID $id is not in the catalog"
done
