#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Finished jobs stay in the history after they expire and across restarts,
# a crash included, and the history keeps only the newest HistorySize.
source "$(dirname "$0")/lib.sh"

config() {
	MAX_ATTEMPTS=1 EXTRA_CONFIG="[daemon]
KeepFinishedSec=$1
HistorySize=3" write_config
	# write_config has a [daemon] group of its own; GKeyFile merges the two
}
config 3600
mkdir -p "$T/devices.d"
printf '[Device kitchen-node]\nTarget=serial:%s\n' "$T/dev" >"$T/devices.d/kitchen.conf"
printf '[Device cellar-node]\nTarget=serial:%s\n' "$T/absent" >"$T/devices.d/cellar.conf"
start_dfud
start_sim dev --baud 0 --running-version 1.0.0
mkimage -o "$T/app.bin" --version 1.1.0 --size 8000 --seed 1

start_job 0 kitchen-node "$T/app.bin"
start_job 1 cellar-node "$T/app.bin"
start_job 2 "serial:$T/dev" "$T/app.bin"

# ids: the job numbers in the history, oldest first
ids() {
	"$DFUCTL" history --json "$@" | jq -r .Id | paste -sd' '
}
[ "$(ids)" = "1 2 3" ] || fail "history has jobs '$(ids)'"
[ "$(ids kitchen-node)" = "1 3" ] || fail "kitchen-node has jobs '$(ids kitchen-node)'"
[ "$(ids "serial:$T/absent")" = "2" ] || fail "the absent device has jobs '$(ids "serial:$T/absent")'"

log "the fields of an entry"
entry=$("$DFUCTL" history --json cellar-node)
for kv in Id=2 Device=cellar-node "Target=serial:$T/absent" Source=app.bin State=failed StatusCode=10 \
	StatusName=link-not-found Attempts=1; do
	[ "$(jq -r ".${kv%%=*}" <<<"$entry")" = "${kv#*=}" ] || fail "${kv%%=*} is not ${kv#*=} in $entry"
done
[ "$(jq -r '.Finished >= .Started and .Started >= .Created and .Created > 0' <<<"$entry")" = true ] ||
	fail "bad timestamps in $entry"

log "the table says why a job failed"
expect_exit 0 dfuctl history cellar-node
grep -q "link-not-found" <<<"$OUT" && grep -q "No such file or directory" <<<"$OUT" ||
	fail "no reason in the table: $OUT"
expect_exit 0 dfuctl history nowhere
[ "$OUT" = "no finished jobs of nowhere" ] || fail "empty history says: $OUT"

log "finished jobs missing from the history (a crash between the writes) are added at the start"
stop_dfud
rm "$STATE_DIRECTORY/history"
start_dfud
[ "$(ids)" = "1 2 3" ] || fail "history after the start has jobs '$(ids)'"

log "the history outlives the jobs"
config 1
stop_dfud
start_dfud
wait_for 10 "the jobs to expire" bash -c "[ \"\$($DFUCTL list -a)\" = 'no jobs' ]"
[ "$(ids)" = "1 2 3" ] || fail "history after expiry has jobs '$(ids)'"

log "the oldest go first"
start_job 2 kitchen-node "$T/app.bin"
[ "$(ids)" = "2 3 4" ] || fail "history has jobs '$(ids)' after a fourth"

log "kill -9 keeps what was written"
start_job 2 kitchen-node "$T/app.bin"
kill9_dfud
start_dfud
[ "$(ids)" = "3 4 5" ] || fail "history after kill -9 has jobs '$(ids)'"
[ "$(wc -l <"$STATE_DIRECTORY/history")" -lt 6 ] || fail "the history file grows past twice its size"
