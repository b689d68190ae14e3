#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How the daemon's costs grow with the number of jobs, and what it costs per
# running job and per uploaded byte; every row beside its target, PASS or MISS.
#  - For N = 100, 1 000 and 10 000 stored jobs (nine in ten finished, one in
#    ten queued behind a device busy with an upload that waits for a slot
#    erase): the daemon's CPU time per submission (utime + stime from /proc,
#    over a batch of submissions queued behind the same device) and the ratio
#    between the largest and the smallest N; how long after its start the
#    daemon first answers and has loaded every stored job; how long
#    `dfuctl list -a` takes end to end (the median of three); the size of a
#    queued job's file.
#  - RSS per queued job: 10 000 against 100 stored queued jobs.
#  - RSS with 10 000 finished jobs and once they expired.
#  - Peak RSS while 32 simulated serial devices each take a 2 MiB image at
#    once, and per running job with 2 MiB and with 512 KiB images, to show
#    that a running job's memory does not follow its image's size.
#  - 64 simulated serial devices updating at once: the sum of their goodputs
#    (each over its own upload) against the sum of their links' ceilings
#    (tests/bench/serial-ceiling), with the uploads checked to overlap.
#  - The daemon's CPU time per uploaded MB, in both sets of runs: over six
#    seconds in which every upload runs and none starts or ends, so that a
#    job's fixed part (submit, connect, inspect, reset, confirm) is left out
#    and shown on its own row. Beside it, the floor this machine sets: the CPU time of
#    a bare loop that only wakes, reads and writes once per request on a
#    paced pty (tests/bench/request-floor), times the requests a MB takes.
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
source "$here/bench-lib.sh"

# as the systemd unit runs the daemon: the memory of expired jobs goes back to the system
export G_SLICE=always-malloc

SIZES=(100 1000 10000)

# vm_kib PID FIELD: a VmRSS/VmHWM line of /proc/PID/status, in KiB
vm_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# list_ms: the median of three runs of `dfuctl list -a`, in ms
list_ms() {
	local t0 t1 i times=()
	for i in 1 2 3; do
		t0=$(date +%s%N)
		dfuctl list -a >/dev/null
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

# busy_device NAME: a simulated device whose first upload waits for a slot erase that never ends
busy_device() {
	start_sim "$1" --erase-ms 3600000
	BUSY="serial:$T/$1?framing=console"
}

measure() {
	local n=$1 run=$T_ROOT/n$n bundle before after last t0 t1 t2
	use_run_dir "$run"
	FIRST_TIMEOUT=3600 write_config
	# finished jobs are kept for the whole run
	printf '[daemon]\nMaxFinishedJobs=100000\nKeepFinishedSec=864000\n' >>"$DFUD_CONFIG"
	# the bundle every queued job holds, already in the cache
	mkimage -o "$run/image.bin" --version 2.0.0 --size 65536 --seed 1
	bundle=$(cache_bundle "$run/image.bin")
	busy_device "busy$n"
	store_jobs 1 $((n / 10)) queued "$BUSY" "$bundle"
	store_jobs $((n / 10 + 1)) "$n" succeeded serial:/dev/ttyBENCH

	t0=$(date +%s%N)
	# a gate that is never there: start_dfud returns at the first answer, not once loaded
	DFUD_TEST_LOAD_GATE=$run/no-gate start_dfud
	t1=$(date +%s%N)
	until [ "$(manager_prop Loading)" = "b false" ]; do sleep 0.02; done
	t2=$(date +%s%N)
	LOAD_CPU_S[$n]=$(awk -v t="$(cpu_ms "$DFUD_PID")" 'BEGIN { printf "%.2f", t / 1000 }')
	ANSWER_S[$n]=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
	LOAD_S[$n]=$(awk -v d=$((t2 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
	LIST_MS[$n]=$(list_ms)
	wait_for 30 "job 1 to upload" sh -c "'$DFUCTL' status --json 1 | jq -e '.Phase == \"uploading\"'"
	before=$(cpu_ms "$DFUD_PID")
	for ((i = 0; i < batch; i++)); do
		last=$(dfuctl start --no-wait --json "$BUSY" "$run/image.bin" | jq -r .Id)
	done
	wait_for 60 "job $last to queue" sh -c "'$DFUCTL' status --json $last | jq -e '.Phase == \"waiting\"'"
	after=$(cpu_ms "$DFUD_PID")
	FILE_BYTES[$n]=$(stat -c %s "$STATE_DIRECTORY/jobs/$last.json")
	stop_dfud
	stop_sims
	CPU_MS[$n]=$(awk -v a="$after" -v b="$before" -v k="$batch" 'BEGIN { printf "%.2f", (a - b) / k }')
}

# queued_rss N: the daemon's RSS in KiB with N stored jobs, all queued behind one busy device
queued_rss() {
	local n=$1 run=$T_ROOT/queued$n bundle
	use_run_dir "$run"
	FIRST_TIMEOUT=3600 write_config
	mkimage -o "$run/image.bin" --version 2.0.0 --size 65536 --seed 1
	bundle=$(cache_bundle "$run/image.bin")
	busy_device "queued$n"
	store_jobs 1 "$n" queued "$BUSY" "$bundle"
	start_dfud
	wait_for 30 "job 1 to upload" sh -c "'$DFUCTL' status --json 1 | jq -e '.Phase == \"uploading\"'"
	QUEUED_KIB[$n]=$(vm_kib "$DFUD_PID" VmRSS)
	stop_dfud
	stop_sims
}

# unfinished_jobs JQ: a jq expression over the unfinished jobs' properties, as one array
unfinished_jobs() {
	"$DFUCTL" list --json | jq -s "[.[] | if type == \"array\" then .[] else . end] | $1"
}

# upload_window: the daemon's CPU per uploaded MB over WINDOW_S seconds while every job of JOBS
# uploads, in WINDOW_MS_PER_MB: no job starts or ends in it, so it holds the uploads alone
upload_window() {
	local n=${#JOBS[@]} i c0 c1 b0 b1
	for ((i = 0; i < 600; i++)); do
		[ "$(unfinished_jobs '[.[] | select(.Phase == "uploading")] | length')" -eq "$n" ] && break
		sleep 0.5
	done
	[ "$i" -lt 600 ] || fail "the $n uploads were never under way at once"
	c0=$(cpu_ms "$DFUD_PID") b0=$(unfinished_jobs 'map(.BytesDone) | add')
	sleep "$WINDOW_S"
	c1=$(cpu_ms "$DFUD_PID") b1=$(unfinished_jobs 'map(.BytesDone) | add')
	[ "$(unfinished_jobs '[.[] | select(.Phase == "uploading")] | length')" -eq "$n" ] ||
		fail "an upload began or ended within the window"
	WINDOW_MS_PER_MB=$(awk -v a="$c0" -v b="$c1" -v x="$b0" -v y="$b1" 'BEGIN { printf "%.1f", (b - a) / ((y - x) / 1048576) }')
}

# update_all TARGET BUNDLE [TARGET BUNDLE...]: submits every pair at once and waits for all of
# them to succeed; JOBS holds their numbers, UPDATE_MS the daemon's CPU ms meanwhile; with
# WINDOW_S set, upload_window measures the uploads alone
update_all() {
	local before i
	JOBS=()
	before=$(cpu_ms "$DFUD_PID")
	while [ $# -gt 0 ]; do
		JOBS+=("$(submit "$1" "$2")")
		shift 2
	done
	[ -z "${WINDOW_S:-}" ] || upload_window
	for i in "${JOBS[@]}"; do
		wait_job_done 900 "$i"
		expect_job "$i" succeeded success
	done
	UPDATE_MS=$(cpu_ms_since "$DFUD_PID" "$before")
}

# peak_rss DEVICES KIB: the daemon's idle and peak RSS, in KiB, while DEVICES
# simulated devices each take a zip bundle with an image of KIB KiB, all at
# once; and its CPU ms over the uploads
peak_rss() {
	local devices=$1 size=$(($2 * 1024)) run=$T_ROOT/rss$2 i pairs=()
	use_run_dir "$run"
	RESPONSE_TIMEOUT=5 write_config
	printf '[daemon]\nMaxParallelJobs=%d\n' "$devices" >>"$DFUD_CONFIG"
	start_dfud
	IDLE_KIB[$2]=$(vm_kib "$DFUD_PID" VmRSS)
	for ((i = 1; i <= devices; i++)); do
		start_sim "dev$i" --slot-size $((2 * size)) --baud 1000000
		mkimage -o "$run/app$i.bin" --version 2.0.$i --size "$size" --seed "$i"
		"$MKIMAGE" zip -o "$run/app$i.zip" "$run/app$i.bin:0"
	done
	for ((i = 1; i <= devices; i++)); do
		pairs+=("serial:$run/dev$i?baud=1000000&framing=console" "$run/app$i.zip")
	done
	WINDOW_MS_PER_MB=
	update_all "${pairs[@]}"
	PEAK_WINDOW[$2]=$WINDOW_MS_PER_MB
	PEAK_CPU[$2]=$UPDATE_MS
	PEAK_KIB[$2]=$(vm_kib "$DFUD_PID" VmHWM)
	stop_dfud
	stop_sims
}

# upload_span JOB: the first and the last upload line of the job's history, in µs
upload_span() {
	dfuctl status --json -v "$1" | jq -r '
		[.History[] | select(.[1] | test("uploading|upload complete")) | .[0]] | "\(.[0]) \(.[-1])"'
}

# many_devices DEVICES BAUD KIB: DEVICES simulated serial devices at BAUD each
# take an image of KIB KiB at once
many_devices() {
	local devices=$1 baud=$2 size=$(($3 * 1024)) run=$T_ROOT/many i pairs=() f l
	local goodput=0 ceiling file_size latest_start=0 earliest_end=
	use_run_dir "$run"
	RESPONSE_TIMEOUT=5 write_config
	printf '[daemon]\nMaxParallelJobs=%d\n' "$devices" >>"$DFUD_CONFIG"
	start_dfud
	mkimage -o "$run/app.bin" --version 2.0.1 --size "$size" --seed 7
	file_size=$(stat -c %s "$run/app.bin")
	for ((i = 1; i <= devices; i++)); do
		start_sim "m$i" --slot-size $((2 * size)) --baud "$baud" --buf-size 2048 --buf-count 4
	done
	for ((i = 1; i <= devices; i++)); do
		pairs+=("serial:$run/m$i?baud=$baud&framing=console" "$run/app.bin")
	done
	WINDOW_MS_PER_MB=
	update_all "${pairs[@]}"
	MANY_WINDOW[$3]=$WINDOW_MS_PER_MB
	MANY_CPU[$3]=$UPDATE_MS
	MANY_BYTES[$3]=$((file_size * devices))
	for i in "${JOBS[@]}"; do
		read -r f l <<<"$(upload_span "$i")"
		goodput=$(awk -v g="$goodput" -v b="$file_size" -v f="$f" -v l="$l" 'BEGIN { printf "%.1f", g + b / ((l - f) / 1e6) }')
		[ "$f" -lt "$latest_start" ] || latest_start=$f
		if [ -z "$earliest_end" ] || [ "$l" -lt "$earliest_end" ]; then earliest_end=$l; fi
	done
	ceiling=$("$SERIAL_CEILING" "$baud" 2048 "$file_size")
	MANY_RATIO[$3]=$(awk -v g="$goodput" -v c="$ceiling" -v n="$devices" 'BEGIN { printf "%.3f", g / (c * n) }')
	# every upload was under way at once
	MANY_OVERLAP[$3]=$([ "$latest_start" -lt "$earliest_end" ] && echo yes || echo no)
	stop_dfud
	stop_sims
}

declare -A CPU_MS ANSWER_S LOAD_S LOAD_CPU_S LIST_MS FILE_BYTES QUEUED_KIB IDLE_KIB PEAK_KIB PEAK_CPU PEAK_WINDOW MANY_CPU MANY_WINDOW MANY_BYTES MANY_RATIO MANY_OVERLAP
for n in "${SIZES[@]}"; do
	measure "$n"
done
queued_rss 100
queued_rss 10000
expiry_rss() {
	local n=$1 run=$T_ROOT/expiry
	use_run_dir "$run"
	write_config
	printf '[daemon]\nMaxFinishedJobs=100000\nKeepFinishedSec=4\n' >>"$DFUD_CONFIG"
	store_jobs 1 "$n" succeeded serial:/dev/ttyBENCH
	start_dfud
	FULL_RSS_MIB=$(awk -v k="$(vm_kib "$DFUD_PID" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
	wait_for 60 "the finished jobs to expire" sh -c "[ -z \"\$('$DFUCTL' list -a --json)\" ]"
	EXPIRED_RSS_MIB=$(awk -v k="$(vm_kib "$DFUD_PID" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
	stop_dfud
}
expiry_rss 10000
PEAK_DEVICES=32
WINDOW_S=6 peak_rss "$PEAK_DEVICES" 2048
peak_rss "$PEAK_DEVICES" 512
WINDOW_S=6 many_devices 64 115200 128

first=${SIZES[0]}
mid=${SIZES[1]}
last=${SIZES[-1]}
MISSES=0
# row NAME N=first N=mid VALUE TARGET-TEXT [AWK-CONDITION on v]: a row of the table, PASS/MISS when it has a condition
row() {
	local verdict=
	if [ -n "${6:-}" ]; then
		if awk -v v="$4" "BEGIN { exit !($6) }"; then verdict=PASS; else verdict=MISS; MISSES=$((MISSES + 1)); fi
	fi
	printf '%-42s %9s %9s %10s %10s  %s\n' "$1" "$2" "$3" "$4" "$5" "$verdict"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per_job_mib() { awk -v p="$1" -v i="$2" -v n="$PEAK_DEVICES" 'BEGIN { printf "%.3f", (p - i) / 1024 / n }'; }

printf '%-42s %9s %9s %10s %10s  %s\n' "row (batch of $batch)" "N=$first" "N=$mid" "N=$last" target verdict
ratio=$(awk -v a="${CPU_MS[$first]}" -v b="${CPU_MS[$last]}" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
row "CPU per submission, ms" "${CPU_MS[$first]}" "${CPU_MS[$mid]}" "${CPU_MS[$last]}" ""
row "  ratio N=$last / N=$first" "" "" "$ratio" "<= 1.3" "v <= 1.3"
row "first answer after start, s" "${ANSWER_S[$first]}" "${ANSWER_S[$mid]}" "${ANSWER_S[$last]}" "< 0.5" "v < 0.5"
row "all stored jobs loaded, s" "${LOAD_S[$first]}" "${LOAD_S[$mid]}" "${LOAD_S[$last]}" "<= 2" "v <= 2"
row "  daemon CPU by then, s" "${LOAD_CPU_S[$first]}" "${LOAD_CPU_S[$mid]}" "${LOAD_CPU_S[$last]}" ""
row "dfuctl list -a, end to end, ms" "${LIST_MS[$first]}" "${LIST_MS[$mid]}" "${LIST_MS[$last]}" "<= 300" "v <= 300"
row "file of a queued job, bytes" "${FILE_BYTES[$first]}" "${FILE_BYTES[$mid]}" "${FILE_BYTES[$last]}" ""
row "RSS per queued job, KiB" "" "" "$(awk -v a="${QUEUED_KIB[100]}" -v b="${QUEUED_KIB[10000]}" 'BEGIN { printf "%.2f", (b - a) / 9900 }')" "<= 1" "v <= 1"
row "RSS, 10 000 finished jobs, MiB" "" "" "$FULL_RSS_MIB" ""
row "  once they expired, MiB" "" "" "$EXPIRED_RSS_MIB" ""
row "idle RSS before the uploads, MiB" "" "" "$(mib "${IDLE_KIB[2048]}")" ""
row "peak RSS, $PEAK_DEVICES devices x 2 MiB, MiB" "" "" "$(mib "${PEAK_KIB[2048]}")" "< 25" "v < 25"
per2=$(per_job_mib "${PEAK_KIB[2048]}" "${IDLE_KIB[2048]}")
per05=$(per_job_mib "${PEAK_KIB[512]}" "${IDLE_KIB[512]}")
row "  per running job, 2 MiB image, MiB" "" "" "$per2" ""
row "  per running job, 512 KiB image, MiB" "" "" "$per05" ""
# independent of the image: 1.5 MiB more image costs a running job under a tenth of it
row "  growth per job over 1.5 MiB, MiB" "" "" "$(awk -v a="$per2" -v b="$per05" 'BEGIN { printf "%.3f", a - b }')" "< 0.15" "v < 0.15"
# job_ms CPU BYTES JOBS MS_PER_MB: what a job costs besides its upload, in ms
job_ms() {
	awk -v t="$1" -v b="$2" -v n="$3" -v m="$4" 'BEGIN { printf "%.1f", (t - m * b / 1048576) / n }'
}
peak_bytes=$((PEAK_DEVICES * 2048 * 1024))
peak_mb=${PEAK_WINDOW[2048]}
many_mb=${MANY_WINDOW[128]}
peak_floor=$(floor_ms_per_mb 1000000 384)
many_floor=$(floor_ms_per_mb 115200 2048)
row "daemon CPU per MB uploaded, ms:" "" "" "" ""
row "  $PEAK_DEVICES x 1 Mbaud, 384-byte buffers" "" "" "$peak_mb" "<= 50" "v <= 50"
row "    floor: one wake, read, write a request" "" "" "$peak_floor" ""
row "    over the floor" "" "" "$(awk -v a="$peak_mb" -v b="$peak_floor" 'BEGIN { printf "%.2f", a / b }')" ""
row "  64 x 115200, 2 KiB buffers" "" "" "$many_mb" "<= 50" "v <= 50"
row "    floor of one link alone" "" "" "$many_floor" ""
row "daemon CPU per job besides its upload, ms" "" "" "$(job_ms "${MANY_CPU[128]}" "${MANY_BYTES[128]}" 64 "$many_mb")" ""
row "daemon CPU per MB, whole jobs, 2 MiB, ms" "" "" "$(ms_per_mb "${PEAK_CPU[2048]}" "$peak_bytes")" ""
row "daemon CPU per MB, whole jobs, 128 KiB, ms" "" "" "$(ms_per_mb "${MANY_CPU[128]}" "${MANY_BYTES[128]}")" ""
row "64 devices at once: goodput/ceilings" "" "" "${MANY_RATIO[128]}" ">= 0.85" "v >= 0.85"
row "  all 64 uploads overlapped" "" "" "${MANY_OVERLAP[128]}" "yes" "v == \"yes\""
printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
[ "$MISSES" -eq 0 ] || fail "$MISSES rows missed their targets"
