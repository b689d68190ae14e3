#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SMP over BLE through the BlueZ D-Bus API, end to end against dfu-sim-ble:
# both GATT data paths, a device without params, reset and confirm, a device
# BlueZ has not seen yet.
source "$(dirname "$0")/lib.sh"

A=C4:12:34:56:78:9A
use_ble_bus
ble_config ConnectTimeoutSec=5 DiscoveryTimeoutSec=5
start_dfud
mkimage -o "$T/app.bin" --version 1.2.0 --size 40000 --seed 1
mkimage -o "$T/app2.bin" --version 1.3.0 --size 20000 --seed 2

log "socket path (AcquireWrite/AcquireNotify)"
start_ble_sim fast --device "$A" --running-version 1.0.0 --swap-ms 200
expect_exit 0 dfuctl start "ble:${A,,}" "$T/app.bin"
expect_job 1 succeeded success
[ "$(ble_primary fast $A)" = "1.2.0 true" ] || fail "device runs $(ble_primary fast $A)"
[ "$(ble_state fast $A .counters.upload_bytes)" -le 41000 ] || fail "uploaded $(ble_state fast $A .counters.upload_bytes) bytes"
grep -q "window 3" "$T/dfud.log" || fail "the upload did not use a window of 3"
stop_ble_sim

log "WriteValue/StartNotify path, without params"
start_ble_sim slow --device "$A" --running-version 1.0.0 --swap-ms 200 --no-acquire --no-params
expect_exit 0 dfuctl start "ble:$A" "$T/app2.bin"
expect_job 2 succeeded success
[ "$(ble_primary slow $A)" = "1.3.0 true" ] || fail "device runs $(ble_primary slow $A)"
grep -q "244-byte messages, up to 3 in flight" "$T/dfud.log" || fail "no MTU-3 fallback without params"
stop_ble_sim

log "a device BlueZ has not seen yet, on a second adapter"
start_ble_sim hidden --adapter hci1 --device "$A" --running-version 1.0.0 --swap-ms 200 --hidden
expect_exit 0 dfuctl start "ble:$A?adapter=hci1" "$T/app.bin"
[ "$(job_prop 3 Target)" = "ble:$A?adapter=hci1" ] || fail "target $(job_prop 3 Target)"
expect_job 3 succeeded success
[ "$(ble_primary hidden $A)" = "1.2.0 true" ] || fail "device runs $(ble_primary hidden $A)"
