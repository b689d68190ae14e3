#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Jobs that must fail, each with its status code, a message, the raw device
# code where the device gave one, and the old image still running.
source "$(dirname "$0")/lib.sh"

MAX_ATTEMPTS=2 FIRST_TIMEOUT=1 write_config
start_dfud
mkimage -o "$T/app.bin" --version 1.1.0 --size 16000 --seed 9

run_fail() {
	local dev=$1 name=$2
	shift 2
	start_sim "$dev" --baud 0 "$@"
	start_job 1 "serial:$T/$dev" "$T/app.bin"
	expect_job "$n" failed "$name"
	grep -q "hint:" <<<"$OUT" || fail "no hint in: $OUT"
	[ "$(primary_of "$dev")" = "1.0.0 true" ] || fail "$dev runs $(primary_of "$dev")"
}

log "the bootloader rejects the new image: rolled back"
run_fail rejecting rolled-back --boot-rejects

log "the device refuses the test"
run_fail refusing test-refused --refuse-test
[ "$(dfuctl status --json $n | jq -r '.DeviceError.command')" = "image test" ] || fail "no device error"

log "the device has no room (image group error 9)"
run_fail full no-room --fault error@1:1:9:10
[ "$(dfuctl status --json $n | jq -r '.DeviceError["smp-group"]')" = 1 ] || fail "no group in DeviceError"
[ "$(dfuctl status --json $n | jq -r '.DeviceError["smp-rc"]')" = 9 ] || fail "no rc in DeviceError"

log "the device goes silent: timeout, retried, then failed with the same code"
run_fail silent response-timeout --fault silent-after@2
[ "$(job_prop $n Attempt)" = 2 ] || fail "attempt $(job_prop $n Attempt), expected 2"

log "no such device"
start_job 1 "serial:$T/nothing-here" "$T/app.bin"
expect_job $n failed link-not-found

log "bad requests are refused before any job exists"
expect_exit 1 dfuctl start -o bogus=1 "serial:$T/rejecting" "$T/app.bin"
grep -q "bogus" <<<"$OUT" || fail "unknown option not named: $OUT"
expect_exit 1 dfuctl start "serial:relative/path" "$T/app.bin"
expect_exit 1 dfuctl start "usb:/dev/x" "$T/app.bin"
expect_exit 3 dfuctl start "serial:$T/rejecting" "$T/does-not-exist.bin"
expect_exit 3 dfuctl status 999
[ "$(dfuctl list --all --json | jq -s length)" = $n ] || fail "a refused request left a job behind"
