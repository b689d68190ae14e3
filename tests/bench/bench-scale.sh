#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How the daemon's costs grow with the number of stored jobs. For N = 100,
# 1 000 and 10 000 stored jobs (nine in ten finished, one in ten queued behind
# a device busy with an upload that waits for a slot erase) it measures the daemon's CPU time per
# submission (utime + stime from /proc, over a batch of submissions queued
# behind the same device) and prints the ratio between the largest and the
# smallest N beside its target.
#   tests/bench/bench-scale.sh [--full] [BUILD_DIR]
# The default, short mode submits a small batch; --full a larger one, for
# steadier numbers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
batch=100
if [ "${1:-}" = --full ]; then
	batch=500
	shift
fi
# meson test sets DFUD_BUILD_ROOT and builds what the run needs
if [ -z "${DFUD_BUILD_ROOT:-}" ] || [ -n "${1:-}" ]; then
	export DFUD_BUILD_ROOT=$(cd "${1:-$here/../../build}" && pwd)
	ninja -C "$DFUD_BUILD_ROOT" bench-tools >/dev/null
fi
source "$here/../integration/lib.sh"

SIZES=(100 1000 10000)
TARGET_RATIO=1.3
TICK=$(getconf CLK_TCK)

# cpu_ticks PID: user + system time of the process and its finished threads
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# store_jobs N DEVICE BUNDLE: N job files as a daemon leaves them, the first
# tenth queued for DEVICE with BUNDLE, the rest finished on other devices
store_jobs() {
	local n=$1 device=$2 bundle=$3 queued=$(($1 / 10)) now id dir=$STATE_DIRECTORY/jobs
	now=$(date +%s%6N)
	mkdir -p "$dir"
	for ((id = 1; id <= n; id++)); do
		if ((id <= queued)); then
			printf '{"id":%d,"target":"%s","source":"bench","bundle-path":"%s","options":{},"state":"queued","phase":"waiting","created":%d,"history":["%d\tsubmitted"]}\n' \
				"$id" "$device" "$bundle" "$now" "$now" >"$dir/$id.json"
		else
			printf '{"id":%d,"target":"serial:/dev/ttyBENCH%d","source":"bench","options":{},"state":"succeeded","phase":"done","status-code":1,"created":%d,"started":%d,"finished":%d,"history":["%d\tsubmitted","%d\tfinished: success"]}\n' \
				"$id" $((id % 64)) "$now" "$now" "$now" "$now" "$now" >"$dir/$id.json"
		fi
	done
	echo $((n + 1)) >"$STATE_DIRECTORY/next-id"
}

# the id of the last job `dfuctl start --no-wait` printed
submitted_id() {
	sed -n 's/.*job\/\([0-9]*\).*/\1/p; s/^\([0-9][0-9]*\)$/\1/p' <<<"$1" | tail -n1
}

measure() {
	local n=$1 run=$T/n$n device bundle sha before after last out
	use_run_dir "$run"
	FIRST_TIMEOUT=3600 write_config
	# finished jobs are kept for the whole run
	printf '[daemon]\nMaxFinishedJobs=100000\nKeepFinishedSec=864000\n' >>"$DFUD_CONFIG"
	# the bundle every queued job holds, already in the cache
	mkimage -o "$run/image.bin" --version 2.0.0 --size 65536 --seed 1
	sha=$(sha256sum "$run/image.bin" | cut -d' ' -f1)
	bundle=$CACHE_DIRECTORY/bundles/$sha.bundle
	mkdir -p "$CACHE_DIRECTORY/bundles"
	cp "$run/image.bin" "$bundle"
	# the first queued job holds the device for the whole run, idle: the slot erase never ends
	start_sim "busy$n" --erase-ms 3600000
	device="serial:$run/busy$n?framing=console"
	store_jobs "$n" "$device" "$bundle"

	start_dfud
	wait_for 30 "job 1 to upload" sh -c "'$DFUCTL' status --json 1 | jq -e '.Phase == \"uploading\"'"
	before=$(cpu_ticks "$DFUD_PID")
	for ((i = 0; i < batch; i++)); do
		out=$(dfuctl start --no-wait "$device" "$run/image.bin")
	done
	last=$(submitted_id "$out")
	[ -n "$last" ] || fail "no job id in '$out'"
	wait_for 60 "job $last to queue" sh -c "'$DFUCTL' status --json $last | jq -e '.Phase == \"waiting\"'"
	after=$(cpu_ticks "$DFUD_PID")
	stop_dfud
	stop_sims
	CPU_MS[$n]=$(awk -v t=$((after - before)) -v k="$batch" -v hz="$TICK" 'BEGIN { printf "%.2f", t * 1000 / hz / k }')
}

declare -A CPU_MS
for n in "${SIZES[@]}"; do
	measure "$n"
done

first=${SIZES[0]}
last=${SIZES[-1]}
printf '%-34s %10s %10s %10s %8s %8s\n' "row (batch of $batch)" "N=$first" "N=${SIZES[1]}" "N=$last" ratio target
ratio=$(awk -v a="${CPU_MS[$first]}" -v b="${CPU_MS[$last]}" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
printf '%-34s %10s %10s %10s %8s %8s\n' "CPU per submission, ms" "${CPU_MS[$first]}" "${CPU_MS[${SIZES[1]}]}" \
	"${CPU_MS[$last]}" "$ratio" "<= $TARGET_RATIO"
awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { exit !(r <= t) }' ||
	fail "CPU per submission grows with the stored jobs: ratio $ratio over $TARGET_RATIO"
