#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SMP-over-serial goodput of `dfuctl start` through the daemon, as a fraction
# of what the throttled link can carry with the console framing, and the
# daemon's CPU time (utime + stime from /proc) per uploaded MB over the job.
#   tests/bench/bench-serial.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DFUD_BUILD_ROOT=$(cd "${1:-$here/../../build}" && pwd)
ninja -C "$DFUD_BUILD_ROOT" bench-tools >/dev/null
source "$here/../integration/lib.sh"

RESPONSE_TIMEOUT=5 write_config
start_dfud

# the upload phase from the job's own history: first and last upload line, in µs
upload_seconds() {
	dfuctl status --json -v "$1" | jq -r '
		[.History[] | select(.[1] | test("uploading|upload complete")) | .[0]] |
		(.[-1] - .[0]) / 1e6'
}

# the daemon's user+system CPU time so far, in clock ticks
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$DFUD_PID/stat"
}

hz=$(getconf CLK_TCK)
printf '%-9s %-9s %-10s %-9s %-12s %-12s %-6s %s\n' baud buf_size image_KiB window goodput_B/s ceiling_B/s ratio cpu_ms/MB
job=0
for row in "115200 384 4 96" "115200 2048 4 96" "1000000 384 4 384" "1000000 2048 4 512"; do
	read -r baud buf count kib <<<"$row"
	job=$((job + 1))
	name=dev$job
	start_sim "$name" --slot-size 1048576 --baud "$baud" --buf-size "$buf" --buf-count "$count"
	size=$((kib * 1024))
	mkimage -o "$T/bench$job.bin" --version 2.0.$job --size "$size" --seed "$job"
	file_size=$(stat -c %s "$T/bench$job.bin")
	before=$(cpu_ticks)
	dfuctl start "serial:$T/$name?baud=$baud" "$T/bench$job.bin" >/dev/null
	after=$(cpu_ticks)
	[ "$(job_prop $job StatusName)" = success ] || fail "job $job: $(job_prop $job StatusName)"
	secs=$(upload_seconds $job)
	goodput=$(awk -v b="$file_size" -v s="$secs" 'BEGIN { printf "%.0f", b / s }')
	ceiling=$("$DFUD_BUILD_ROOT/tests/bench/serial-ceiling" "$baud" "$buf" "$file_size")
	ratio=$(awk -v g="$goodput" -v c="$ceiling" 'BEGIN { printf "%.3f", g / c }')
	cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v b="$file_size" 'BEGIN { printf "%.1f", t * 1000 / hz / (b / 1048576) }')
	printf '%-9s %-9s %-10s %-9s %-12s %-12s %-6s %s\n' "$baud" "$buf" "$kib" "$((count - 1))" "$goodput" "$ceiling" "$ratio" "$cpu"
done
