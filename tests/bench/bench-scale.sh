#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How the daemon's costs grow with the number of stored jobs. For N = 100,
# 1 000 and 10 000 stored jobs (nine in ten finished, one in ten queued behind
# a device busy with an upload that waits for a slot erase) it measures the daemon's CPU time per
# submission (utime + stime from /proc, over a batch of submissions queued
# behind the same device) and prints the ratio between the largest and the
# smallest N beside its target; and how long after its start the daemon first
# answers and has loaded every stored job, its RSS per stored job and the size
# of a queued job's file; its RSS with 10 000 finished jobs and once they
# expired; then the peak RSS while 16 simulated devices each
# take a 2 MiB image at once.
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

# as the systemd unit runs the daemon: the memory of expired jobs goes back to the system
export G_SLICE=always-malloc

SIZES=(100 1000 10000)
TARGET_RATIO=1.3
TICK=$(getconf CLK_TCK)

# cpu_ticks PID: user + system time of the process and its finished threads
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# vm_kib PID FIELD: a VmRSS/VmHWM line of /proc/PID/status, in KiB
vm_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

measure() {
	local n=$1 run=$T/n$n device bundle before after last t0 t1 t2
	use_run_dir "$run"
	FIRST_TIMEOUT=3600 write_config
	# finished jobs are kept for the whole run
	printf '[daemon]\nMaxFinishedJobs=100000\nKeepFinishedSec=864000\n' >>"$DFUD_CONFIG"
	# the bundle every queued job holds, already in the cache
	mkimage -o "$run/image.bin" --version 2.0.0 --size 65536 --seed 1
	bundle=$(cache_bundle "$run/image.bin")
	# the first queued job holds the device for the whole run, idle: the slot erase never ends
	start_sim "busy$n" --erase-ms 3600000
	device="serial:$run/busy$n?framing=console"
	store_jobs 1 $((n / 10)) queued "$device" "$bundle"
	store_jobs $((n / 10 + 1)) "$n" succeeded serial:/dev/ttyBENCH

	t0=$(date +%s%N)
	start_dfud
	t1=$(date +%s%N)
	until [ "$(manager_prop Loading)" = "b false" ]; do sleep 0.02; done
	t2=$(date +%s%N)
	ANSWER_S[$n]=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
	LOAD_S[$n]=$(awk -v d=$((t2 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
	RSS_KIB[$n]=$(vm_kib "$DFUD_PID" VmRSS)
	wait_for 30 "job 1 to upload" sh -c "'$DFUCTL' status --json 1 | jq -e '.Phase == \"uploading\"'"
	before=$(cpu_ticks "$DFUD_PID")
	for ((i = 0; i < batch; i++)); do
		last=$(dfuctl start --no-wait --json "$device" "$run/image.bin" | jq -r .Id)
	done
	wait_for 60 "job $last to queue" sh -c "'$DFUCTL' status --json $last | jq -e '.Phase == \"waiting\"'"
	after=$(cpu_ticks "$DFUD_PID")
	FILE_BYTES[$n]=$(stat -c %s "$STATE_DIRECTORY/jobs/$last.json")
	stop_dfud
	stop_sims
	CPU_MS[$n]=$(awk -v t=$((after - before)) -v k="$batch" -v hz="$TICK" 'BEGIN { printf "%.2f", t * 1000 / hz / k }')
}

# peak_rss DEVICES MIB: the daemon's peak RSS, in MiB, while DEVICES simulated
# devices each take a zip bundle with an image of MIB MiB, all at once
peak_rss() {
	local devices=$1 size=$(($2 * 1024 * 1024)) run=$T/rss i jobs=()
	use_run_dir "$run"
	RESPONSE_TIMEOUT=5 write_config
	printf '[daemon]\nMaxParallelJobs=%d\n' "$devices" >>"$DFUD_CONFIG"
	start_dfud
	IDLE_RSS_MIB=$(awk -v k="$(vm_kib "$DFUD_PID" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
	for ((i = 1; i <= devices; i++)); do
		start_sim "dev$i" --slot-size $((2 * size)) --baud 1000000
		mkimage -o "$run/app$i.bin" --version 2.0.$i --size "$size" --seed "$i"
		"$MKIMAGE" zip -o "$run/app$i.zip" "$run/app$i.bin:0"
	done
	for ((i = 1; i <= devices; i++)); do
		jobs+=("$(submit "serial:$run/dev$i?baud=1000000&framing=console" "$run/app$i.zip")")
	done
	for i in "${jobs[@]}"; do
		wait_job_done 600 "$i"
		expect_job "$i" succeeded success
	done
	PEAK_RSS_MIB=$(awk -v k="$(vm_kib "$DFUD_PID" VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')
	stop_dfud
	stop_sims
}

# expiry_rss N: the daemon's RSS in MiB with N finished jobs loaded, and once they expired
expiry_rss() {
	local n=$1 run=$T/expiry
	use_run_dir "$run"
	write_config
	printf '[daemon]\nMaxFinishedJobs=100000\nKeepFinishedSec=4\n' >>"$DFUD_CONFIG"
	store_jobs 1 "$n" succeeded serial:/dev/ttyBENCH
	start_dfud
	until [ "$(manager_prop Loading)" = "b false" ]; do sleep 0.02; done
	FULL_RSS_MIB=$(awk -v k="$(vm_kib "$DFUD_PID" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
	wait_for 60 "the finished jobs to expire" sh -c "[ -z \"\$('$DFUCTL' list -a --json)\" ]"
	EXPIRED_RSS_MIB=$(awk -v k="$(vm_kib "$DFUD_PID" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
	stop_dfud
}

declare -A CPU_MS ANSWER_S LOAD_S RSS_KIB FILE_BYTES
for n in "${SIZES[@]}"; do
	measure "$n"
done
expiry_rss 10000
peak_rss 16 2

first=${SIZES[0]}
last=${SIZES[-1]}
row() {
	printf '%-34s %10s %10s %10s %8s %8s\n' "$@"
}
row "row (batch of $batch)" "N=$first" "N=${SIZES[1]}" "N=$last" ratio target
ratio=$(awk -v a="${CPU_MS[$first]}" -v b="${CPU_MS[$last]}" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
row "CPU per submission, ms" "${CPU_MS[$first]}" "${CPU_MS[${SIZES[1]}]}" "${CPU_MS[$last]}" "$ratio" "<= $TARGET_RATIO"
row "first answer after start, s" "${ANSWER_S[$first]}" "${ANSWER_S[${SIZES[1]}]}" "${ANSWER_S[$last]}" "" "< 0.5"
row "all stored jobs loaded, s" "${LOAD_S[$first]}" "${LOAD_S[${SIZES[1]}]}" "${LOAD_S[$last]}" "" "<= 2"
row "RSS per stored job, KiB" "" "" "$(awk -v a="${RSS_KIB[$first]}" -v b="${RSS_KIB[$last]}" -v n=$((last - first)) 'BEGIN { printf "%.2f", (b - a) / n }')" "" "<= 1"
row "file of a queued job, bytes" "${FILE_BYTES[$first]}" "${FILE_BYTES[${SIZES[1]}]}" "${FILE_BYTES[$last]}" "" ""
row "RSS, 10 000 finished jobs, MiB" "" "" "$FULL_RSS_MIB" "" ""
row "  once they expired, MiB" "" "" "$EXPIRED_RSS_MIB" "" ""
row "peak RSS, 16 devices x 2 MiB, MiB" "" "" "$PEAK_RSS_MIB" "" ""
row "  idle before, MiB" "" "" "$IDLE_RSS_MIB" "" ""
row "  per running job, MiB" "" "" "$(awk -v p="$PEAK_RSS_MIB" -v i="$IDLE_RSS_MIB" 'BEGIN { printf "%.2f", (p - i) / 16 }')" "" "< 1"
awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { exit !(r <= t) }' ||
	fail "CPU per submission grows with the stored jobs: ratio $ratio over $TARGET_RATIO"
