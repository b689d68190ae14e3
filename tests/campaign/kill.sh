#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash campaign: each run starts an update of a simulated serial device and
# kills dfud with SIGKILL at random moments (after a random delay, or in a
# random phase of the job), once to three times, starting it again each time
# as systemd would. The job must come back after every restart and end in a
# true success or a clean failure; a lost job, a false success, a hang or a
# crash fails the campaign. See README.md.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/campaign-lib.sh" "$@"

# watch_job JOB PHASE PERCENT SECONDS: follows the job (dfuctl watch) until it
# is in PHASE with at least PERCENT done, or has finished; then WATCHED holds
# "state/phase/percent". Fails when SECONDS pass first or the daemon goes away.
watch_job() {
	local job=$1 want=$2 percent=$3 line state=unknown phase=unknown done=0 fd pid rc=1 got
	local deadline=$((${EPOCHREALTIME/./} + $4 * 1000000))
	exec {fd}< <(exec "$DFUCTL" watch --json 2>/dev/null)
	pid=$!
	while [ "${EPOCHREALTIME/./}" -lt "$deadline" ]; do
		got=0
		read -r -t 0.5 -u "$fd" line || got=$?
		# a timed-out read returns more than 128, the end of the output 1
		[ $got -le 128 ] || continue
		[ $got -eq 0 ] || break
		[[ $line == *"\"Id\":$job,"* ]] || continue
		[[ $line =~ \"State\":\"([a-z]*)\" ]] && state=${BASH_REMATCH[1]}
		[[ $line =~ \"Phase\":\"([a-z]*)\" ]] && phase=${BASH_REMATCH[1]}
		[[ $line =~ \"Percentage\":([0-9]+) ]] && done=${BASH_REMATCH[1]}
		case $state in
		succeeded | failed | cancelled) rc=0 ;;
		*) [ "$phase" = "$want" ] && [ "$done" -ge "$percent" ] && rc=0 ;;
		esac
		[ $rc -ne 0 ] || break
	done
	kill "$pid" 2>/dev/null || true
	exec {fd}<&-
	wait "$pid" 2>/dev/null || true
	WATCHED=$state/$phase/$done
	return $rc
}

# kill_and_restart JOB: kills dfud at a random moment of the job, and starts it again
kill_and_restart() {
	local job=$1 ms phase percent=0 down
	if chance 35; then
		rand ms 0 1200
		sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		RUN_SETUP+=" kill@${ms}ms"
	else
		pick phase verifying connecting inspecting uploading uploading uploading testing resetting confirming "done"
		[ "$phase" != uploading ] || rand percent 0 99
		if ! watch_job "$job" "$phase" "$percent" "$RUN_TIMEOUT"; then
			RUN_SETUP+=" kill@$phase:$percent%(not-reached:$WATCHED)"
			return 1
		fi
		RUN_SETUP+=" kill@$phase:$percent%($WATCHED)"
	fi
	kill9_dfud
	# systemd's RestartSec
	rand down 0 500
	sleep "0.$(printf %03d "$down")"
	start_dfud
}

kill_run() {
	local size kills k v job
	local -a opts=()
	rand size 4000 16000
	rand v 5000 20000 && opts+=(--write-us-per-kb "$v")
	chance 30 && rand v 0 500 && opts+=(--erase-ms "$v")
	chance 25 && opts+=(--reset-hangup)
	rand v 10 200 && opts+=(--boot-ms "$v")
	pick kills 1 1 1 1 1 1 2 2 2 3
	RUN_SETUP="size=$size ${opts[*]}"
	start_run "$size" "${opts[@]}"

	job=$(submit "serial:$T/dev" "$T/app.bin")
	for ((k = 0; k < kills; k++)); do
		if ! kill_and_restart "$job"; then
			judge "$job" timeout
			return
		fi
		# the job must be back with the daemon (else judge says it is lost)
		if ! "$DFUCTL" status "$job" >/dev/null 2>&1; then
			judge "$job" finished
			return
		fi
	done
	if watch_job "$job" never 0 "$RUN_TIMEOUT"; then
		judge "$job" finished
	else
		judge "$job" timeout
	fi
}

campaign_main kill_run
