#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: a bare MCUboot image and a Zephyr zip installed end to end,
# then the same image again (up to date), then an older one (downgrade).
source "$(dirname "$0")/lib.sh"

start_dfud
start_sim dev --baud 0 --running-version 1.0.0
mkimage -o "$T/app.bin" --version 1.2.0 --size 30000 --seed 1

expect_exit 0 dfuctl start "serial:$T/dev" "$T/app.bin"
[ "$(primary_of dev)" = "1.2.0 true" ] || fail "device runs $(primary_of dev)"
expect_job 1 succeeded success
[ "$(job_prop 1 BytesDone)" = 30000 ] || [ "$(job_prop 1 BytesDone)" -ge 30000 ] || fail "BytesDone $(job_prop 1 BytesDone)"

log "the same image again: nothing to do"
expect_exit 2 dfuctl start "serial:$T/dev" "$T/app.bin"
expect_job 2 succeeded up-to-date
[ "$(sim_state dev .counters.upload_bytes)" -le 31000 ] || fail "uploaded again"

log "a zip bundle with a newer image"
mkimage -o "$T/app2.bin" --version 1.3.0 --size 20000 --seed 2
"$MKIMAGE" zip -o "$T/dfu_application.zip" --board nrf52840dk --string-index "$T/app2.bin:0"
expect_exit 0 dfuctl start "serial:$T/dev?baud=115200" "$T/dfu_application.zip"
[ "$(primary_of dev)" = "1.3.0 true" ] || fail "device runs $(primary_of dev) after the zip"

log "an older image is refused unless allowed"
mkimage -o "$T/old.bin" --version 1.1.0 --size 10000 --seed 3
expect_exit 1 dfuctl start "serial:$T/dev" "$T/old.bin"
expect_job 4 failed downgrade
grep -q "hint:" <<<"$OUT" || fail "no hint printed: $OUT"
expect_exit 0 dfuctl start -o allow-downgrade=true "serial:$T/dev" "$T/old.bin"
[ "$(primary_of dev)" = "1.1.0 true" ] || fail "device runs $(primary_of dev) after the downgrade"

log "staging only"
mkimage -o "$T/app4.bin" --version 2.0.0 --size 8000 --seed 4
expect_exit 0 dfuctl start -o confirm=false "serial:$T/dev" "$T/app4.bin"
expect_job 6 succeeded staged
[ "$(sim_state dev '.images[0].slots[] | select(.slot == 1) | .pending')" = true ] || fail "not pending"
log "finishing the staged update: reset and confirm only"
expect_exit 0 dfuctl start "serial:$T/dev" "$T/app4.bin"
[ "$(primary_of dev)" = "2.0.0 true" ] || fail "device runs $(primary_of dev) after finishing"
