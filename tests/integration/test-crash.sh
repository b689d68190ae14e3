#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A job that takes the daemon down with it, restarted the way systemd's
# Restart=on-failure does, is failed after MaxAttempts and its bundle
# quarantined; the daemon then runs other jobs. A bundle whose parsing kills
# the daemon kills it only once. Damaged job files do not stop a start. After
# a restart, a device that is not the one the job talked to gets nothing.
source "$(dirname "$0")/lib.sh"

# the daemon dies on purpose: no core files from that
ulimit -c 0
if ! grep -q DFUD_TEST_CRASH_PHASE "$DFUD"; then
	log "dfud was built without -Dtest_hooks=true"
	exit 77
fi

start_sim a --baud 1000000
mkimage -o "$T/deadly.bin" --version 1.5.0 --size 30000 --seed 21
mkimage -o "$T/good.bin" --version 1.6.0 --size 30000 --seed 22

# runs dfud until it exits; its status in $DFUD_RC
run_dfud_once() {
	"$DFUD" --verbose >>"$T/dfud.log" 2>&1 &
	DFUD_PID=$!
	DFUD_RC=0
	wait "$DFUD_PID" || DFUD_RC=$?
	DFUD_PID=
}

log "a job that crashes the daemon each time it uploads"
export DFUD_TEST_CRASH_PHASE=uploading DFUD_TEST_CRASH_SOURCE=deadly.bin DFUD_TEST_CRASH_BUNDLE=parser.bin
start_dfud
expect_exit 0 dfuctl start --no-wait "serial:$T/a" "$T/deadly.bin"
DFUD_RC=0
wait "$DFUD_PID" || DFUD_RC=$?
DFUD_PID=
deaths=0
# like systemd: restart after every failure; each start resumes the job and dies again
while [ "$DFUD_RC" -ne 0 ] && [ "$deaths" -lt 10 ]; do
	deaths=$((deaths + 1))
	log "dfud died ($DFUD_RC), death $deaths; restarting"
	if [ "$deaths" -ge 3 ]; then break; fi
	run_dfud_once
done
[ "$deaths" -eq 3 ] || fail "dfud died $deaths times, expected once per attempt (3)"

log "the third start fails the job instead of resuming it"
start_dfud
expect_job 1 failed crash-loop
[ "$(job_prop 1 StatusCode)" = 208 ] || fail "status code $(job_prop 1 StatusCode)"
[ "$(job_prop 1 Attempt)" = 3 ] || fail "attempt $(job_prop 1 Attempt)"
dfuctl status -v 1 | grep -q "attempt 2 ended with the daemon's death while uploading" ||
	fail "no crash in the history"
ls "$CACHE_DIRECTORY"/quarantine/*.bundle >/dev/null 2>&1 || fail "the bundle was not quarantined"
[ "$(primary_of a)" = "1.0.0 true" ] || fail "device changed: $(primary_of a)"

log "the same bundle again is refused at once, and the daemon lives on"
expect_exit 1 dfuctl start "serial:$T/a" "$T/deadly.bin"
expect_job 2 failed crash-loop
kill -0 "$DFUD_PID" || fail "dfud died on the quarantined bundle"

log "other jobs run"
expect_exit 0 dfuctl start "serial:$T/a" "$T/good.bin"
expect_job 3 succeeded success
[ "$(primary_of a)" = "1.6.0 true" ] || fail "device runs $(primary_of a)"

log "a bundle whose parsing kills the daemon kills it once: the retry parses it in a process of its own"
cp "$T/good.bin" "$T/parser.bin"
printf 'x' >>"$T/parser.bin"
expect_exit 0 dfuctl start --no-wait "serial:$T/a" "$T/parser.bin"
DFUD_RC=0
wait "$DFUD_PID" || DFUD_RC=$?
DFUD_PID=
[ "$DFUD_RC" -ne 0 ] || fail "dfud did not die on the parser hook"
start_dfud
wait_for 20 "job 4 to end" bash -c "[ \"\$($DFUCTL status --json 4 | jq -r .State)\" = failed ]"
expect_job 4 failed crash-loop
[ "$(job_prop 4 Attempt)" = 2 ] || fail "attempt $(job_prop 4 Attempt)"
job_prop 4 Message | grep -q "crashed the process that checked it" || fail "message: $(job_prop 4 Message)"
[ "$(ls "$CACHE_DIRECTORY"/quarantine/*.bundle | wc -l)" = 2 ] || fail "the bundle was not quarantined"
kill -0 "$DFUD_PID" || fail "dfud died a second time on the same bundle"
stop_dfud
unset DFUD_TEST_CRASH_PHASE DFUD_TEST_CRASH_SOURCE DFUD_TEST_CRASH_BUNDLE

log "truncated and hostile job files are set aside; the daemon starts all the same"
head -c 100 "$STATE_DIRECTORY/jobs/3.json" >"$STATE_DIRECTORY/jobs/97.json"
python3 -c 'print("[" * 1000000 + "]" * 1000000)' >"$STATE_DIRECTORY/jobs/98.json"
start_dfud
[ -f "$STATE_DIRECTORY/jobs/97.json.corrupt" ] || fail "truncated job file not set aside"
[ -f "$STATE_DIRECTORY/jobs/98.json.corrupt" ] || fail "deep job file not set aside"
grep -q "98.json is unusable" "$T/dfud.log" || fail "no log line for the set-aside job file"
expect_job 3 succeeded success
stop_dfud

log "kill -9 mid-upload, another device on the port: nothing is sent to it"
start_dfud
start_sim b --baud 1000000
b_pid=$SIM_PID
mkimage -o "$T/big.bin" --version 1.7.0 --size 120000 --seed 23
expect_exit 0 dfuctl start --no-wait "serial:$T/b" "$T/big.bin"
wait_for 20 "job 5 uploading" bash -c "[ \"\$($DFUCTL status --json 5 | jq -r .BytesDone)\" -gt 20000 ]"
kill9_dfud
kill -TERM "$b_pid"
wait "$b_pid" 2>/dev/null || true
rm -f "$T/b" "$T/b.json"
start_sim b --baud 1000000 --running-version 3.1.0
start_dfud
wait_for 30 "job 5 to end" bash -c "[ \"\$($DFUCTL status --json 5 | jq -r .State)\" = failed ]"
expect_job 5 failed device-mismatch
[ "$(sim_state b .counters.upload_bytes)" = 0 ] || fail "bytes reached the other device"
[ "$(primary_of b)" = "3.1.0 true" ] || fail "the other device changed: $(primary_of b)"
