#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# BLE trouble end to end: a link lost mid-upload, a device that drops
# requests when its buffers are full, one that never comes back after its
# reset, devices that need pairing, and eight devices on one adapter that
# allows four connections.
source "$(dirname "$0")/lib.sh"

A=C4:12:34:56:78:9A
use_ble_bus
MAX_PARALLEL=8 MAX_ATTEMPTS=1 RESPONSE_TIMEOUT=0.5 SMP_RETRIES=1 RESET_TIMEOUT=2 \
	ble_config ConnectTimeoutSec=2 DiscoveryTimeoutSec=2 MaxConnectionsPerAdapter=4
start_dfud
mkimage -o "$T/app.bin" --version 1.2.0 --size 40000 --seed 1
mkimage -o "$T/small.bin" --version 1.2.0 --size 6000 --seed 3
log "the link drops in the middle of the upload: reconnect and resume"
start_ble_sim drop --device "$A" --swap-ms 200 --fault disconnect-at=20000
start_job 0 "ble:$A" "$T/app.bin"
expect_job $n succeeded success
[ "$(ble_primary drop $A)" = "1.2.0 true" ] || fail "device runs $(ble_primary drop $A)"
written=$(ble_state drop $A .counters.upload_bytes)
[ "$written" -lt 60000 ] || fail "$written bytes written for a 40000-byte image: no resume"
grep -q "link lost" "$T/dfud.log" || fail "the link was never lost"
stop_ble_sim

log "a device that drops requests silently: resent, never lost or doubled"
start_ble_sim full --device "$A" --swap-ms 200 --fault drop-when-full \
	--fault drop-request@6 --fault drop-request@12 --fault drop-request@19
start_job 0 "ble:$A" "$T/app.bin"
expect_job $n succeeded success
[ "$(ble_primary full $A)" = "1.2.0 true" ] || fail "device runs $(ble_primary full $A)"
[ "$(ble_state full $A .counters.dropped_requests)" -ge 3 ] || fail "nothing was dropped"
written=$(ble_state full $A .counters.upload_bytes)
[ "$written" -eq "$(stat -c %s "$T/app.bin")" ] || fail "$written bytes written"
stop_ble_sim

log "the device never comes back after its reset"
start_ble_sim gone --device "$A" --no-return
start_job 1 "ble:$A" "$T/small.bin"
expect_job $n failed device-not-back
stop_ble_sim

for mode in notify silent; do
	log "pairing required ($mode): auth-required with a hint, quickly"
	start_ble_sim "pair-$mode" --device "$A" --require-pairing=$mode
	start=$(date +%s%N)
	start_job 1 "ble:$A" "$T/small.bin"
	took=$((($(date +%s%N) - start) / 1000000))
	expect_job $n failed authentication-required
	grep -q "bluetoothctl" <<<"$(job_prop $n Message)" || fail "no pairing hint: $(job_prop $n Message)"
	[ "$took" -lt 5000 ] || fail "auth-required took $took ms"
	[ "$(ble_primary "pair-$mode" $A)" = "1.0.0 true" ] || fail "the device changed"
	stop_ble_sim
done

log "eight devices on one adapter, at most four connected at once"
devices=()
for i in 1 2 3 4 5 6 7 8; do devices+=(--device "C4:12:34:56:78:0$i"); done
start_ble_sim many "${devices[@]}" --swap-ms 200
for i in 1 2 3 4 5 6 7 8; do
	expect_exit 0 dfuctl start --no-wait "ble:C4:12:34:56:78:0$i" "$T/small.bin"
done
n=$((n + 8))
for j in $(seq $((n - 7)) $n); do
	wait_for 30 "job $j" bash -c "[ \"\$('$DFUCTL' status --json $j | jq -r .State)\" = succeeded ]"
done
for i in 1 2 3 4 5 6 7 8; do
	[ "$(ble_primary many "C4:12:34:56:78:0$i")" = "1.2.0 true" ] || fail "device $i not updated"
done
most=$(ble_max_connected many)
[ "$most" -le 4 ] || fail "$most devices were connected at once"
[ "$most" -ge 2 ] || fail "the devices were updated one at a time ($most)"
