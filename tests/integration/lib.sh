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
# removed at exit unless the script failed or KEEP_T=1; a campaign points T
# at a directory of its own for each run
T_ROOT=$T
declare -a SIM_PIDS=()
DFUD_PID=
BUS_PID=
export DFUD_BUS=session
export STATE_DIRECTORY=$T/state
export CACHE_DIRECTORY=$T/cache
export DFUD_CONFIG=$T/dfud.conf
# the daemon's job events, in the journal's export format
export DFUD_JOURNAL_EXPORT=$T/journal.export
mkdir -p "$STATE_DIRECTORY" "$CACHE_DIRECTORY"

log() { printf '# %s\n' "$*" >&2; }
# FAIL_CONTEXT, when set, says where the failure happened (e.g. which run)
fail() {
	printf 'FAIL: %s%s\n' "${FAIL_CONTEXT:+$FAIL_CONTEXT: }" "$*" >&2
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
	stop_sims
	[ -n "$BUS_PID" ] && kill -TERM "$BUS_PID" 2>/dev/null || true
	if [ $rc -eq 0 ] && [ "${KEEP_T:-0}" != 1 ]; then rm -rf "$T_ROOT"; else echo "# kept $T_ROOT" >&2; fi
	exit $rc
}

# stop_sims: ends the simulators and servers started so far and forgets them
stop_sims() {
	local p
	for p in "${SIM_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${SIM_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	SIM_PIDS=()
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
${EXTRA_CONFIG:-}
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
	# the daemon answers while it loads its stored jobs; tests expect them read, but for the
	# start-up test, which holds the loading with its gate
	for _ in $(seq 600); do
		if "$DFUCTL" list >/dev/null 2>&1 &&
			{ [ -n "${DFUD_TEST_LOAD_GATE:-}" ] || [ "$(manager_prop Loading)" = "b false" ]; }; then
			return 0
		fi
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

# end_dfud SECONDS: SIGTERM, and SIGKILL when dfud is still there after
# SECONDS; fails unless dfud exited cleanly on SIGTERM (sanitizer reports count)
end_dfud() {
	local pid=$DFUD_PID rc=0
	DFUD_PID=
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq $(($1 * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null && rc=1
	wait "$pid" 2>/dev/null || rc=1
	return $rc
}

# use_run_dir DIR: the next daemon, its state and configuration, simulators
# and logs live in DIR (a campaign's run); cleanup still removes T_ROOT
use_run_dir() {
	T=$1
	export STATE_DIRECTORY=$T/state CACHE_DIRECTORY=$T/cache DFUD_CONFIG=$T/dfud.conf
	export DFUD_JOURNAL_EXPORT=$T/journal.export
	mkdir -p "$STATE_DIRECTORY" "$CACHE_DIRECTORY"
}

# run_sim NAME READY-LINE CMD...: starts a simulator and waits for the line
# that says it is ready; its pid in $SIM_PID, its log in $T/NAME.log
run_sim() {
	local name=$1 ready=$2
	shift 2
	local fifo=$T/$name.ready
	mkfifo "$fifo"
	"$@" >"$fifo" 2>>"$T/$name.log" &
	SIM_PIDS+=($!)
	SIM_PID=$!
	local line
	read -r -t 10 line <"$fifo" || fail "simulator $name did not start"
	[ "$line" = "$ready" ] || fail "simulator $name said '$line'"
	rm -f "$fifo"
}

# pc_nrf_dfu_js: Nordic's pc-nrf-dfu-js from npm, installed into the build tree
# once; sets NRFDFU_JS (the command that runs nrfdfu-js-client.js with it) or
# NRFDFU_JS_MISSING (why it cannot run) and returns 1
pc_nrf_dfu_js() {
	local dir=$DFUD_BUILD_ROOT/npm-cache/pc-nrf-dfu-js
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		NRFDFU_JS_MISSING="node or npm is not installed"
		return 1
	fi
	if [ ! -f "$dir/node_modules/pc-nrf-dfu-js/package.json" ] || [ ! -f "$dir/node_modules/debug/package.json" ]; then
		mkdir -p "$dir"
		# serialport is a peer dependency the pty stand-in replaces
		if ! (cd "$dir" && npm install --no-save --no-audit --no-fund --legacy-peer-deps \
			pc-nrf-dfu-js@0.2.12 debug@4 >"$T/npm.log" 2>&1); then
			NRFDFU_JS_MISSING="pc-nrf-dfu-js could not be installed from npm ($(tail -n1 "$T/npm.log"))"
			return 1
		fi
	fi
	# pc-nrf-dfu-js loads serialport for its USB transport, unused here: the pty
	# stand-in of nrfdfu-js-client.js carries the bytes, so a stub spares the
	# native build
	mkdir -p "$T/stub/serialport"
	echo 'module.exports = function SerialPort() { throw new Error("serialport stub: not for use"); };' \
		>"$T/stub/serialport/index.js"
	NRFDFU_JS=(env "NODE_PATH=$dir/node_modules:$T/stub" node "$DFUD_SOURCE_ROOT/tests/integration/nrfdfu-js-client.js")
}

# start_sim NAME [dfu-sim options...]: a simulated device linked at $T/NAME
start_sim() {
	local name=$1
	shift
	run_sim "$name" "READY $T/$name" "$DFU_SIM" --link "$T/$name" --state-file "$T/$name.json" "$@"
}

# free_udp_port HOST: a UDP port free on HOST (127.0.0.1 or ::1); fails when HOST cannot be bound
free_udp_port() {
	python3 -c 'import socket, sys
f = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(f, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])' "$1" 2>/dev/null
}

# start_udp_sim NAME HOST:PORT [dfu-sim options...]: a simulated device serving SMP over UDP
start_udp_sim() {
	local name=$1 address=$2
	shift 2
	run_sim "$name" "READY $address" "$DFU_SIM" --udp "$address" --state-file "$T/$name.json" "$@"
}

# store_jobs FIRST LAST STATE TARGET [BUNDLE]: job files with ids FIRST..LAST
# in $STATE_DIRECTORY as a daemon leaves them, either queued (waiting for
# TARGET with BUNDLE, a cached bundle) or succeeded; next-id follows LAST
store_jobs() {
	local first=$1 last=$2 state=$3 target=$4 bundle=${5:-} now id dir=$STATE_DIRECTORY/jobs
	now=$(date +%s%6N)
	mkdir -p "$dir"
	for ((id = first; id <= last; id++)); do
		if [ "$state" = queued ]; then
			printf '{"id":%d,"target":"%s","source":"stored","bundle-path":"%s","options":{},"state":"queued","phase":"waiting","created":%d,"history":["%d\tsubmitted"]}\n' \
				"$id" "$target" "$bundle" "$now" "$now" >"$dir/$id.json"
		else
			printf '{"id":%d,"target":"%s","source":"stored","options":{},"state":"succeeded","phase":"done","status-code":1,"created":%d,"started":%d,"finished":%d,"history":["%d\tsubmitted","%d\tfinished: success"]}\n' \
				"$id" "$target" "$now" "$now" "$now" "$now" "$now" >"$dir/$id.json"
		fi
	done
	echo $((last + 1)) >"$STATE_DIRECTORY/next-id"
}

# cache_bundle FILE: puts FILE in the daemon's bundle cache as an import would; prints its path
cache_bundle() {
	local path
	path=$CACHE_DIRECTORY/bundles/$(sha256sum "$1" | cut -d' ' -f1).bundle
	mkdir -p "$CACHE_DIRECTORY/bundles"
	cp "$1" "$path"
	echo "$path"
}

# manager_prop PROPERTY: a property of org.dfud1.Manager, as busctl prints it ("b true")
manager_prop() {
	busctl --address="$DBUS_SESSION_BUS_ADDRESS" get-property org.dfud1 /org/dfud1 org.dfud1.Manager "$1"
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

# start_job WANT-EXIT DFUCTL-START-ARGS...: starts the next job, whose number is then $n
n=0
start_job() {
	local want=$1
	shift
	n=$((n + 1))
	expect_exit "$want" dfuctl start "$@"
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

# journal [FIELD=VALUE...]: the daemon's journal entries that have all these fields, one JSON object a line
journal() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/journal-export.py" "$DFUD_JOURNAL_EXPORT" "$@"
}

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

# dev_prop DEVICE JQ-FILTER: one device of the inventory, as dfuctl info --json shows it
dev_prop() {
	"$DFUCTL" info --json "$1" | jq -r "$2"
}

# running_version DEVICE: what the inventory says image 0 of the device runs
running_version() {
	dev_prop "$1" '.Images[] | select(.image == 0) | select(.flags | index("active")) | .version'
}

# the device's primary slot of image 0: "version confirmed-flag"
primary_of() {
	sim_state "$1" '.images[0].slots[] | select(.slot == 0) | "\(.version) \(.confirmed)"'
}

# --- bundles from URLs: servers on loopback, with a CA made here -------------

# loopback servers must not be reached through a proxy from the environment
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
WWW=$T/www
mkdir -p "$WWW"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_ca: a throw-away CA and a certificate for 127.0.0.1 in $T/tls
make_ca() {
	local d=$T/tls
	mkdir -p "$d"
	echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/ext.cnf"
	(
		cd "$d"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.pem -days 1 -subj /CN=dfud-test-ca
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout server.key -out server.csr -subj /CN=localhost
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out server.pem -days 1 -extfile ext.cnf
	) >"$T/openssl.log" 2>&1 || fail "openssl could not make the test CA"
	CA_FILE=$d/ca.pem
}

wait_for_port() {
	local port=$1
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	fail "nothing listens on port $port"
}

# start_lighttpd [EXTRA-CONF-LINES]: serves $WWW over https at $HTTPS_URL,
# logging requests to $T/lighttpd-access.log (complete once stopped)
start_lighttpd() {
	[ -n "${CA_FILE:-}" ] || make_ca
	local port
	port=$(free_port)
	cat >"$T/lighttpd.conf" <<CONF
server.document-root = "$WWW"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$T/lighttpd-error.log"
server.modules = ("mod_accesslog", "mod_openssl")
accesslog.filename = "$T/lighttpd-access.log"
ssl.engine = "enable"
ssl.pemfile = "$T/tls/server.pem"
ssl.privkey = "$T/tls/server.key"
# its bandwidth limit stalls multiplexed HTTP/2 streams
server.feature-flags = ("server.h2proto" => "disable")
${1:-}
CONF
	lighttpd -D -f "$T/lighttpd.conf" >>"$T/lighttpd-error.log" 2>&1 &
	LIGHTTPD_PID=$!
	SIM_PIDS+=("$LIGHTTPD_PID")
	wait_for_port "$port"
	HTTPS_URL=https://127.0.0.1:$port
}

stop_lighttpd() {
	kill -TERM "$LIGHTTPD_PID" 2>/dev/null || true
	wait "$LIGHTTPD_PID" 2>/dev/null || true
}

# lighttpd_count TEXT: access log lines holding TEXT (stop the server first)
lighttpd_count() {
	grep -cF -- "$1" "$T/lighttpd-access.log" || true
}

# A scripted server for what lighttpd will not do; each request is logged to
# $T/pyhttpd.log as "GET <path> <status> range=<Range header or ->".
write_pyhttpd() {
	cat >"$T/pyhttpd.py" <<'PY'
import argparse, http.server, os, socket, ssl, threading, time
p = argparse.ArgumentParser()
p.add_argument("--root", required=True)
p.add_argument("--log", required=True)
p.add_argument("--port-file", required=True)
p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
p.add_argument("--no-range", action="store_true", help="ignore Range headers")
p.add_argument("--status", type=int, default=0, help="answer every request with this status")
p.add_argument("--cut", type=int, default=0,
               help="hang up after this many body bytes, first GET to the end of the file only")
p.add_argument("--rate", type=int, default=0, help="bytes per second")
a = p.parse_args()
lock = threading.Lock()
cut_paths = set()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status):
        with lock, open(a.log, "a") as f:
            f.write("GET %s %d range=%s\n" % (self.path, status, self.headers.get("Range") or "-"))

    def empty(self, status, extra=()):
        self.record(status)
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = os.path.join(a.root, self.path.split("?")[0].lstrip("/"))
        if a.status:
            return self.empty(a.status)
        if not os.path.isfile(path):
            return self.empty(404)
        with open(path, "rb") as f:
            data = f.read()
        start, end, status = 0, len(data) - 1, 200
        rng = self.headers.get("Range")
        if rng and not a.no_range and rng.startswith("bytes="):
            first, last = rng[6:].split("-")
            start = int(first)
            if last:
                end = min(int(last), end)
            if start >= len(data):
                return self.empty(416, [("Content-Range", "bytes */%d" % len(data))])
            status = 206
        body = data[start:end + 1]
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
        if not a.no_range:
            self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        limit = len(body)
        with lock:
            if a.cut and end == len(data) - 1 and self.path not in cut_paths:
                cut_paths.add(self.path)
                limit = min(a.cut, limit)
        sent = 0
        try:
            while sent < limit:
                n = min(1024 if a.rate else 65536, limit - sent)
                self.wfile.write(body[sent:sent + n])
                self.wfile.flush()
                sent += n
                if a.rate:
                    time.sleep(n / a.rate)
            if limit < len(body):
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
        except OSError:
            self.close_connection = True

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if a.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*a.tls)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(a.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(a.port_file + ".tmp", a.port_file)
server.serve_forever()
PY
}

# start_pyhttpd [pyhttpd options...]: serves $WWW over https at $PY_URL
# (over plain http when PYHTTPD_PLAIN=1)
start_pyhttpd() {
	[ -n "${CA_FILE:-}" ] || make_ca
	[ -f "$T/pyhttpd.py" ] || write_pyhttpd
	rm -f "$T/pyhttpd.port" "$T/pyhttpd.log"
	touch "$T/pyhttpd.log"
	local scheme=https
	local -a tls=(--tls "$T/tls/server.pem" "$T/tls/server.key")
	if [ "${PYHTTPD_PLAIN:-0}" = 1 ]; then
		scheme=http
		tls=()
	fi
	python3 "$T/pyhttpd.py" --root "$WWW" --log "$T/pyhttpd.log" --port-file "$T/pyhttpd.port" \
		"${tls[@]}" "$@" 2>>"$T/pyhttpd-error.log" &
	PYHTTPD_PID=$!
	SIM_PIDS+=("$PYHTTPD_PID")
	for _ in $(seq 200); do
		[ -s "$T/pyhttpd.port" ] && break
		sleep 0.05
	done
	[ -s "$T/pyhttpd.port" ] || fail "the python server did not start"
	PY_URL=$scheme://127.0.0.1:$(cat "$T/pyhttpd.port")
}

stop_pyhttpd() {
	kill -TERM "$PYHTTPD_PID" 2>/dev/null || true
	wait "$PYHTTPD_PID" 2>/dev/null || true
}

# pyhttpd_count TEXT: requests logged with TEXT
pyhttpd_count() {
	grep -cF -- "$1" "$T/pyhttpd.log" || true
}

# deep_manifest_zip FILE: a dfu_application.zip whose manifest.json nests 200000
# arrays, a few hundred bytes deflated; a recursive JSON parser runs out of stack on it
deep_manifest_zip() {
	python3 - "$1" <<'PY' || fail "cannot write $1"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("manifest.json", "[" * 200000)
PY
}

# dfud_alive: the daemon still runs and answers on the bus
dfud_alive() {
	kill -0 "$DFUD_PID" 2>/dev/null || fail "dfud died"
	"$DFUCTL" list >/dev/null || fail "dfud does not answer"
}

# job_state_is JOB STATE
job_state_is() {
	[ "$(job_prop "$1" State)" = "$2" ]
}

# wait_job_done SECONDS JOB: until the job has finished, whatever the outcome
wait_job_done() {
	wait_for "$1" "job $2 to finish" bash -c \
		"s=\$($DFUCTL status --json $2 | jq -r .State); [ \"\$s\" != queued ] && [ \"\$s\" != running ]"
}

# submit TARGET BUNDLE [dfuctl start options...]: starts a job without waiting, prints its number
submit() {
	local target=$1 bundle=$2 path
	shift 2
	path=$("$DFUCTL" start --no-wait "$@" "$target" "$bundle") || fail "cannot submit $bundle"
	echo "${path##*/}"
}

sha256_of() {
	sha256sum <"$1" | cut -d' ' -f1
}

# ---- nRF91 modules: dfu-sim-at on a pty ----
DFU_SIM_AT=$DFUD_BUILD_ROOT/tests/sim/dfu-sim-at

# start_at_modem NAME [dfu-sim-at options...]: a simulated module linked at $T/NAME that boots
# in 100 ms, its state in $T/NAME.json
start_at_modem() {
	local name=$1
	shift
	run_sim "$name" "READY $T/$name" "$DFU_SIM_AT" --link "$T/$name" --state-file "$T/$name.json" \
		--baud 0 --boot-ms 100 "$@"
}

# write_atfota_config STALL_SEC: the test configuration, what EXTRA_CONFIG holds, and short
# AT#XFOTA timeouts with a download that stalls for STALL_SEC taken as stalled
write_atfota_config() {
	EXTRA_CONFIG="${EXTRA_CONFIG:-}
[atfota]
CommandTimeoutSec=2
ReadyTimeoutSec=0.5
StallTimeoutSec=$1
ResetTimeoutSec=5
ResultTimeoutSec=5"
	write_config
}

# expect_modem NAME KEY VALUE: one field of the simulated module's state
expect_modem() {
	[ "$(sim_state "$1" ".$2")" = "$3" ] || fail "module $1 has $2 $(sim_state "$1" ".$2"), expected $3"
}

# ---- nRF5 SDK for Mesh: dfu-sim-mesh on a pty, its mesh 100 times faster ----
DFU_SIM_MESH=$DFUD_BUILD_ROOT/tests/sim/dfu-sim-mesh

# start_mesh NAME [dfu-sim-mesh options...]: a simulated mesh whose serial node is linked at $T/NAME
start_mesh() {
	local name=$1
	shift
	run_sim "$name" "READY $T/$name" "$DFU_SIM_MESH" --link "$T/$name" --state-file "$T/$name.json" \
		--baud 0 --time-scale 100 --beacon-ms 50 "$@"
}

# expect_all_updated NAME: every node of mesh NAME runs version 2 soon (remote nodes validate first)
expect_all_updated() {
	wait_for 5 "every node of $1 to run version 2" bash -c \
		"[ \"\$(jq '[.serial, .remote[]] | map(.version) | unique' -c $T/$1.json)\" = '[2]' ]"
}

# timings for that mesh; NodeTimeoutSec is its 600 s data timeout, scaled as the simulator scales it
MESH_CONFIG="[meshdfu]
IntervalSec=0.01
AckTimeoutSec=0.2
Tries=5
StateWaitSec=0.05
EraseTimePerPageSec=0.002
FirmwareIdTimeoutSec=2
TailQuietSec=0.6
EndTimeoutSec=10
NodeTimeoutSec=6"

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
	mkdir -p "$T/$name"
	run_sim "$name" READY "$DFU_SIM_BLE" --bus "$DBUS_SESSION_BUS_ADDRESS" --state-dir "$T/$name" --verbose "$@"
	BLE_SIM_PID=$SIM_PID
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

# make_client_cert: a client certificate signed by the test CA, for mutual
# TLS, in $CLIENT_CERT and $CLIENT_KEY
make_client_cert() {
	[ -n "${CA_FILE:-}" ] || make_ca
	local d=$T/tls
	echo "extendedKeyUsage=clientAuth" >"$d/client-ext.cnf"
	(
		cd "$d"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout client.key -out client.csr -subj /CN=dfud-gateway
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out client.pem -days 1 -extfile client-ext.cnf
	) >>"$T/openssl.log" 2>&1 || fail "openssl could not make the client certificate"
	CLIENT_CERT=$d/client.pem
	CLIENT_KEY=$d/client.key
}

# A forward proxy that only tunnels (CONNECT); each request is logged to
# $T/proxy.log as its request line and then the names of its headers.
write_proxy() {
	cat >"$T/proxy.py" <<'PY'
import argparse, os, select, socket, socketserver
p = argparse.ArgumentParser()
p.add_argument("--log", required=True)
p.add_argument("--port-file", required=True)
a = p.parse_args()

class Handler(socketserver.StreamRequestHandler):
    rbufsize = 0  # nothing of the tunnelled stream may stay in a buffer here

    def handle(self):
        request = self.rfile.readline(8192).decode("latin-1").strip()
        names = []
        while True:
            line = self.rfile.readline(8192)
            if line.strip() == b"":
                break
            names.append(line.decode("latin-1").split(":", 1)[0].strip())
        with open(a.log, "a") as f:
            f.write("%s headers=%s\n" % (request, ",".join(names) or "-"))
        parts = request.split()
        if len(parts) != 3 or parts[0] != "CONNECT" or ":" not in parts[1]:
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = parts[1].rsplit(":", 1)
        try:
            upstream = socket.create_connection((host, int(port)), timeout=5)
        except (OSError, ValueError):
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        ends = [self.connection, upstream]
        with upstream:
            while True:
                readable, _, _ = select.select(ends, [], [], 30)
                if not readable:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.connection else self.connection).sendall(data)

socketserver.ThreadingTCPServer.daemon_threads = True
server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
with open(a.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(a.port_file + ".tmp", a.port_file)
server.serve_forever()
PY
}

# start_proxy: the tunnelling proxy at $PROXY_URL
start_proxy() {
	[ -f "$T/proxy.py" ] || write_proxy
	rm -f "$T/proxy.port"
	touch "$T/proxy.log"
	python3 "$T/proxy.py" --log "$T/proxy.log" --port-file "$T/proxy.port" 2>>"$T/proxy-error.log" &
	PROXY_PID=$!
	SIM_PIDS+=("$PROXY_PID")
	for _ in $(seq 200); do
		[ -s "$T/proxy.port" ] && break
		sleep 0.05
	done
	[ -s "$T/proxy.port" ] || fail "the proxy did not start"
	PROXY_URL=http://127.0.0.1:$(cat "$T/proxy.port")
}

# proxy_count TEXT: proxy requests logged with TEXT
proxy_count() {
	grep -cF -- "$1" "$T/proxy.log" || true
}
