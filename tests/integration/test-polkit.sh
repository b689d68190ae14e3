#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Submit and Cancel ask polkit (a stand-in on the private bus) for their
# actions and follow its answer; without polkit on the bus the group rule
# decides, as before.
source "$(dirname "$0")/lib.sh"

start_dfud
start_sim dev --baud 115200 --running-version 1.0.0
mkimage -o "$T/app.bin" --version 1.1.0 --size 4000 --seed 1
mkimage -o "$T/big.bin" --version 1.2.0 --size 60000 --seed 2
mkimage -o "$T/old.bin" --version 0.9.0 --size 4000 --seed 3

log "without polkit the daemon's own user may do everything on a session bus"
start_job 0 "serial:$T/dev" "$T/app.bin"
job=$(submit "serial:$T/dev" "$T/big.bin")
expect_exit 0 dfuctl abort "$job"
wait_job_done 30 "$job"
expect_job "$job" cancelled cancelled

ANSWERS=$T/polkit.answers
printf 'org.dfud1.update yes\n' >"$ANSWERS"
run_sim polkit READY /usr/bin/python3 -I "$(dirname "$0")/polkit-standin.py" \
	--answers "$ANSWERS" --log "$T/polkit-calls.log"
POLKIT_PID=$SIM_PID
calls() { jq -r "$1" "$T/polkit-calls.log"; }

log "polkit allows an update (of a device that already runs it)"
start_job 2 "serial:$T/dev" "$T/app.bin"
entry=$(tail -n1 "$T/polkit-calls.log")
[ "$(jq -r .action <<<"$entry")" = org.dfud1.update ] || fail "asked polkit for $entry"
[ "$(jq -r .subject <<<"$entry")" = system-bus-name ] || fail "subject is not the caller's bus name: $entry"
[ "$(jq -r .uid <<<"$entry")" = "$(id -u)" ] || fail "the subject is not dfuctl's user: $entry"
[ "$(jq -r .details.target <<<"$entry")" = "serial:$T/dev" ] || fail "no target in the details: $entry"

log "polkit refuses a downgrade, and no job is made"
jobs_before=$(dfuctl list -a --json | wc -l)
expect_exit 1 dfuctl start -o allow-downgrade=true "serial:$T/dev" "$T/old.bin"
grep -q "Not authorized for org.dfud1.update-downgrade" <<<"$OUT" || fail "refusal says: $OUT"
[ "$(dfuctl list -a --json | wc -l)" = "$jobs_before" ] || fail "a refused submit made a job"
[ "$(calls .action | tail -n1)" = org.dfud1.update-downgrade ] || fail "downgrade not asked as such"

log "a challenge is a refusal that says how to pass it"
printf 'org.dfud1.update challenge\n' >"$ANSWERS"
expect_exit 1 dfuctl start "serial:$T/dev" "$T/app.bin"
grep -q "needs authentication" <<<"$OUT" || fail "challenge says: $OUT"

log "cancelling one's own job is cancel-own"
printf 'org.dfud1.update yes\n' >"$ANSWERS"
job=$(submit "serial:$T/dev" "$T/big.bin")
expect_exit 1 dfuctl abort "$job"
[ "$(calls .action | tail -n1)" = org.dfud1.cancel-own ] || fail "cancel asked for $(calls .action | tail -n1)"
[ "$(calls .details.job | tail -n1)" = "$job" ] || fail "no job in the details"
job_state_is "$job" queued || job_state_is "$job" running || fail "a refused cancel stopped job $job"
printf 'org.dfud1.update yes\norg.dfud1.cancel-own yes\n' >"$ANSWERS"
expect_exit 0 dfuctl abort "$job"
wait_job_done 30 "$job"
expect_job "$job" cancelled cancelled

log "another user's job (the owner is kept across a restart) is cancel-any"
job=$(submit "serial:$T/nothing-here" "$T/app.bin" -o max-attempts=100)
# once an attempt ran, the bundle is stored and the job survives the restart
wait_for 10 "job $job to run" bash -c "[ \$($DFUCTL status --json $job | jq .Attempt) -ge 1 ]"
stop_dfud
jq '."owner-uid" = 4242' "$STATE_DIRECTORY/jobs/$job.json" >"$T/job.json"
mv "$T/job.json" "$STATE_DIRECTORY/jobs/$job.json"
EXTRA_CONFIG="[daemon]
RetryDelaySec=30" write_config
start_dfud
expect_exit 1 dfuctl abort "$job"
[ "$(calls .action | tail -n1)" = org.dfud1.cancel-any ] || fail "cancel asked for $(calls .action | tail -n1)"
printf 'org.dfud1.cancel-any yes\n' >"$ANSWERS"
expect_exit 0 dfuctl abort "$job"
expect_job "$job" cancelled cancelled

log "reading a device is manage-devices (the device named in devices.d by a reload)"
mkdir -p "$T/devices.d"
printf '[Device kitchen-node]\nTarget=serial:%s\n' "$T/dev" >"$T/devices.d/kitchen.conf"
kill -HUP "$DFUD_PID"
wait_for 5 "the reload" grep -q "configuration reloaded" "$T/dfud.log"
expect_exit 1 dfuctl info --refresh kitchen-node
grep -q "Not authorized for org.dfud1.manage-devices" <<<"$OUT" || fail "refresh refusal says: $OUT"
entry=$(tail -n1 "$T/polkit-calls.log")
[ "$(jq -r .action <<<"$entry")" = org.dfud1.manage-devices ] || fail "refresh asked polkit for $entry"
[ "$(jq -r .details.device <<<"$entry")/$(jq -r .details.kind <<<"$entry")" = kitchen-node/refresh ] ||
	fail "no device and kind in the details: $entry"
printf 'org.dfud1.manage-devices yes\n' >"$ANSWERS"
expect_exit 0 dfuctl info --refresh kitchen-node
grep -q "1.1.0 active" <<<"$OUT" || fail "the refreshed device shows no version: $OUT"

log "polkit gone: the group rule again"
kill -TERM "$POLKIT_PID"
wait "$POLKIT_PID" 2>/dev/null || true
asked=$(wc -l <"$T/polkit-calls.log")
start_job 0 -o allow-downgrade=true "serial:$T/dev" "$T/old.bin"
[ "$(wc -l <"$T/polkit-calls.log")" = "$asked" ] || fail "a call reached the stopped stand-in"
