#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SMP-over-BLE goodput of `dfuctl start` through the daemon and the BlueZ
# D-Bus API (dfu-sim-ble plays bluetoothd), as a fraction of what the
# simulated link carries in ATT write values (dfu-sim-ble --print-ceiling),
# plus four devices at once and the daemon's CPU time per uploaded MB (over the
# whole job, and for the upload alone: beyond an image a quarter the size); then
# Nordic Secure DFU over the same link, entered through the buttonless
# characteristic, against the same ceiling.
#   tests/bench/bench-ble.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DFUD_BUILD_ROOT=$(cd "${1:-$here/../../build}" && pwd)
ninja -C "$DFUD_BUILD_ROOT" daemon/dfud client/dfuctl tests/sim/ble/dfu-sim-ble tests/sim/mkimage/dfu-mkimage tests/bench/process-cpu >/dev/null
source "$here/../integration/lib.sh"
source "$here/bench-lib.sh"

use_ble_bus
RESPONSE_TIMEOUT=5 MAX_PARALLEL=8 ble_config MaxConnectionsPerAdapter=4
start_dfud
job=0

# the upload phase from the job's own history: first and last upload line (Nordic: from the
# link's write size to the image sent and activated), in µs
upload_span() {
	dfuctl status --json -v "$1" | jq -r '
		[.History[] | select(.[1] | test("uploading|upload complete|bytes per write|sent and activated")) | .[0]] | "\(.[0]) \(.[-1])"'
}

ceiling_of() {
	"$DFU_SIM_BLE" --print-ceiling "$@" | sed -n 's/^ceiling_att_value_bytes_per_s=\([0-9.]*\).*/\1/p'
}

# like start_ble_sim, but without state files and logging: the simulator writes
# its state file after every request, which would slow the simulated link down
start_bench_sim() {
	local name=$1
	shift
	run_sim "$name" READY "$DFU_SIM_BLE" --bus "$DBUS_SESSION_BUS_ADDRESS" "$@"
	BLE_SIM_PID=$SIM_PID
}

printf '%-34s %-9s %-12s %-12s %-6s %-10s %s\n' case image_KiB goodput_B/s ceiling_B/s ratio job_ms/MB upload_ms/MB

# ble_job ADDR QUERY KIB: one job of a KIB image (a zip for Nordic DFU); sets BYTES, the bytes it
# sends, and CPU, the daemon's ms for the whole job
ble_job() {
	local addr=$1 query=$2 kib=$3 bundle before
	job=$((job + 1))
	if [ -n "$query" ]; then
		head -c $((kib * 1024)) /dev/urandom >"$T/nrf$job.bin"
		"$MKIMAGE" nrf5 -o "$T/nrf$job.zip" --application "$T/nrf$job.bin"
		bundle=$T/nrf$job.zip
		BYTES=$((kib * 1024))
	else
		bundle=$T/bench$job.bin
		mkimage -o "$bundle" --version 2.0.$job --size $((kib * 1024)) --seed $job
		BYTES=$(stat -c %s "$bundle")
	fi
	before=$(cpu_ms "$DFUD_PID")
	dfuctl start "ble:$addr$query" "$bundle" >/dev/null
	CPU=$(cpu_ms_since "$DFUD_PID" "$before")
	[ "$(job_prop $job StatusName)" = success ] || fail "job $job: $(job_prop $job StatusName)"
}

# bench NAME KIB LINK-OPTIONS -- DEVICE-OPTIONS: one device; an image a quarter of KIB, then one
# of KIB, so that the upload's own CPU per MB shows beside the whole job's
bench() {
	local name=$1 kib=$2
	shift 2
	local link=() dev=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do link+=("$1"); shift; done
	shift
	dev=("$@")
	local addr query= small_cpu small_bytes goodput ceiling
	addr=$(printf 'C4:12:34:56:78:%02X' $((job + 1)))
	if [ "${dev[0]:-}" = --protocol ] && [ "${dev[1]:-}" = nrfdfu ]; then
		start_bench_sim "b$job" --device "$addr" --swap-ms 100 "${link[@]}" "${dev[@]}"
		query="?protocol=nrfdfu"
	else
		start_bench_sim "b$job" --device "$addr" --slot-size 1048576 --swap-ms 100 "${link[@]}" "${dev[@]}"
	fi
	ble_job "$addr" "$query" $((kib / 4))
	small_cpu=$CPU small_bytes=$BYTES
	ble_job "$addr" "$query" "$kib"
	read -r first last <<<"$(upload_span $job)"
	goodput=$(awk -v b="$BYTES" -v f="$first" -v l="$last" 'BEGIN { printf "%.0f", b / ((l - f) / 1e6) }')
	ceiling=$(ceiling_of "${link[@]}")
	printf '%-34s %-9s %-12s %-12.0f %-6.3f %-10s %s\n' "$name" "$kib" "$goodput" "$ceiling" \
		"$(awk -v g="$goodput" -v c="$ceiling" 'BEGIN { print g / c }')" "$(ms_per_mb "$CPU" "$BYTES")" \
		"$(marginal_ms_per_mb "$CPU" "$small_cpu" "$BYTES" "$small_bytes")"
	stop_ble_sim
}

bench "(a) MTU 247, 1M, 7.5 ms, 4x2475" 256 --mtu 247 --phy 1M --interval-ms 7.5 -- --buf-count 4 --buf-size 2475
bench "(b) MTU 498, 2M, 15 ms, 4x2475" 512 --mtu 498 --phy 2M --interval-ms 15 -- --buf-count 4 --buf-size 2475
bench "(c) MTU 247, 1M, 7.5 ms, no params" 64 --mtu 247 --phy 1M --interval-ms 7.5 -- --no-params
bench "(e) Nordic DFU, MTU 247, 1M, 7.5 ms" 256 --mtu 247 --phy 1M --interval-ms 7.5 -- --protocol nrfdfu --buttonless plain
bench "(f) Nordic DFU, MTU 247, 2M, 7.5 ms" 256 --mtu 247 --phy 2M --interval-ms 7.5 -- --protocol nrfdfu --buttonless plain

# four devices at once, each on its own simulated link of case (a)
link=(--mtu 247 --phy 1M --interval-ms 7.5)
devices=()
for i in 1 2 3 4; do devices+=(--device "C4:12:34:56:79:0$i"); done
start_bench_sim many "${devices[@]}" --slot-size 1048576 --swap-ms 100 "${link[@]}"
mkimage -o "$T/many.bin" --version 3.0.0 --size $((256 * 1024)) --seed 99
size=$(stat -c %s "$T/many.bin")
before=$(cpu_ms "$DFUD_PID")
for i in 1 2 3 4; do dfuctl start --no-wait "ble:C4:12:34:56:79:0$i" "$T/many.bin" >/dev/null; done
for j in $(seq $((job + 1)) $((job + 4))); do
	wait_for 120 "job $j" bash -c "[ \"\$('$DFUCTL' status --json $j | jq -r .State)\" = succeeded ]"
done
cpu=$(cpu_ms_since "$DFUD_PID" "$before")
first=
last=
for j in $(seq $((job + 1)) $((job + 4))); do
	read -r f l <<<"$(upload_span $j)"
	if [ -z "$first" ] || [ "$f" -lt "$first" ]; then first=$f; fi
	if [ -z "$last" ] || [ "$l" -gt "$last" ]; then last=$l; fi
done
goodput=$(awk -v b=$((size * 4)) -v f="$first" -v l="$last" 'BEGIN { printf "%.0f", b / ((l - f) / 1e6) }')
ceiling=$(awk -v c="$(ceiling_of "${link[@]}")" 'BEGIN { print c * 4 }')
printf '%-34s %-9s %-12s %-12.0f %-6.3f %s\n' "(d) 4 devices of (a) at once" "4x256" "$goodput" "$ceiling" \
	"$(awk -v g="$goodput" -v c="$ceiling" 'BEGIN { print g / c }')" \
	"$(ms_per_mb "$cpu" $((size * 4)))"
