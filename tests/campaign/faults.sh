#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Link-fault campaign: each run updates a simulated serial device through the
# real dfud and dfuctl, with random simulator faults (lost, corrupted, cut and
# noisy frames, a link that hangs up or a device that resets mid-upload, busy
# answers, error codes, silence, rejected images) and a random small image.
# A run must end in a true success or a clean failure; a lost job, a false
# success, a hang or a crash fails the campaign. See README.md.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/campaign-lib.sh" "$@"

# add_faults COUNT REQUESTS SIZE: COUNT random one-shot faults into $faults;
# REQUESTS is about how many requests the update takes, SIZE its upload bytes
add_faults() {
	local i kind at
	for ((i = 0; i < $1; i++)); do
		pick kind drop-request corrupt-response truncate-response garbage busy hangup-at reset-at
		case $kind in
		hangup-at | reset-at) rand at 0 "$3" ;;
		*) rand at 1 "$2" ;;
		esac
		faults+=(--fault "$kind@$at")
	done
}

# device_options SIZE: random device options and faults into $opts
device_options() {
	local size=$1 buf requests n v
	pick buf 256 384 512 1024 2048
	requests=$((size * 2 / buf + 10))
	opts=(--buf-size "$buf")
	pick v 1 2 4 4 && opts+=(--buf-count "$v")
	chance 10 && opts+=(--no-params)
	chance 15 && opts+=(--errors v1)
	chance 30 && opts+=(--image-check)
	chance 25 && opts+=(--reset-hangup)
	chance 40 && rand v 0 500 && opts+=(--erase-ms "$v")
	chance 30 && rand v 0 2000 && opts+=(--write-us-per-kb "$v")
	rand v 0 100 && opts+=(--reset-ms "$v")
	# mostly short boots: a long one costs the daemon a timed-out poll
	if chance 80; then rand v 10 100; else rand v 100 800; fi
	opts+=(--boot-ms "$v")
	chance 4 && opts+=(--boot-rejects)
	chance 4 && opts+=(--refuse-test)
	faults=()
	rand n 0 4
	add_faults "$n" "$requests" "$size"
	if chance 5; then
		rand v 0 "$requests"
		faults+=(--fault "silent-after@$v")
	fi
	if chance 8; then
		pick v 1:1:1 1:1:9 1:1:12 1:0:1
		rand n 1 4
		faults+=(--fault "error@$v:$n")
	fi
	opts+=("${faults[@]}")
}

faults_run() {
	local size attempts rc=0 waited=finished
	local -a opts faults
	rand size 2000 16000
	pick attempts 2 3
	device_options "$size"
	RUN_SETUP="size=$size MaxAttempts=$attempts ${opts[*]}"
	MAX_ATTEMPTS=$attempts start_run "$size" "${opts[@]}"

	timeout -k 5 "$RUN_TIMEOUT" "$DFUCTL" start "serial:$T/dev" "$T/app.bin" >"$T/dfuctl.log" 2>&1 || rc=$?
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || waited=timeout
	judge 1 "$waited" "$rc"
}

campaign_main faults_run
