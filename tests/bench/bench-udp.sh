#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SMP-over-UDP goodput of `dfuctl start` through the daemon against
# dfu-sim --udp, whose answers are held back to emulate a round trip. With
# Zephyr's two net buffers only one request may be in flight, so the most a
# link can carry is one datagram of the job's message size per round trip:
# the ratio is the upload's goodput over that.
#   tests/bench/bench-udp.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DFUD_BUILD_ROOT=$(cd "${1:-$here/../../build}" && pwd)
ninja -C "$DFUD_BUILD_ROOT" daemon/dfud client/dfuctl tests/sim/dfu-sim tests/sim/mkimage/dfu-mkimage >/dev/null
source "$here/../integration/lib.sh"

RESPONSE_TIMEOUT=2 FIRST_TIMEOUT=5 write_config
start_dfud
job=0

# the upload phase from the job's own history: first and last upload line, in µs
upload_span() {
	dfuctl status --json -v "$1" | jq -r '
		[.History[] | select(.[1] | test("uploading|upload complete")) | .[0]] | "\(.[0]) \(.[-1])"'
}

# the message size the job chose, from its history
message_size() {
	dfuctl status --json -v "$1" | jq -r '
		[.History[] | .[1] | capture("(?<m>[0-9]+)-byte messages") | .m][0]'
}

printf '%-8s %-10s %-9s %-12s %-12s %s\n' rtt_ms message_B image_KiB goodput_B/s ceiling_B/s ratio

# bench RTT-MS KIB [TARGET-QUERY]
bench() {
	local rtt=$1 kib=$2 query=${3:-}
	local port size first last msg goodput ceiling
	job=$((job + 1))
	port=$(free_udp_port 127.0.0.1) || fail "no free UDP port"
	# no state file: the simulator would write it after every request, slowing the link down
	run_sim "u$job" "READY 127.0.0.1:$port" "$DFU_SIM" --udp "127.0.0.1:$port" --udp-delay-ms "$rtt" \
		--write-us-per-kb 0 --erase-ms 0 --slot-size 1048576
	mkimage -o "$T/bench$job.bin" --version 2.0.$job --size $((kib * 1024)) --seed $job
	size=$(stat -c %s "$T/bench$job.bin")
	dfuctl start "udp:127.0.0.1:$port$query" "$T/bench$job.bin" >/dev/null
	[ "$(job_prop $job StatusName)" = success ] || fail "job $job: $(job_prop $job StatusName)"
	read -r first last <<<"$(upload_span $job)"
	msg=$(message_size $job)
	goodput=$(awk -v b="$size" -v f="$first" -v l="$last" 'BEGIN { printf "%.0f", b / ((l - f) / 1e6) }')
	ceiling=$(awk -v m="$msg" -v r="$rtt" 'BEGIN { printf "%.0f", m / (r / 1000) }')
	printf '%-8s %-10s %-9s %-12s %-12s %.3f\n' "$rtt" "$msg" "$kib" "$goodput" "$ceiling" \
		"$(awk -v g="$goodput" -v c="$ceiling" 'BEGIN { print g / c }')"
}

bench 5 128
bench 20 256
bench 50 256
bench 20 256 "?mtu=512"
