#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SMP-over-serial goodput of `dfuctl start` through the daemon, as a fraction
# of what the throttled link can carry with the console framing, and the
# daemon's CPU time per uploaded MB: over the whole job, and what the upload
# costs beyond a job's fixed part (each row first sends an image a quarter
# the size; the difference over the difference in MB). Beside it the floor
# this machine sets for the same requests: a bare loop that only wakes,
# reads and writes once per request (request-floor).
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
# update DEVICE BAUD KIB: one job; sets BYTES, the image's size, and CPU, the daemon's ms for it
update() {
	job=$((job + 1))
	mkimage -o "$T/bench$job.bin" --version "2.0.$job" --size $(($3 * 1024)) --seed "$job"
	BYTES=$(stat -c %s "$T/bench$job.bin")
	local before
	before=$(cpu_ms "$DFUD_PID")
	dfuctl start "serial:$T/$1?baud=$2" "$T/bench$job.bin" >/dev/null
	CPU=$(cpu_ms_since "$DFUD_PID" "$before")
	[ "$(job_prop $job StatusName)" = success ] || fail "job $job: $(job_prop $job StatusName)"
}

printf '%-8s %-5s %-6s %-3s %-8s %-8s %-6s %-8s %-9s %-8s %s\n' baud buf KiB win goodput ceiling ratio \
	job_ms/MB upload_ms/MB floor_ms/MB over_floor
row=0
for spec in "115200 384 4 96" "115200 2048 4 96" "1000000 384 4 384" "1000000 2048 4 512"; do
	read -r baud buf count kib <<<"$spec"
	row=$((row + 1))
	start_sim "dev$row" --slot-size 1048576 --baud "$baud" --buf-size "$buf" --buf-count "$count"
	update "dev$row" "$baud" $((kib / 4))
	small_cpu=$CPU small_bytes=$BYTES
	update "dev$row" "$baud" "$kib"
	secs=$(upload_seconds $job)
	goodput=$(awk -v b="$BYTES" -v s="$secs" 'BEGIN { printf "%.0f", b / s }')
	ceiling=$("$SERIAL_CEILING" "$baud" "$buf" "$BYTES")
	upload=$(marginal_ms_per_mb "$CPU" "$small_cpu" "$BYTES" "$small_bytes")
	floor=$(floor_ms_per_mb "$baud" "$buf")
	printf '%-8s %-5s %-6s %-3s %-8s %-8.0f %-6s %-8s %-9s %-8s %s\n' "$baud" "$buf" "$kib" "$((count - 1))" \
		"$goodput" "$ceiling" "$(awk -v g="$goodput" -v c="$ceiling" 'BEGIN { printf "%.3f", g / c }')" \
		"$(ms_per_mb "$CPU" "$BYTES")" "$upload" "$floor" \
		"$(awk -v a="$upload" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')"
done
