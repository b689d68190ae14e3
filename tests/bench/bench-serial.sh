#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SMP-over-serial goodput of `dfuctl start` through the daemon, as a fraction
# of what the throttled link can carry with the console framing, and the
# daemon's CPU time per uploaded MB: over the whole job, and over the upload
# alone (from about a tenth to nine tenths of it, the lower of two runs).
# Beside it the floor this machine sets for the same requests: a bare loop
# that wakes, reads and writes once per request (request-floor).
#   tests/bench/bench-serial.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DFUD_BUILD_ROOT=$(cd "${1:-$here/../../build}" && pwd)
ninja -C "$DFUD_BUILD_ROOT" bench-tools >/dev/null
source "$here/../integration/lib.sh"
source "$here/bench-lib.sh"

RESPONSE_TIMEOUT=5 write_config
start_dfud

# the upload phase from the job's own history: first and last upload line, in µs
upload_seconds() {
	dfuctl status --json -v "$1" | jq -r '
		[.History[] | select(.[1] | test("uploading|upload complete")) | .[0]] |
		(.[-1] - .[0]) / 1e6'
}

job=0
# update DEVICE BAUD BUF KIB: one job; sets BYTES, the image's size, CEILING, the link's
# goodput ceiling for it, CPU, the daemon's ms for it, and WINDOW_MS and WINDOW_S, its ms and
# the seconds between about a tenth and nine tenths of the upload, where nothing but the
# upload runs
update() {
	job=$((job + 1))
	mkimage -o "$T/bench$job.bin" --version "2.0.$job" --size $(($4 * 1024)) --seed "$job"
	BYTES=$(stat -c %s "$T/bench$job.bin")
	local before client expect a_ms a_t b_ms b_t
	before=$(cpu_ms "$DFUD_PID")
	dfuctl start "serial:$T/$1?baud=$2" "$T/bench$job.bin" >/dev/null &
	client=$!
	# the upload's length at the link's ceiling; the window is timed from its start, not polled
	CEILING=$("$SERIAL_CEILING" "$2" "$3" "$BYTES")
	expect=$(awk -v b="$BYTES" -v c="$CEILING" 'BEGIN { print b / c }')
	for _ in $(seq 600); do
		[ "$(job_prop $job BytesDone)" != 0 ] && break
		sleep 0.05
	done
	sleep "$(awk -v e="$expect" 'BEGIN { print e / 10 }')"
	a_t=$EPOCHREALTIME a_ms=$(cpu_ms "$DFUD_PID")
	sleep "$(awk -v e="$expect" 'BEGIN { print e * 3 / 4 }')"
	b_t=$EPOCHREALTIME b_ms=$(cpu_ms "$DFUD_PID")
	[ "$(job_prop $job BytesDone)" -lt "$BYTES" ] || fail "job $job: the window outlasted the upload"
	wait "$client"
	CPU=$(cpu_ms_since "$DFUD_PID" "$before")
	WINDOW_MS=$(awk -v a="$a_ms" -v b="$b_ms" 'BEGIN { print b - a }')
	WINDOW_S=$(awk -v a="$a_t" -v b="$b_t" 'BEGIN { print b - a }')
	[ "$(job_prop $job StatusName)" = success ] || fail "job $job: $(job_prop $job StatusName)"
}

printf '%-8s %-5s %-6s %-3s %-8s %-8s %-6s %-9s %-12s %-11s %s\n' baud buf KiB win goodput ceiling ratio \
	job_ms/MB upload_ms/MB floor_ms/MB to_floor
row=0
for spec in "115200 384 4 96" "115200 2048 4 96" "1000000 384 4 384" "1000000 2048 4 512"; do
	read -r baud buf count kib <<<"$spec"
	row=$((row + 1))
	start_sim "dev$row" --slot-size 1048576 --baud "$baud" --buf-size "$buf" --buf-count "$count"
	# twice, and the lower figure: whatever else the machine does only adds to it
	upload=
	for _ in 1 2; do
		update "dev$row" "$baud" "$buf" "$kib"
		secs=$(upload_seconds $job)
		goodput=$(awk -v b="$BYTES" -v s="$secs" 'BEGIN { printf "%.0f", b / s }')
		this=$(awk -v c="$WINDOW_MS" -v s="$WINDOW_S" -v g="$goodput" 'BEGIN { printf "%.1f", c / (s * g / 1048576) }')
		upload=$(awk -v a="${upload:-$this}" -v b="$this" 'BEGIN { print (b < a ? b : a) }')
	done
	floor=$(floor_ms_per_mb "$baud" "$buf")
	printf '%-8s %-5s %-6s %-3s %-8s %-8.0f %-6s %-9s %-12s %-11s %s\n' "$baud" "$buf" "$kib" "$((count - 1))" \
		"$goodput" "$CEILING" "$(awk -v g="$goodput" -v c="$CEILING" 'BEGIN { printf "%.3f", g / c }')" \
		"$(ms_per_mb "$CPU" "$BYTES")" "$upload" "$floor" \
		"$(awk -v a="$upload" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')"
done
