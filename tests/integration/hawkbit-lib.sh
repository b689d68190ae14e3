# SPDX-License-Identifier: LGPL-2.1-or-later
# hawkBit DDI test server and the dfud-hawkbit agent, for tests that sourced lib.sh.
DDI_SERVER=${DFUD_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/integration/hawkbit-ddi-server.py
DFUD_HAWKBIT=$DFUD_BUILD_ROOT/hawkbit/dfud-hawkbit
AGENT_PID=
# curl options for the server's control side (a CA and a client certificate with TLS)
DDI_CURL=()

# start_ddi_server [server options...]: the DDI server at $DDI_URL, requests logged in $T/ddi.log
start_ddi_server() {
	rm -f "$T/ddi.port"
	python3 "$DDI_SERVER" --port-file "$T/ddi.port" --log "$T/ddi.log" "$@" 2>>"$T/ddi-error.log" &
	DDI_PID=$!
	SIM_PIDS+=("$DDI_PID")
	for _ in $(seq 200); do
		[ -s "$T/ddi.port" ] && break
		sleep 0.05
	done
	[ -s "$T/ddi.port" ] || fail "the DDI server did not start"
	DDI_PORT=$(cat "$T/ddi.port")
	DDI_URL=${DDI_SCHEME:-http}://127.0.0.1:$DDI_PORT
}

# start_gateway [dfud.conf lines]: the DDI server (gateway token "gwtoken", 1 s
# polling) and dfud, which downloads artifacts with that token
start_gateway() {
	start_ddi_server --gateway-token gwtoken --sleep 00:00:01
	EXTRA_CONFIG="${1:-}
[http]
AllowPlainHttp=true
Headers=Authorization: GatewayToken gwtoken" write_config
	start_dfud
}

# ddi_ctl METHOD PATH [JSON]: a request to the server's control side
ddi_ctl() {
	curl -sf "${DDI_CURL[@]}" -X "$1" "$DDI_URL/_control/$2" ${3:+-d "$3"} || fail "control request $1 $2 failed"
}

# ddi_state JQ-FILTER: reads the server's state
ddi_state() {
	curl -sf "${DDI_CURL[@]}" "$DDI_URL/_control/state" | jq -r "$1"
}

# ddi_action_status ID: the server's status of an action (RUNNING, FINISHED, ERROR, CANCELED, ...)
ddi_action_status() {
	ddi_state ".actions[\"$1\"].status"
}

# ddi_create FILE TARGET... : one action per target for FILE; their ids in $ACTIONS
ddi_create() {
	local file=$1
	shift
	local list
	list=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
	ACTIONS=$(ddi_ctl POST actions "{\"targets\": $list, \"file\": \"$file\"${DDI_ACTION_EXTRA:-}}" | jq -r '.actions[]')
}

# write_agent_config: the agent's configuration in $T/$AGENT.conf from $AGENT_CONFIG lines
write_agent_config() {
	cat >"$T/${AGENT:-hawkbit}.conf" <<CONF
[hawkbit]
Url=$DDI_URL
Tenant=DEFAULT
GatewayId=${GATEWAY_ID:-gw1}
GatewayToken=${GATEWAY_TOKEN:-gwtoken}
AllowPlainHttp=${AGENT_PLAIN_HTTP:-true}
DfudConfig=${AGENT_DFUD_CONFIG:-$DFUD_CONFIG}
MinSleepSec=0.2
${AGENT_CONFIG:-}
CONF
}

# start_agent [options...]: dfud-hawkbit with $T/$AGENT.conf (AGENT defaults to hawkbit),
# its state in $T/$AGENT-state, its log in $T/$AGENT.log, its pid in $AGENT_PID
start_agent() {
	local name=${AGENT:-hawkbit}
	[ -f "$T/$name.conf" ] || write_agent_config
	mkdir -p "$T/$name-state"
	${DFUD_WRAPPER:-} "$DFUD_HAWKBIT" --config "$T/$name.conf" --state-dir "$T/$name-state" --verbose "$@" \
		>>"$T/$name.log" 2>&1 &
	AGENT_PID=$!
	SIM_PIDS+=("$AGENT_PID")
}

# stop_agent [PID]: SIGTERM; fails unless the agent exits cleanly
stop_agent() {
	local pid=${1:-$AGENT_PID}
	kill -TERM "$pid"
	wait "$pid" || fail "dfud-hawkbit did not exit cleanly on SIGTERM"
}

kill9_agent() {
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
}
