# SPDX-License-Identifier: LGPL-2.1-or-later
# What the benchmarks share: the daemon's CPU time and the floor this machine sets.
# Sourced after tests/integration/lib.sh, with DFUD_BUILD_ROOT set.

PROCESS_CPU=$DFUD_BUILD_ROOT/tests/bench/process-cpu
SERIAL_CEILING=$DFUD_BUILD_ROOT/tests/bench/serial-ceiling
REQUEST_FLOOR=$DFUD_BUILD_ROOT/tests/bench/request-floor

# cpu_ms PID: the process's CPU time so far, all its threads included, in ms
cpu_ms() {
	awk -v ns="$("$PROCESS_CPU" "$1")" 'BEGIN { printf "%.3f", ns / 1e6 }'
}

# cpu_ms_since PID BEFORE: the process's CPU ms since cpu_ms gave BEFORE
cpu_ms_since() {
	awk -v a="$(cpu_ms "$1")" -v b="$2" 'BEGIN { print a - b }'
}

# ms_per_mb MS BYTES: CPU milliseconds per MB (2^20 bytes)
ms_per_mb() {
	awk -v t="$1" -v b="$2" 'BEGIN { printf "%.1f", t / (b / 1048576) }'
}

# marginal_ms_per_mb MS_BIG MS_SMALL BYTES_BIG BYTES_SMALL: what the larger uploads cost per MB
# beyond the smaller ones, so that a job's fixed part (submit, connect, inspect, reset, confirm)
# is left out
marginal_ms_per_mb() {
	awk -v a="$1" -v b="$2" -v x="$3" -v y="$4" 'BEGIN { printf "%.1f", (a - b) / ((x - y) / 1048576) }'
}

# floor_ms_per_mb BAUD BUF_SIZE: the CPU time of a bare loop that only wakes, reads and writes once
# per request on a paced pty (request-floor), for the requests that carry a MB at BUF_SIZE
floor_ms_per_mb() {
	local requests wire us runs
	read -r requests wire <<<"$("$SERIAL_CEILING" "$1" "$2" 1048576 --requests)"
	# about five seconds of requests, and no fewer than 30
	runs=$(awk -v b="$1" -v w="$wire" 'BEGIN { n = int(5 * b / 10 / w); print n < 30 ? 30 : (n > 300 ? 300 : n) }')
	us=$("$REQUEST_FLOOR" "$1" "$wire" "$runs")
	awk -v u="$us" -v r="$requests" 'BEGIN { printf "%.1f", u * r / 1000 }'
}
