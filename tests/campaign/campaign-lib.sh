# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash source-path=SCRIPTDIR
# Shared by the robustness campaigns: their options, one directory and one
# random sequence per run, the verdict on a run from the job as dfud reports it
# and the device as the simulator's state file shows it, and the tally.
#
# A campaign script sources this with its arguments, defines a function that
# performs one run and calls campaign_main with that function's name.

CAMPAIGN=$(basename "$0" .sh)
RUNS=200
SEED=
ONLY_RUN=
RUN_TIMEOUT=60
KEEP_T=0

campaign_usage() {
	cat <<USAGE
usage: $0 [--runs N] [--seed S] [--run R] [--timeout SECONDS] [--build DIR] [--keep]
  --runs N       number of runs (default $RUNS)
  --seed S       seed of the random choices (default: a new one, printed)
  --run R        only run R of the seed's sequence, to reproduce it
  --timeout SEC  a run that has not finished by then hangs (default $RUN_TIMEOUT)
  --build DIR    the build directory (default: \$DFUD_BUILD_ROOT)
  --keep         keep the logs of every run, not only of the bad ones
USAGE
}

usage_error() {
	campaign_usage >&2
	exit 2
}

while [ $# -gt 0 ]; do
	opt=$1
	shift
	case $opt in
	--keep)
		KEEP_T=1
		continue
		;;
	-h | --help)
		campaign_usage
		exit 0
		;;
	--runs | --seed | --run | --timeout | --build) [ $# -gt 0 ] || usage_error ;;
	*) usage_error ;;
	esac
	case $opt in
	--runs) RUNS=$1 ;;
	--seed) SEED=$1 ;;
	--run) ONLY_RUN=$1 ;;
	--timeout) RUN_TIMEOUT=$1 ;;
	--build) DFUD_BUILD_ROOT=$(cd "$1" && pwd) || exit 2 ;;
	esac
	shift
done
for v in "$RUNS" "$RUN_TIMEOUT" ${SEED:+"$SEED"} ${ONLY_RUN:+"$ONLY_RUN"}; do
	[[ $v =~ ^[0-9]+$ ]] || {
		echo "$0: not a number: $v" >&2
		exit 2
	}
done
[ -n "$SEED" ] || SEED=$(($(date +%s) % 100000))
[ -n "${DFUD_BUILD_ROOT:-}" ] || {
	echo "$0: pass --build DIR or set DFUD_BUILD_ROOT" >&2
	exit 2
}
export DFUD_BUILD_ROOT

source "$(dirname "$0")/../integration/lib.sh"

# --- random choices: every run has its own sequence, seeded from SEED and its number

# rand VAR LO HI: a random integer in [LO, HI]
rand() {
	printf -v "$1" %d $(((RANDOM * 32768 + RANDOM) % ($3 - $2 + 1) + $2))
}

# chance PERCENT: true that often
chance() {
	[ $((RANDOM % 100)) -lt "$1" ]
}

# pick VAR WORD...: one of the words
pick() {
	local var=$1
	shift
	local -a words=("$@")
	printf -v "$var" %s "${words[RANDOM % ${#words[@]}]}"
}

# --- the run's daemon, device and image

# start_run SIZE [dfu-sim options...]: dfud with the campaign's short timeouts
# (MAX_ATTEMPTS from the environment), simulator "dev" running 1.0.0, and the
# image $T/app.bin of SIZE bytes and version 1.1.<run>; the images the device
# may end with are in OLD_IMAGE and NEW_IMAGE ("version hash")
start_run() {
	local size=$1
	shift
	RESPONSE_TIMEOUT=0.5 SMP_RETRIES=2 FIRST_TIMEOUT=2 RESET_TIMEOUT=3 write_config
	mkimage -o "$T/app.bin" --version "1.1.$RUN" --size "$size" --seed "$RUN"
	NEW_IMAGE=$(image_file_id "$T/app.bin")
	start_dfud
	start_sim dev --baud 0 --verbose --running-version 1.0.0 "$@"
	OLD_IMAGE=$(image_of dev 0)
	OLD_IMAGE=${OLD_IMAGE% *}
}

# --- the verdict on one run

OUTCOMES=(success failed lost false-success hang crash inconsistent)
GOOD_OUTCOMES=" success failed "

# verdict OUTCOME [DETAIL]: the first verdict of a run stands
verdict() {
	[ -z "$RUN_OUTCOME" ] || return 0
	RUN_OUTCOME=$1
	RUN_DETAIL=${2:-}
}

# image_of NAME SLOT: "version hash confirmed" of a slot of the simulated device's image 0
image_of() {
	[ -f "$T/$1.json" ] || {
		echo "no-state-file"
		return 0
	}
	sim_state "$1" ".images[0].slots[] | select(.slot == $2) | \"\(.version) \(.hash) \(.confirmed)\""
}

# image_file_id FILE: "version hash" of an MCUboot image file as the device
# lists it, the hash taken over header, payload and protected TLVs
image_file_id() {
	local hdr_size protect_size img_size major minor revision build version
	read -r hdr_size protect_size < <(od -An -tu2 -j8 -N4 "$1")
	read -r img_size < <(od -An -tu4 -j12 -N4 "$1")
	read -r major minor < <(od -An -tu1 -j20 -N2 "$1")
	read -r revision < <(od -An -tu2 -j22 -N2 "$1")
	read -r build < <(od -An -tu4 -j24 -N4 "$1")
	version=$major.$minor.$revision
	[ "$build" = 0 ] || version+=.$build
	echo "$version $(head -c $((hdr_size + img_size + protect_size)) "$1" | sha256sum | cut -d' ' -f1)"
}

# judge JOB WAITED [CLIENT-EXIT]: the run's verdict. WAITED is "finished" when the
# job finished in time and "timeout" when it did not; CLIENT-EXIT is the exit
# status of the dfuctl that followed the job, if one did. The device is
# simulator "dev", updated from OLD_IMAGE to NEW_IMAGE ("version hash").
judge() {
	local job=$1 waited=$2 client=${3:-} list ids jobs state name phase message device
	if [ -z "$DFUD_PID" ] || ! kill -0 "$DFUD_PID" 2>/dev/null; then
		verdict crash "dfud is gone"
		return
	fi
	if ! list=$("$DFUCTL" list --all --json 2>&1); then
		verdict crash "dfuctl list: $list"
		return
	fi
	IFS=$'\t' read -r jobs state name phase message < <(jq -rs --argjson id "$job" \
		'(map(select(.Id == $id)) | first // {}) as $j |
		[length, $j.State // "absent", $j.StatusName, $j.Phase, ($j.Message | length)] | @tsv' <<<"$list")
	ids=$(jq -r .Id <<<"$list" | xargs)
	if [ "$state" = absent ]; then
		verdict lost "dfud does not know job $job; its jobs: ${ids:-none}"
		return
	elif [ "$jobs" != 1 ]; then
		verdict inconsistent "dfud lists jobs $ids, not only job $job"
		return
	fi
	device=$(image_of dev 0)
	case $state in
	queued | running)
		if [ "$waited" = timeout ]; then
			verdict hang "job $job still $state in phase $phase after ${RUN_TIMEOUT}s"
		else
			verdict lost "job $job is still $state though its client returned $client"
		fi
		;;
	succeeded)
		# every run starts on the old image: this job installed the new one, so
		# up-to-date would be untrue even when an earlier attempt did the work
		if [ "$name" != success ]; then
			verdict inconsistent "job $job succeeded with status $name"
		elif [ "$device" != "$NEW_IMAGE true" ]; then
			verdict false-success "job $job succeeded but the device runs '$device', not '$NEW_IMAGE true'"
		elif [ "$waited" = timeout ]; then
			verdict hang "job $job succeeded but its client did not return"
		elif [ -n "$client" ] && [ "$client" != 0 ]; then
			verdict inconsistent "dfuctl exited $client for a success"
		else
			verdict success
		fi
		;;
	failed)
		case $name in
		none | pending | success | staged | up-to-date | not-finished)
			verdict inconsistent "job $job failed with status $name"
			return
			;;
		esac
		if [ "$client" = 0 ]; then
			verdict false-success "dfuctl exited 0 but job $job failed with $name"
		elif [ "$waited" = timeout ]; then
			verdict hang "job $job failed but its client did not return"
		elif [ "$message" = 0 ]; then
			verdict inconsistent "job $job failed with $name and no message"
		else
			case $device in
			"$OLD_IMAGE true") verdict failed "$name, old image running" ;;
			"$NEW_IMAGE true") verdict failed "$name, new image running and confirmed" ;;
			"$NEW_IMAGE false") verdict failed "$name, new image on test (reverts on reset)" ;;
			*) verdict inconsistent "job $job failed with $name and the device runs '$device'" ;;
			esac
		fi
		;;
	*)
		verdict inconsistent "job $job ended $state/$name, which nobody asked for"
		;;
	esac
}

# --- the runs and the tally

declare -A COUNT=()
declare -A BY_STATUS=()
BAD_RUNS=()

# finish_run: ends the run's daemon and simulators; a daemon that does not
# end cleanly on SIGTERM (or whose sanitizers complain) crashed
finish_run() {
	if [ -n "$DFUD_PID" ] && ! end_dfud 10; then
		verdict crash "dfud did not exit cleanly on SIGTERM"
	fi
	stop_sims
}

# one_run FUNCTION R: run R (in $RUN) in a directory of its own, judged and counted
one_run() {
	local fn=$1 r=$2 start ms o
	RUN=$r
	RANDOM=$((SEED * 100003 + r))
	use_run_dir "$T_ROOT/run-$r"
	FAIL_CONTEXT="$CAMPAIGN seed $SEED run $r"
	RUN_OUTCOME='' RUN_DETAIL='' RUN_SETUP=''
	start=${EPOCHREALTIME/./}
	"$fn" "$r"
	finish_run
	ms=$(((${EPOCHREALTIME/./} - start) / 1000))
	COUNT[$RUN_OUTCOME]=$((${COUNT[$RUN_OUTCOME]:-0} + 1))
	if [ -n "$RUN_DETAIL" ] && [[ $GOOD_OUTCOMES == *" $RUN_OUTCOME "* ]]; then
		o="$RUN_OUTCOME ${RUN_DETAIL%%,*}"
		BY_STATUS[$o]=$((${BY_STATUS[$o]:-0} + 1))
	fi
	printf 'run %d: %s%s (%d.%03ds) %s\n' "$r" "$RUN_OUTCOME" "${RUN_DETAIL:+: $RUN_DETAIL}" \
		$((ms / 1000)) $((ms % 1000)) "$RUN_SETUP"
	if [[ $GOOD_OUTCOMES == *" $RUN_OUTCOME "* ]]; then
		[ "$KEEP_T" = 1 ] || rm -rf "$T"
	else
		BAD_RUNS+=("$r")
		printf 'BAD: %s: %s (%s)\n  reproduce: %s --seed %s --run %s --build %s\n  setup: %s\n' \
			"$FAIL_CONTEXT" "$RUN_OUTCOME" "$RUN_DETAIL" "$0" "$SEED" "$r" "$DFUD_BUILD_ROOT" "$RUN_SETUP" >&2
		echo "# logs of run $r in $T" >&2
		dump_logs
	fi
	T=$T_ROOT
}

# campaign_main FUNCTION: FUNCTION R performs run R (in $T, with the run's
# random sequence) and calls judge; prints the tally, fails on a bad outcome
# (the directories of bad runs are then kept)
campaign_main() {
	local fn=$1 r first=1 last=$RUNS total=0 line o
	if [ -n "$ONLY_RUN" ]; then
		first=$ONLY_RUN
		last=$ONLY_RUN
	fi
	log "$CAMPAIGN: runs $first..$last of seed $SEED, build $DFUD_BUILD_ROOT"
	for ((r = first; r <= last; r++)); do
		one_run "$fn" "$r"
		total=$((total + 1))
	done
	line="runs: $total"
	for o in "${OUTCOMES[@]}"; do line+=", $o: ${COUNT[$o]:-0}"; done
	echo "$line"
	if [ ${#BY_STATUS[@]} -gt 0 ]; then
		line="by status:"
		for o in "${!BY_STATUS[@]}"; do line+=" $o: ${BY_STATUS[$o]},"; done
		echo "${line%,}"
	fi
	if [ ${#BAD_RUNS[@]} -gt 0 ]; then
		echo "bad runs of seed $SEED: ${BAD_RUNS[*]}"
		return 1
	fi

}
