#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every MCUboot mode end to end (single slot and firmware loader through a reset
# into the bootloader), and what must fail before or right after the
# upload: an image linked for the other slot, an equal version, an image the
# bootloader rejects, a bundle image the device has no slots for, a downgrade
# of one image of a bundle.
source "$(dirname "$0")/lib.sh"

# the image 0 slot that runs: "slot version confirmed"
active_of() {
	sim_state "$1" '.images[0].slots[] | select(.active) | "\(.slot) \(.version) \(.confirmed)"'
}

uploaded() {
	sim_state "$1" .counters.upload_bytes
}

start_dfud
mkimage -o "$T/v2.bin" --version 2.0.0 --size 6000 --seed 1

# mode, dfu-sim options, the slot that runs afterwards
while read -r name slot options; do
	log "$name"
	start_sim "$name" --baud 0 --running-version 1.0.0 $options
	start_job 0 "serial:$T/$name" "$T/v2.bin"
	expect_job $n succeeded success
	[ "$(active_of "$name")" = "$slot 2.0.0 true" ] || fail "$name runs $(active_of "$name")"
done <<'MODES'
swap-scratch 0 --bootloader-mode swap-scratch
swap-move 0 --bootloader-mode swap-move
swap-offset 0 --bootloader-mode swap-offset
overwrite 0 --bootloader-mode overwrite
direct-xip 1 --bootloader-mode direct-xip
direct-xip-revert 1 --bootloader-mode direct-xip-revert
ram-load 1 --bootloader-mode ram-load
ram-load-silent 1 --bootloader-mode ram-load --no-bootloader-info
ram-load-revert 1 --bootloader-mode ram-load-revert
ram-load-revert-silent 1 --bootloader-mode ram-load-revert --no-bootloader-info
single 0 --bootloader-mode single
firmware-loader 0 --bootloader-mode firmware-loader
recovery 0 --bootloader-mode single --in-bootloader --no-params
MODES
grep -q "bootloader mode: direct-XIP or RAM-load (from a bare rc 8 to the state write)" "$T/dfud.log" ||
	fail "the clue that decided the mode is not logged"
grep -q "device runs its bootloader (serial recovery); sending the image there" "$T/dfud.log" ||
	fail "serial recovery not entered"
grep -q "device runs its bootloader (firmware loader); sending the image there" "$T/dfud.log" ||
	fail "firmware loader not entered"
grep -q "device runs MCUboot's serial recovery (it lists no running image and no hashes)" "$T/dfud.log" ||
	fail "a device already in serial recovery not recognised"

log "direct-XIP: an image linked for slot 0 while slot 0 runs is refused at its first chunk"
start_sim wrong-slot --baud 0 --running-version 1.0.0 --bootloader-mode direct-xip
mkimage -o "$T/slot0.bin" --version 2.0.0 --size 6000 --seed 2 --rom-fixed 0x20000
start_job 1 "serial:$T/wrong-slot" "$T/slot0.bin"
expect_job $n failed image-rejected
[ "$(uploaded wrong-slot)" -eq 0 ] || fail "wrong-slot image wrote $(uploaded wrong-slot) bytes"

log "direct-XIP bundle with a build per slot: the build for the free slot goes, each time"
for v in 2 3; do
	mkimage -o "$T/xip$v-s0.bin" --version $v.0.0 --size 6000 --seed 1$v --rom-fixed 0x20000
	mkimage -o "$T/xip$v-s1.bin" --version $v.0.0 --size 6000 --seed 2$v --rom-fixed 0x60000
	"$MKIMAGE" zip -o "$T/xip$v.zip" "$T/xip$v-s0.bin:0:0" "$T/xip$v-s1.bin:0:1"
done
start_sim variants --baud 0 --running-version 1.0.0 --bootloader-mode direct-xip
start_job 0 "serial:$T/variants" "$T/xip2.zip"
expect_job $n succeeded success
[ "$(active_of variants)" = "1 2.0.0 true" ] || fail "variants device runs $(active_of variants)"
dfuctl status -v $n | grep -q "sending xip2-s1.bin, the build for slot 1" || fail "variant not named"
start_job 2 "serial:$T/variants" "$T/xip2.zip"
start_job 0 "serial:$T/variants" "$T/xip3.zip"
expect_job $n succeeded success
[ "$(active_of variants)" = "0 3.0.0 true" ] || fail "variants device runs $(active_of variants)"

log "direct-XIP bundle holding only the build for the running slot: refused before the upload"
"$MKIMAGE" zip -o "$T/only-s0.zip" "$T/xip2-s0.bin:0:0"
start_sim only-s0 --baud 0 --running-version 1.0.0 --bootloader-mode direct-xip --allow-wrong-slot
start_job 1 "serial:$T/only-s0" "$T/only-s0.zip"
expect_job $n failed image-rejected
grep -q "nothing was sent" <<<"$(job_prop $n Message)" || fail "message: $(job_prop $n Message)"
[ "$(uploaded only-s0)" -eq 0 ] || fail "wrong-slot build wrote $(uploaded only-s0) bytes"

log "direct-XIP without the slot check: the bootloader skips the image"
start_sim skipped --baud 0 --running-version 1.0.0 --bootloader-mode direct-xip --allow-wrong-slot
start_job 1 "serial:$T/skipped" "$T/slot0.bin"
expect_job $n failed rolled-back
[ "$(active_of skipped)" = "0 1.0.0 true" ] || fail "skipped device runs $(active_of skipped)"

log "direct-XIP: an equal version would not boot, refused before the upload"
start_sim equal --baud 0 --running-version 2.0.0 --bootloader-mode direct-xip
start_job 1 "serial:$T/equal" "$T/v2.bin"
expect_job $n failed downgrade
grep -q "not newer" <<<"$(job_prop $n Message)" || fail "message: $(job_prop $n Message)"
[ "$(uploaded equal)" -eq 0 ] || fail "equal version uploaded"

log "single slot, a device that ignores boot mode 1: not-supported, nothing sent"
start_sim no-boot-mode --baud 0 --running-version 1.0.0 --bootloader-mode single --ignore-boot-mode
start_job 1 "serial:$T/no-boot-mode" "$T/v2.bin"
expect_job $n failed not-supported
grep -q "did not stay in the bootloader" <<<"$(job_prop $n Message)" || fail "message: $(job_prop $n Message)"
[ "$(uploaded no-boot-mode)" -eq 0 ] || fail "wrote $(uploaded no-boot-mode) bytes to the application"

log "RAM-load: the bootloader rejects the image after the reset"
start_sim rejects --baud 0 --running-version 1.0.0 --bootloader-mode ram-load --boot-rejects
start_job 1 "serial:$T/rejects" "$T/v2.bin"
expect_job $n failed rolled-back
[ "$(active_of rejects)" = "0 1.0.0 true" ] || fail "rejecting device runs $(active_of rejects)"

log "a two-image bundle on a one-image device: refused before the upload"
mkimage -o "$T/net0.bin" --version 0.0.0 --size 4000 --seed 3
"$MKIMAGE" zip -o "$T/two.zip" "$T/v2.bin:0" "$T/net0.bin:1"
start_sim one --baud 0 --running-version 1.0.0
start_job 1 "serial:$T/one" "$T/two.zip"
expect_job $n failed board-mismatch
grep -q "no image 1" <<<"$(job_prop $n Message)" || fail "message: $(job_prop $n Message)"
[ "$(uploaded one)" -eq 0 ] || fail "a one-image device got $(uploaded one) bytes"

log "an old network core image blocks the bundle unless that image may go back"
start_sim two --baud 0 --running-version 1.0.0 --images 2
start_job 1 "serial:$T/two" "$T/two.zip"
expect_job $n failed downgrade
[ "$(uploaded two)" -eq 0 ] || fail "downgrade uploaded"
start_job 0 -o allow-downgrade=net "serial:$T/two" "$T/two.zip"
expect_job $n succeeded success
[ "$(sim_state two '.images[1].slots[] | select(.slot == 0) | .version')" = 0.0.0 ] ||
	fail "network core not downgraded"

log "allow-downgrade naming no image is refused at submit, a file the bundle lacks before the device"
expect_exit 1 dfuctl start -o allow-downgrade=netcore "serial:$T/two" "$T/two.zip"
grep -q "allow-downgrade: 'netcore' names no image" <<<"$OUT" || fail "submit said: $OUT"
before=$(sim_state two .counters.requests)
start_job 1 -o allow-downgrade=net_core.bin "serial:$T/two" "$T/two.zip"
expect_job $n failed invalid-argument
[ "$(sim_state two .counters.requests)" = "$before" ] || fail "the device was asked for a bad option"
