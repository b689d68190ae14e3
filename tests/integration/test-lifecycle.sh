#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Jobs outlive the daemon: cancel mid-upload, kill -9 mid-upload and restart
# (the job comes back and resumes from the device's offset), a clean restart
# keeps the history, and two devices update in parallel.
source "$(dirname "$0")/lib.sh"

start_dfud
# 1 Mbaud keeps an upload long enough to act on it mid-way, and short enough for a test
start_sim slow --baud 1000000
mkimage -o "$T/app.bin" --version 1.5.0 --size 120000 --seed 11

uploading_past() {
	[ "$(job_prop "$1" Phase)" = uploading ] && [ "$(job_prop "$1" BytesDone)" -gt "$2" ]
}

log "cancel mid-upload"
expect_exit 0 dfuctl start --no-wait "serial:$T/slow" "$T/app.bin"
wait_for 20 "job 1 uploading" uploading_past 1 10000
expect_exit 0 dfuctl abort 1
wait_for 10 "job 1 to end" bash -c "[ \"\$($DFUCTL status --json 1 | jq -r .State)\" = cancelled ]"
expect_job 1 cancelled cancelled
[ "$(primary_of slow)" = "1.0.0 true" ] || fail "device changed after cancel"

log "kill -9 mid-upload, restart: the job is back and resumes"
expect_exit 0 dfuctl start --no-wait "serial:$T/slow" "$T/app.bin"
wait_for 20 "job 2 uploading" uploading_past 2 40000
kill9_dfud
start_dfud
[ "$(job_prop 1 State)" = cancelled ] || fail "job 1 lost its history"
expect_exit 0 dfuctl status 2
wait_for 60 "job 2 to succeed" bash -c "[ \"\$($DFUCTL status --json 2 | jq -r .State)\" = succeeded ]"
[ "$(primary_of slow)" = "1.5.0 true" ] || fail "device runs $(primary_of slow)"
uploaded=$(sim_state slow .counters.upload_bytes)
# the cancelled job's bytes were resumed too: far less than three full uploads
[ "$uploaded" -lt 200000 ] || fail "uploads restarted from zero ($uploaded bytes written)"
dfuctl status -v 2 | grep -q "attempt 2" || fail "no second attempt in the history"

log "a clean restart keeps every job"
stop_dfud
start_dfud
[ "$(dfuctl list --all --json | jq -s length)" = 2 ] || fail "jobs lost across a restart"
expect_job 2 succeeded success

log "SIGTERM mid-upload: the job stays running on disk and finishes after the restart"
mkimage -o "$T/app3.bin" --version 1.5.1 --size 120000 --seed 14
expect_exit 0 dfuctl start --no-wait "serial:$T/slow" "$T/app3.bin"
wait_for 20 "job 3 uploading" uploading_past 3 20000
stop_dfud
start_dfud
wait_for 60 "job 3 to succeed" bash -c "[ \"\$($DFUCTL status --json 3 | jq -r .State)\" = succeeded ]"
[ "$(primary_of slow)" = "1.5.1 true" ] || fail "device runs $(primary_of slow)"

log "two devices in parallel"
start_sim a --baud 1000000
start_sim b --baud 1000000
mkimage -o "$T/small.bin" --version 1.6.0 --size 60000 --seed 12
expect_exit 0 dfuctl start --no-wait "serial:$T/a" "$T/small.bin"
expect_exit 0 dfuctl start --no-wait "serial:$T/b" "$T/small.bin"
wait_for 30 "both jobs to run" bash -c "[ \"\$($DFUCTL status --json 4 | jq -r .State)\" = running ] && [ \"\$($DFUCTL status --json 5 | jq -r .State)\" = running ]"
wait_for 60 "both jobs to succeed" bash -c "[ \"\$($DFUCTL status --json 4 | jq -r .State)\" = succeeded ] && [ \"\$($DFUCTL status --json 5 | jq -r .State)\" = succeeded ]"
[ "$(primary_of a)" = "1.6.0 true" ] && [ "$(primary_of b)" = "1.6.0 true" ] || fail "devices not updated"

log "two jobs for one device run one after the other"
mkimage -o "$T/next.bin" --version 1.7.0 --size 30000 --seed 13
expect_exit 0 dfuctl start --no-wait "serial:$T/a" "$T/next.bin"
expect_exit 0 dfuctl start --no-wait "serial:$T/a?baud=115200" "$T/next.bin"
wait_for 60 "both to finish" bash -c "[ \"\$($DFUCTL status --json 7 | jq -r .State)\" = succeeded ]"
expect_job 6 succeeded success
expect_job 7 succeeded up-to-date
