#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nordic Secure DFU over BLE end to end against dfu-sim-ble's bootloader model
# behind the fake org.bluez: a bootloader waiting for DFU (packets through the
# write socket, also on a full link, or through WriteValue), buttonless entry
# without bonds (the bootloader at the address + 1, found by discovery) and
# with bond sharing (same address), a SoftDevice and application package
# across the bootloader's reset, a link lost mid-object and resumed, and dfud
# killed mid-object with the device left in its bootloader.
source "$(dirname "$0")/lib.sh"

A=C4:12:34:56:78:9A
A1=C4:12:34:56:78:9B
use_ble_bus
ble_config ConnectTimeoutSec=5 DiscoveryTimeoutSec=5
start_dfud
python3 -c 'import random, sys; r = random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(30000)))' >"$T/app.bin"
python3 -c 'import random, sys; r = random.Random(8); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(9000)))' >"$T/sd.bin"
"$MKIMAGE" nrf5 -o "$T/app.zip" --application "$T/app.bin"
"$MKIMAGE" nrf5 -o "$T/sd-app.zip" --softdevice "$T/sd.bin" --application "$T/app.bin"
sha=$(sha256sum "$T/app.bin" | cut -d' ' -f1)
sd_sha=$(sha256sum "$T/sd.bin" | cut -d' ' -f1)
job=0

# nrf_ok NAME: the application is installed and each byte went over once
nrf_ok() {
	[ "$(ble_state "$1" $A .images.application.sha256)" = "$sha" ] || fail "$1: the application is not installed"
}

# update_bootloader NAME [SIM-OPTIONS...]: a bootloader waiting for DFU takes the application,
# each byte once
update_bootloader() {
	local name=$1
	shift
	start_ble_sim "$name" --protocol nrfdfu --device "$A" --swap-ms 100 "$@"
	expect_exit 0 dfuctl start "ble:$A?protocol=nrfdfu" "$T/app.zip"
	expect_job $((job += 1)) succeeded success
	nrf_ok "$name"
	[ "$(ble_state "$name" $A .counters.bytes_written)" = 30000 ] ||
		fail "wrote $(ble_state "$name" $A .counters.bytes_written) bytes"
	# a PRN of one data object's writes checks every full object: only the init packet and
	# the last, shorter object ask for their checksums
	[ "$(ble_state "$name" $A .counters.crc_requests)" = 2 ] ||
		fail "$(ble_state "$name" $A .counters.crc_requests) checksum requests"
}

log "a bootloader waiting for DFU"
update_bootloader boot
grep -q "GATT: 244 bytes per write" "$T/dfud.log" || fail "writes are not ATT MTU - 3 bytes"
grep -q "$A: open, ATT MTU 247, socket writes" "$T/dfud.log" || fail "packets did not go through the write socket"
stop_ble_sim

log "a link that holds one write: packets wait in the write socket, and each checksum request waits for them"
update_bootloader full --link-queue 1
stop_ble_sim

log "BlueZ without write sockets: the packets go through WriteValue"
update_bootloader calls --no-acquire
grep -q "$A: open, ATT MTU 247, WriteValue writes" "$T/dfud.log" || fail "no WriteValue writes"
stop_ble_sim

log "buttonless without bonds: the bootloader answers at the address + 1"
start_ble_sim plain --protocol nrfdfu --buttonless plain --device "$A" --swap-ms 100
expect_exit 0 dfuctl start "ble:$A?protocol=nrfdfu" "$T/app.zip"
expect_job $((job += 1)) succeeded success
nrf_ok plain
grep -q "$A1: connected" "$T/plain.log" || fail "no connection to the bootloader at $A1"
stop_ble_sim

log "buttonless with bond sharing: the bootloader keeps the address (BlueZ shows the application's cached services until Service Changed); SoftDevice first, then the application"
start_ble_sim bonded --protocol nrfdfu --buttonless bonded --device "$A" --swap-ms 100
expect_exit 0 dfuctl start "ble:$A?protocol=nrfdfu" "$T/sd-app.zip"
expect_job $((job += 1)) succeeded success
nrf_ok bonded
[ "$(ble_state bonded $A .images.softdevice.sha256)" = "$sd_sha" ] || fail "the SoftDevice is not installed"
grep -q "$A: the application offers buttonless DFU with bond sharing" "$T/dfud.log" || fail "no bond-sharing entry"
grep -q "$A: no control point yet, BlueZ still lists the application's services" "$T/dfud.log" ||
	fail "the bootloader's services were not awaited behind BlueZ's cache"
! grep -q "$A1: connected" "$T/bonded.log" || fail "the bonded bootloader moved to $A1"
[ "$(ble_state bonded $A .counters.bytes_written)" = 39000 ] || fail "wrote $(ble_state bonded $A .counters.bytes_written) bytes"
stop_ble_sim

log "the link drops mid-object: the next attempt goes on from the bootloader's saved offset"
start_ble_sim cut --protocol nrfdfu --buttonless plain --device "$A" --swap-ms 100 --fault disconnect-at=10000
expect_exit 0 dfuctl start "ble:$A?protocol=nrfdfu" "$T/app.zip"
expect_job $((job += 1)) succeeded success
nrf_ok cut
written=$(ble_state cut $A .counters.bytes_written)
# the drop forgets what followed the last executed object (8192): 10000 - 8192 bytes again
[ "$written" -ge $((30000 + 10000 - 8192)) ] && [ "$written" -lt $((30000 + 10000 - 8192 + 244)) ] ||
	fail "wrote $written bytes for a 30000-byte image"
grep -q "resuming at 8192 of 30000" "$T/dfud.log" || fail "no resume in the log"
stop_ble_sim

log "dfud killed mid-object: the restarted daemon finds the bootloader at the address + 1 and goes on"
start_ble_sim kill --protocol nrfdfu --buttonless plain --device "$A" --swap-ms 100 --interval-ms 50 --pdus-per-event 2
expect_exit 0 dfuctl start --no-wait "ble:$A?protocol=nrfdfu" "$T/app.zip"
job=$((job + 1))
wait_for 20 "job $job uploading" bash -c "[ \"\$($DFUCTL status --json $job | jq -r .BytesDone)\" -gt 6000 ]"
kill9_dfud
start_dfud
wait_for 40 "job $job to end" bash -c "[ \"\$($DFUCTL status --json $job | jq -r .State)\" = succeeded ]"
nrf_ok kill
written=$(ble_state kill $A .counters.bytes_written)
[ "$written" -ge 30000 ] && [ "$written" -lt $((30000 + 4096)) ] || fail "wrote $written bytes after the restart"
# the application's address does not connect: the bootloader's does, holding what was sent
grep -q "$A: connect failed" "$T/dfud.log" || fail "the restarted daemon did not try the application first"
stop_ble_sim
