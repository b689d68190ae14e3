#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Serial framings: a device speaking raw SMP updated with framing=raw (also
# on a noisy line) and found by probing without it once per job, a silent device failing in seconds with a
# message that says what was tried, and a padded image sent without its padding.
source "$(dirname "$0")/lib.sh"

MAX_ATTEMPTS=1 write_config
start_dfud

history_has() {
	dfuctl status -v "$1" | grep -qF -- "$2" || fail "job $1's history lacks '$2': $(dfuctl status -v "$1")"
}

log "framing=raw with a raw device"
start_sim raw --baud 0 --framing raw
mkimage -o "$T/app.bin" --version 1.2.0 --size 30000 --seed 1
start_job 0 "serial:$T/raw?framing=raw" "$T/app.bin"
expect_job $n succeeded success
[ "$(primary_of raw)" = "1.2.0 true" ] || fail "raw device runs $(primary_of raw)"
dfuctl status -v $n | grep -q "SMP framing" && fail "probed although the framing was given"

log "raw framing on a noisy line: garbage, a corrupted and a truncated answer are survived"
start_sim noisy --baud 0 --framing raw --fault garbage@2 --fault corrupt-response@4 --fault truncate-response@6
start_job 0 "serial:$T/noisy?framing=raw" "$T/app.bin"
expect_job $n succeeded success
[ "$(sim_state noisy .counters.upload_bytes)" -gt 0 ] || fail "nothing uploaded to the noisy device"

log "no framing given: the raw device is found by probing"
start_sim raw2 --baud 0 --framing raw
start_job 0 "serial:$T/raw2" "$T/app.bin"
expect_job $n succeeded success
history_has $n "device answers in raw SMP framing"
[ "$(primary_of raw2)" = "1.2.0 true" ] || fail "probed raw device runs $(primary_of raw2)"

log "the framing a probe found is kept for the job's later attempts"
start_sim raw3 --baud 0 --framing raw --fault drop-request@3 --fault drop-request@4 --fault drop-request@5
start_job 0 -o max-attempts=2 "serial:$T/raw3" "$T/app.bin"
expect_job $n succeeded success
[ "$(job_prop $n Attempt)" = 2 ] || fail "the dropped requests did not cost an attempt"
[ "$(dfuctl status -v $n | grep -c "device answers in raw SMP framing$")" = 1 ] || fail "probed twice"
history_has $n "device answers in raw SMP framing (found by an earlier attempt)"

log "no framing given: a console device answers at once"
start_sim console --baud 0
start_job 0 "serial:$T/console" "$T/app.bin"
expect_job $n succeeded success
history_has $n "device answers in console SMP framing"

log "a silent device fails in seconds, naming the framings and the command"
start_sim silent --baud 0 --fault silent-after@0
start=$(date +%s)
start_job 1 "serial:$T/silent" "$T/app.bin"
expect_job $n failed response-timeout
[ $(($(date +%s) - start)) -le 5 ] || fail "the silent device took $(($(date +%s) - start)) s"
msg=$(job_prop $n Message)
grep -qF "mcumgr params" <<<"$msg" || fail "command not named: $msg"
grep -qF "console or raw SMP framing" <<<"$msg" || fail "framings not named: $msg"
grep -qF "115200 baud" <<<"$msg" || fail "baud not named: $msg"

log "a padded image: only the image itself is uploaded"
start_sim padded --baud 0 --slot-size 524288
mkimage -o "$T/big.bin" --version 1.3.0 --size 100000 --seed 7
mkimage -o "$T/big-padded.bin" --version 1.3.0 --size 100000 --seed 7 --pad 524288
real=$(stat -c %s "$T/big.bin")
[ "$(stat -c %s "$T/big-padded.bin")" = 524288 ] || fail "mkimage --pad wrote $(stat -c %s "$T/big-padded.bin") bytes"
start_job 0 "serial:$T/padded" "$T/big-padded.bin"
expect_job $n succeeded success
[ "$(primary_of padded)" = "1.3.0 true" ] || fail "padded device runs $(primary_of padded)"
[ "$(sim_state padded .counters.upload_bytes)" = "$real" ] ||
	fail "uploaded $(sim_state padded .counters.upload_bytes) bytes of a $real-byte image"
[ "$(job_prop $n BytesTotal)" = "$real" ] || fail "BytesTotal $(job_prop $n BytesTotal), expected $real"
history_has $n "bytes of padding dropped"
