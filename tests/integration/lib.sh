# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared set-up for the integration tests: a private D-Bus bus, the real dfud
# on it, simulated devices on ptys, and dfuctl as the user runs it.
set -euo pipefail

: "${DFUD_BUILD_ROOT:?run through meson test}"
DFUD=$DFUD_BUILD_ROOT/daemon/dfud
DFUCTL=$DFUD_BUILD_ROOT/client/dfuctl
DFU_SIM=$DFUD_BUILD_ROOT/tests/sim/dfu-sim
MKIMAGE=$DFUD_BUILD_ROOT/tests/sim/mkimage/dfu-mkimage

T=$(mktemp -d "${TMPDIR:-/tmp}/dfud-test.XXXXXX")
declare -a SIM_PIDS=()
DFUD_PID=
BUS_PID=
export DFUD_BUS=session
export STATE_DIRECTORY=$T/state
export CACHE_DIRECTORY=$T/cache
export DFUD_CONFIG=$T/dfud.conf
mkdir -p "$STATE_DIRECTORY" "$CACHE_DIRECTORY"

log() { printf '# %s\n' "$*" >&2; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	dump_logs
	exit 1
}
dump_logs() {
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		printf -- '--- %s (last 40 lines)\n' "${f##*/}" >&2
		tail -n 40 "$f" >&2
	done
}

cleanup() {
	local rc=$?
	for p in "${SIM_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	if [ -n "$DFUD_PID" ] && kill -0 "$DFUD_PID" 2>/dev/null; then
		kill -TERM "$DFUD_PID"
		if ! wait "$DFUD_PID"; then
			echo "FAIL: dfud did not exit cleanly on SIGTERM" >&2
			dump_logs
			rc=1
		fi
	fi
	for p in "${SIM_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -n "$BUS_PID" ] && kill -TERM "$BUS_PID" 2>/dev/null || true
	if [ $rc -eq 0 ]; then rm -rf "$T"; else echo "# kept $T" >&2; fi
	exit $rc
}
trap cleanup EXIT

# A configuration with short timeouts so that fault tests stay quick.
write_config() {
	cat >"$DFUD_CONFIG" <<CONF
[daemon]
MaxParallelJobs=4
MaxAttempts=${MAX_ATTEMPTS:-3}
RetryDelaySec=0.2
[smp]
ResponseTimeoutSec=${RESPONSE_TIMEOUT:-1}
FirstChunkTimeoutSec=${FIRST_TIMEOUT:-5}
Retries=${SMP_RETRIES:-2}
ResetTimeoutSec=${RESET_TIMEOUT:-10}
CONF
}

start_bus() {
	dbus-daemon --session --nofork --nopidfile --print-address=3 3>"$T/bus-address" >"$T/bus.log" 2>&1 &
	BUS_PID=$!
	for _ in $(seq 100); do
		[ -s "$T/bus-address" ] && break
		sleep 0.05
	done
	[ -s "$T/bus-address" ] || fail "dbus-daemon did not start"
	DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$T/bus-address")
	export DBUS_SESSION_BUS_ADDRESS
}

start_dfud() {
	[ -f "$DFUD_CONFIG" ] || write_config
	# DFUD_WRAPPER runs the daemon under a tool, e.g. "valgrind --leak-check=full --error-exitcode=1"
	${DFUD_WRAPPER:-} "$DFUD" --verbose >>"$T/dfud.log" 2>&1 &
	DFUD_PID=$!
	for _ in $(seq 600); do
		if "$DFUCTL" list >/dev/null 2>&1; then return 0; fi
		kill -0 "$DFUD_PID" 2>/dev/null || fail "dfud exited during start-up"
		sleep 0.05
	done
	fail "dfud did not appear on the bus"
}

stop_dfud() {
	kill -TERM "$DFUD_PID"
	wait "$DFUD_PID" || fail "dfud did not exit cleanly on SIGTERM"
	DFUD_PID=
}

kill9_dfud() {
	kill -KILL "$DFUD_PID"
	wait "$DFUD_PID" 2>/dev/null || true
	DFUD_PID=
}

# start_sim NAME [dfu-sim options...]: a simulated device linked at $T/NAME
start_sim() {
	local name=$1
	shift
	local fifo=$T/$name.ready
	mkfifo "$fifo"
	"$DFU_SIM" --link "$T/$name" --state-file "$T/$name.json" "$@" >"$fifo" 2>>"$T/$name.log" &
	SIM_PIDS+=($!)
	local line
	read -r -t 10 line <"$fifo" || fail "simulator $name did not start"
	[ "$line" = "READY $T/$name" ] || fail "simulator $name said '$line'"
	rm -f "$fifo"
}

# sim_state NAME JQ-FILTER: reads the simulated device's state file
sim_state() {
	jq -r "$2" "$T/$1.json"
}

mkimage() {
	"$MKIMAGE" image "$@"
}

dfuctl() {
	"$DFUCTL" "$@"
}

# expect_exit CODE CMD...: runs CMD, checks its exit status, keeps its output in $OUT
expect_exit() {
	local want=$1
	shift
	local rc=0
	OUT=$("$@" 2>&1) || rc=$?
	printf '%s\n' "$OUT" >>"$T/dfuctl.log"
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want; output: $OUT"
}

# wait_for SECONDS DESCRIPTION CMD...: polls until CMD succeeds
wait_for() {
	local secs=$1 what=$2
	shift 2
	local n=$((secs * 20))
	for _ in $(seq "$n"); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.05
	done
	fail "timed out waiting for $what"
}

start_bus

# job_prop JOB PROPERTY: one property of a job, as dfuctl status --json shows it
job_prop() {
	"$DFUCTL" status --json "$1" | jq -r ".$2"
}

# expect_job JOB STATE STATUS-NAME
expect_job() {
	local state name
	state=$(job_prop "$1" State)
	name=$(job_prop "$1" StatusName)
	[ "$state" = "$2" ] && [ "$name" = "$3" ] ||
		fail "job $1 is $state/$name, expected $2/$3 ($(job_prop "$1" Message))"
}

# the device's primary slot of image 0: "version confirmed-flag"
primary_of() {
	sim_state "$1" '.images[0].slots[] | select(.slot == 0) | "\(.version) \(.confirmed)"'
}

# ---- BLE: dfu-sim-ble plays bluetoothd on the private bus ----
DFU_SIM_BLE=$DFUD_BUILD_ROOT/tests/sim/ble/dfu-sim-ble

# use_ble_bus: dfud talks to org.bluez on the "system" bus; make that the private bus
use_ble_bus() {
	export DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS
}

# ble_config [KEY=VALUE...]: the test configuration plus a [ble] section
ble_config() {
	write_config
	sed -i "s/^MaxParallelJobs=.*/MaxParallelJobs=${MAX_PARALLEL:-4}/" "$DFUD_CONFIG"
	printf '[ble]\n' >>"$DFUD_CONFIG"
	for kv in "$@"; do printf '%s\n' "$kv" >>"$DFUD_CONFIG"; done
}

# start_ble_sim NAME [dfu-sim-ble options...]: owns org.bluez; log in $T/NAME.log, states in $T/NAME/
start_ble_sim() {
	local name=$1
	shift
	local fifo=$T/$name.ready
	mkdir -p "$T/$name"
	mkfifo "$fifo"
	"$DFU_SIM_BLE" --bus "$DBUS_SESSION_BUS_ADDRESS" --state-dir "$T/$name" --verbose "$@" \
		>"$fifo" 2>>"$T/$name.log" &
	SIM_PIDS+=($!)
	BLE_SIM_PID=$!
	local line
	read -r -t 10 line <"$fifo" || fail "BLE simulator $name did not start"
	[ "$line" = "READY" ] || fail "BLE simulator $name said '$line'"
	rm -f "$fifo"
}

# stop_ble_sim: ends the last BLE simulator (its name leaves the bus with it)
stop_ble_sim() {
	kill -TERM "$BLE_SIM_PID"
	wait "$BLE_SIM_PID" 2>/dev/null || true
}

# ble_state NAME ADDRESS JQ-FILTER: one simulated BLE device's state
ble_state() {
	jq -r "$3" "$T/$1/${2//:/}.json"
}

# ble_primary NAME ADDRESS: "version confirmed-flag" of the primary slot of image 0
ble_primary() {
	ble_state "$1" "$2" '.images[0].slots[] | select(.slot == 0) | "\(.version) \(.confirmed)"'
}

# ble_max_connected NAME: the most devices connected at once, from the simulator's log
ble_max_connected() {
	awk '/: connected$/ { n++; if (n > m) m = n } /: disconnected$/ { n-- } END { print m + 0 }' "$T/$1.log"
}
