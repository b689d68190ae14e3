#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A device and a link that misbehave: garbage, lost and corrupted frames, a
# cable pulled mid-upload, a device that resets mid-upload or hangs up on
# reset, no parameters, v1 errors. Every job must still end installed, and a
# resumed upload must not start from zero.
source "$(dirname "$0")/lib.sh"

start_dfud
mkimage -o "$T/app.bin" --version 1.1.0 --size 24000 --seed 7

run_ok() {
	local dev=$1
	shift
	start_sim "$dev" --baud 0 "$@"
	start_job 0 "serial:$T/$dev" "$T/app.bin"
	expect_job "$n" succeeded success
	[ "$(primary_of "$dev")" = "1.1.0 true" ] || fail "$dev runs $(primary_of "$dev")"
}

log "garbage, corrupted and truncated responses"
run_ok noisy --fault garbage@2 --fault corrupt-response@4 --fault truncate-response@6 --fault drop-request@9

log "parameters not supported, v1 errors"
run_ok legacy --no-params --errors v1
grep -q "does not report its buffers" <<<"$(dfuctl status -v $n)" || fail "no fallback noted in the history"

log "256-byte buffers and no parameters: the guessed message size shrinks until it fits"
run_ok small --no-params --buf-size 256
grep -q "190-byte messages reach the device" <<<"$(dfuctl status -v $n)" || fail "no shrink in the history"

log "the link hangs up mid-upload and comes back: the upload resumes"
run_ok unplugged --fault hangup-at@12000
uploaded=$(sim_state unplugged .counters.upload_bytes)
[ "$uploaded" -lt 36000 ] || fail "upload restarted from zero ($uploaded bytes written)"

log "the device resets mid-upload: its upload state is gone, the upload starts over"
run_ok rebooted --fault reset-at@12000

log "the device hangs up while it reboots into the new image"
run_ok usb --reset-hangup

log "the device is busy once"
run_ok busy --fault busy@3

log "the device is busy twice: waited out within one attempt, not counted as failures"
start_sim busy2 --baud 0 --fault busy@3 --fault busy@6
start_job 0 -o max-attempts=1 "serial:$T/busy2" "$T/app.bin"
expect_job "$n" succeeded success
[ "$(job_prop "$n" Attempt)" = 1 ] || fail "busy answers took $(job_prop "$n" Attempt) attempts"
[ "$(dfuctl status -v $n | grep -c 'device busy with')" -eq 2 ] || fail "busy waits not in the history"
