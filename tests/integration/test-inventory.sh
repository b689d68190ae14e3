#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The device inventory: named devices from devices.d, devices the daemon ran
# jobs for with what the jobs read of them, announced through the
# ObjectManager, kept across a restart, and a corrupt inventory file set aside.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/devices.d"
start_sim dev --baud 0 --running-version 1.0.0
start_sim loose --baud 0 --running-version 3.0.0
cat >"$T/devices.d/site.conf" <<CONF
[Device kitchen-node]
Target=serial:$T/dev
Board=nrf52840dk
[Device shed]
Target=serial:$T/shed
CONF
dbus-monitor --session "type='signal',sender='org.dfud1',interface='org.freedesktop.DBus.ObjectManager'" \
	>"$T/monitor.log" 2>&1 &
SIM_PIDS+=($!)
start_dfud

log "named devices from devices.d"
expect_exit 0 dfuctl devices --json
[ "$(jq -r .Name <<<"$OUT" | paste -sd,)" = kitchen-node,shed ] || fail "devices: $OUT"
[ "$(dev_prop kitchen-node .Board)" = nrf52840dk ] || fail "board $(dev_prop kitchen-node .Board)"
[ "$(dev_prop kitchen-node .Target)" = "serial:$T/dev" ] || fail "target $(dev_prop kitchen-node .Target)"
[ "$(dev_prop kitchen-node .Protocol)" = smp ] || fail "protocol $(dev_prop kitchen-node .Protocol)"
[ "$(dev_prop kitchen-node .LastJob)" = / ] || fail "a job before any: $(dev_prop kitchen-node .LastJob)"
[ "$(dev_prop kitchen-node .Path)" = /org/dfud1/device/kitchen_2dnode ] || fail "path $(dev_prop kitchen-node .Path)"
expect_exit 3 dfuctl info nowhere
grep -q "no device 'nowhere'" <<<"$OUT" || fail "no message for an unknown device: $OUT"

log "an update shows the new version, the bootloader and the result"
mkimage -o "$T/app.bin" --version 1.2.0 --size 6000 --seed 1
expect_exit 0 dfuctl start kitchen-node "$T/app.bin"
[ "$(running_version kitchen-node)" = 1.2.0 ] || fail "runs $(running_version kitchen-node)"
[ "$(dev_prop kitchen-node .LastStatusName)" = success ] || fail "result $(dev_prop kitchen-node .LastStatusName)"
[ "$(dev_prop kitchen-node .LastJob)" = /org/dfud1/job/1 ] || fail "job $(dev_prop kitchen-node .LastJob)"
[ "$(dev_prop kitchen-node .Bootloader)" = MCUboot ] || fail "bootloader $(dev_prop kitchen-node .Bootloader)"
[ "$(dev_prop kitchen-node .BootloaderMode)" = "swap using scratch" ] || fail "mode $(dev_prop kitchen-node .BootloaderMode)"
[ "$(dev_prop kitchen-node .LastSeen)" -gt 0 ] || fail "never seen"
[ "$(dev_prop kitchen-node .Staged)" = false ] || fail "staged after a confirmed update"
hash=$(dev_prop kitchen-node '.Images[] | select(.version == "1.2.0") | .hash')
[ "$hash" = "$(sim_state dev '.images[0].slots[] | select(.slot == 0) | .hash')" ] ||
	fail "hash $hash, the device has $(sim_state dev '.images[0].slots[] | select(.slot == 0) | .hash')"
expect_exit 0 dfuctl devices
grep -q "^kitchen-node .*1\.2\.0 .*success (job 1)" <<<"$OUT" || fail "table: $OUT"

log "a target without a name becomes a device under its URI"
expect_exit 1 dfuctl start "serial:$T/loose?baud=115200" "$T/app.bin"
expect_exit 0 dfuctl info "serial:$T/loose?baud=115200"
[ "$(dev_prop "serial:$T/loose?baud=115200" .LastStatusName)" = downgrade ] ||
	fail "result $(dev_prop "serial:$T/loose?baud=115200" .LastStatusName)"
[ "$(running_version "serial:$T/loose?baud=115200")" = 3.0.0 ] || fail "a refused job lost what it read"
grep -q "/org/dfud1/device/serial_3a" "$T/monitor.log" || fail "no InterfacesAdded for the new device"

log "a Nordic DFU device names its bootloader"
start_sim nrf --protocol nrfdfu --baud 0
head -c 4000 /dev/urandom >"$T/nrf-app.bin"
"$MKIMAGE" nrf5 -o "$T/nrf-app.zip" --application "$T/nrf-app.bin"
expect_exit 0 dfuctl start "serial:$T/nrf?protocol=nrfdfu" "$T/nrf-app.zip"
[ "$(dev_prop "serial:$T/nrf?protocol=nrfdfu" .Bootloader)" = "nRF5 SDK Secure DFU" ] ||
	fail "bootloader $(dev_prop "serial:$T/nrf?protocol=nrfdfu" .Bootloader)"
[ "$(dev_prop "serial:$T/nrf?protocol=nrfdfu" .Protocol)" = nrfdfu ] || fail "protocol of the Nordic device"

log "a staged update"
mkimage -o "$T/app2.bin" --version 1.3.0 --size 5000 --seed 2
expect_exit 0 dfuctl start -o confirm=false kitchen-node "$T/app2.bin"
[ "$(dev_prop kitchen-node .Staged)" = true ] || fail "not staged"
[ "$(dev_prop kitchen-node '.Images[] | select(.version == "1.3.0") | .flags | index("pending") != null')" = true ] ||
	fail "no pending image: $(dev_prop kitchen-node .Images)"

log "across a restart"
stop_dfud
start_dfud
[ "$(running_version kitchen-node)" = 1.2.0 ] || fail "after the restart runs $(running_version kitchen-node)"
[ "$(dev_prop kitchen-node .Staged)" = true ] || fail "not staged after the restart"
[ "$(dev_prop kitchen-node .LastJob)" = /org/dfud1/job/4 ] || fail "job $(dev_prop kitchen-node .LastJob)"
[ "$(dev_prop "serial:$T/loose?baud=115200" .LastStatusName)" = downgrade ] || fail "the URI device was lost"

log "a device taken out of devices.d goes; one with jobs stays under its URI"
cat >"$T/devices.d/site.conf" <<CONF
[Device shed]
Target=serial:$T/shed
CONF
stop_dfud
start_dfud
expect_exit 3 dfuctl info kitchen-node
[ "$(running_version "serial:$T/dev")" = 1.2.0 ] || fail "the unnamed device lost its state"
expect_exit 0 dfuctl info shed

log "a reload takes new devices of devices.d and drops gone ones, announcing both"
printf '[Device pump]\nTarget=serial:%s/pump\n' "$T" >"$T/devices.d/site.conf"
kill -HUP "$DFUD_PID"
wait_for 10 "the device of the reload" "$DFUCTL" info pump
[ "$(dev_prop pump .Target)" = "serial:$T/pump" ] || fail "target $(dev_prop pump .Target)"
expect_exit 3 dfuctl info shed
grep -A1 "member=InterfacesRemoved" "$T/monitor.log" | grep -q '"/org/dfud1/device/shed"' ||
	fail "no InterfacesRemoved for the dropped device"

log "a corrupt inventory file is set aside"
kill9_dfud
echo '{"devices": [{"name": 1}]}' >"$STATE_DIRECTORY/devices.json"
start_dfud
[ -f "$STATE_DIRECTORY/devices.json.corrupt" ] || fail "the corrupt file was not kept"
expect_exit 0 dfuctl info pump
grep -q "devices.json is unusable" "$T/dfud.log" || fail "the corrupt file was not logged"
