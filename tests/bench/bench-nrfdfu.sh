#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nordic Secure DFU over a serial line: dfud's goodput updating dfu-sim's
# nRF5 bootloader model on a throttled pty, as a fraction of what SLIP and the
# protocol's per-object round trips allow on that link (nrfdfu-ceiling: SLIP
# encoding of the image's own bytes in the largest writes the MTU allows, the
# write opcode and END of every frame, Create / CRC / Execute per object, and
# the model's flash erase and write times; see the comment at its top). Nordic's
# pc-nrf-dfu-js, run as test-nrfdfu-js.sh runs it (PRN 16), updates the same
# kind of device over the same kind of pty with the same image, side by side.
# Both are timed by the simulator, from the first data Create to the answer to
# the last Execute, so the clients' start-up does not count. The pc-nrf-dfu-js
# rows need node and npm (and npm's registry the first time); without them they
# are left out.
#   tests/bench/bench-nrfdfu.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DFUD_BUILD_ROOT=$(cd "${1:-$here/../../build}" && pwd)
export DFUD_SOURCE_ROOT=$(cd "$here/../.." && pwd)
ninja -C "$DFUD_BUILD_ROOT" bench-tools >/dev/null
source "$here/../integration/lib.sh"

KIB=${KIB:-64}
MTU=131
OBJECT=4096
# flash as the nRF52 datasheets' worst case: 85 ms to erase a page, 41 µs a word;
# the last case leaves flash time out, so that only the line and the clients count
CASES=("115200 85000 41" "1000000 85000 41" "1000000 0 0")

js=1
if ! pc_nrf_dfu_js; then
	log "pc-nrf-dfu-js left out: $NRFDFU_JS_MISSING"
	js=
fi
RESPONSE_TIMEOUT=5 write_config
start_dfud

# without a state file: the simulator would write it after every request
start_bench_sim() {
	local name=$1
	shift
	run_sim "$name" "READY $T/$name" "$DFU_SIM" --link "$T/$name" --protocol nrfdfu "$@"
}

# the simulator's span of the update, in µs
sim_span() {
	sed -n 's/.* \([0-9]*\) us from the first data create to activation$/\1/p' "$T/$1.log" | tail -n1
}

printf '%-14s %-8s %-10s %-9s %-12s %-12s %-6s %s\n' client baud flash_ms image_KiB goodput_B/s ceiling_B/s ratio target
job=0
for row in "${CASES[@]}"; do
	read -r baud erase_us word_us <<<"$row"
	flash=(--nrf-mtu $MTU --nrf-erase-us "$erase_us" --nrf-word-write-us "$word_us")
	# erase and programming of one page
	flash_ms=$(awk -v e="$erase_us" -v w="$word_us" -v o=$OBJECT 'BEGIN { print (e + w * o / 4) / 1000 }')
	head -c $((KIB * 1024)) /dev/urandom >"$T/app$job.bin"
	"$MKIMAGE" nrf5 -o "$T/app$job.zip" --application "$T/app$job.bin"
	ceiling=$("$DFUD_BUILD_ROOT/tests/bench/nrfdfu-ceiling" "$baud" $MTU $OBJECT "$erase_us" "$word_us" "$T/app$job.bin")
	target=
	[ "$baud" != 115200 ] || target=">= 0.90"

	image=$T/app$job.zip
	job=$((job + 1))
	start_bench_sim "d$job" --baud "$baud" "${flash[@]}"
	dfuctl start "serial:$T/d$job?protocol=nrfdfu&baud=$baud" "$image" >/dev/null
	[ "$(job_prop $job StatusName)" = success ] || fail "job $job: $(job_prop $job StatusName)"
	stop_sims
	dfud_goodput=$(awk -v b=$((KIB * 1024)) -v us="$(sim_span d$job)" 'BEGIN { printf "%.0f", b / (us / 1e6) }')
	printf '%-14s %-8s %-10s %-9s %-12s %-12.0f %-6.3f %s\n' dfud "$baud" "$flash_ms" "$KIB" "$dfud_goodput" "$ceiling" \
		"$(awk -v g="$dfud_goodput" -v c="$ceiling" 'BEGIN { print g / c }')" "$target"

	[ -n "$js" ] || continue
	start_bench_sim "j$job" --baud "$baud" "${flash[@]}"
	"${NRFDFU_JS[@]}" "$T/j$job" "$image" >"$T/js$job.log" 2>&1 ||
		fail "pc-nrf-dfu-js failed: $(cat "$T/js$job.log")"
	stop_sims
	js_goodput=$(awk -v b=$((KIB * 1024)) -v us="$(sim_span j$job)" 'BEGIN { printf "%.0f", b / (us / 1e6) }')
	printf '%-14s %-8s %-10s %-9s %-12s %-12.0f %-6.3f\n' pc-nrf-dfu-js "$baud" "$flash_ms" "$KIB" "$js_goodput" "$ceiling" \
		"$(awk -v g="$js_goodput" -v c="$ceiling" 'BEGIN { print g / c }')"
	printf '%-14s %-8s %-10s %-9s %-12s %-12s %-6.2f %s\n' "dfud/js" "$baud" "$flash_ms" "$KIB" - - \
		"$(awk -v d="$dfud_goodput" -v j="$js_goodput" 'BEGIN { print d / j }')" ">= 1.20"
done
