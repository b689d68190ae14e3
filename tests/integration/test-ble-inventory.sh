#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bluetooth LE devices in the inventory: those the fake org.bluez lists with
# the SMP or the Nordic DFU service appear, others do not; they follow BlueZ
# as it comes and goes; one updated over BLE keeps its state.
source "$(dirname "$0")/lib.sh"

SMP=C4:12:34:56:78:9A
NORDIC=C4:12:34:56:78:9B
OTHER=C4:12:34:56:78:9C
use_ble_bus
ble_config ConnectTimeoutSec=5 DiscoveryTimeoutSec=5
start_dfud

# device_names: the names in the inventory, comma separated
device_names() {
	"$DFUCTL" devices --json | jq -r .Name | paste -sd,
}

log "bluetoothd appears after the daemon: its update devices are listed"
start_ble_sim ble --device "$SMP" --device "$NORDIC" --device "$OTHER" --running-version 1.0.0 --swap-ms 200 \
	--device-uuids "$NORDIC=0000fe59-0000-1000-8000-00805f9b34fb" \
	--device-uuids "$OTHER=0000180d-0000-1000-8000-00805f9b34fb"
wait_for 10 "the BLE devices" bash -c "[ \"\$($DFUCTL devices --json | jq -r .Name | paste -sd,)\" = 'ble:$SMP,ble:$NORDIC?protocol=nrfdfu' ]"
[ "$(dev_prop "ble:$SMP" .Protocol)" = smp ] || fail "protocol $(dev_prop "ble:$SMP" .Protocol)"
[ "$(dev_prop "ble:$NORDIC?protocol=nrfdfu" .Protocol)" = nrfdfu ] || fail "protocol of the Nordic device"
[ "$(dev_prop "ble:$SMP" .LastSeen)" -gt 0 ] || fail "never seen"
[ "$(dev_prop "ble:$SMP" .LastJob)" = / ] || fail "a job before any"

log "an update over BLE shows in the device"
mkimage -o "$T/app.bin" --version 1.2.0 --size 20000 --seed 1
expect_exit 0 dfuctl start "ble:$SMP" "$T/app.bin"
[ "$(running_version "ble:$SMP")" = 1.2.0 ] || fail "runs $(running_version "ble:$SMP")"
[ "$(dev_prop "ble:$SMP" .LastStatusName)" = success ] || fail "result $(dev_prop "ble:$SMP" .LastStatusName)"
expect_exit 0 dfuctl info --refresh "ble:$SMP"
[ "$(running_version "ble:$SMP")" = 1.2.0 ] || fail "after the refresh runs $(running_version "ble:$SMP")"

log "bluetoothd goes: what it alone knew goes with it"
stop_ble_sim
wait_for 10 "the Nordic device to go" bash -c "[ \"\$($DFUCTL devices --json | jq -r .Name | paste -sd,)\" = 'ble:$SMP' ]"
[ "$(running_version "ble:$SMP")" = 1.2.0 ] || fail "the updated device lost its state"

log "across a restart without bluetoothd"
stop_dfud
start_dfud
[ "$(device_names)" = "ble:$SMP" ] || fail "after the restart: $(device_names)"
