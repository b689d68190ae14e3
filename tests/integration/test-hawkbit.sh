#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A rollout from the hawkBit test server to 20 simulated nodes behind one
# gateway (15 on serial ports, 5 over Bluetooth LE): dfud-hawkbit turns each action into a dfud job, the artifact is
# downloaded once for all, each target ends FINISHED or (one node) ERROR with
# dfud's status code and hint, and each target has its node's facts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hawkbit-lib.sh"

use_ble_bus
start_gateway "[daemon]
MaxParallelJobs=8
[ble]
ConnectTimeoutSec=5
DiscoveryTimeoutSec=5"

nodes=()
AGENT_CONFIG=
declare -A ble=()
ble_devices=()
for i in $(seq -w 1 20); do
	name=n$i
	nodes+=("$name")
	if [ "$i" -gt 15 ]; then
		ble[$name]=C4:12:34:56:78:$i
		ble_devices+=(--device "${ble[$name]}")
		AGENT_CONFIG+="[Node $name]
Target=ble:${ble[$name]}
"
		continue
	fi
	if [ "$i" = 07 ]; then
		start_sim "$name" --baud 0 --boot-rejects
	else
		start_sim "$name" --baud 0
	fi
	AGENT_CONFIG+="[Node $name]
Target=serial:$T/$name
"
done
start_ble_sim radio "${ble_devices[@]}" --swap-ms 200
# 20 nodes polling every second want more than the agent may send
AGENT_CONFIG="StartJitterSec=1
MaxRequestRate=15
ProgressIntervalSec=0.5
$AGENT_CONFIG" write_agent_config
start_agent

# node_runs NAME: "version confirmed-flag" of its primary slot, serial or BLE
node_runs() {
	if [ -n "${ble[$1]:-}" ]; then ble_primary radio "${ble[$1]}"; else primary_of "$1"; fi
}

# every node becomes a target with its facts once it polled
wait_for 20 "20 targets with their facts" bash -c \
	"[ \$(curl -sf $DDI_URL/_control/state | jq '[.targets[] | select(.attributes.node != null)] | length') = 20 ]"
[ "$(ddi_state '.targets["gw1-n03"].attributes | "\(.gateway) \(.node) \(.transport)"')" = "gw1 n03 serial" ] ||
	fail "facts of gw1-n03: $(ddi_state '.targets["gw1-n03"].attributes')"
[ "$(ddi_state '.targets["gw1-n18"].attributes.transport')" = ble ] || fail "facts of gw1-n18"

mkimage -o "$T/app.bin" --version 1.2.0 --size 6000 --seed 3
ddi_create "$T/app.bin" "${nodes[@]/#/gw1-}"
read -r -a ids <<<"$(echo $ACTIONS)"
[ ${#ids[@]} = 20 ] || fail "the server made ${#ids[@]} actions"

wait_for 120 "20 closed actions" bash -c \
	"[ \$(curl -sf $DDI_URL/_control/state | jq '[.actions[] | select(.active == false)] | length') = 20 ]"

for i in "${!nodes[@]}"; do
	name=${nodes[$i]}
	aid=${ids[$i]}
	status=$(ddi_action_status "$aid")
	last=$(ddi_state ".actions[\"$aid\"].feedback[-1]")
	if [ "$name" = n07 ]; then
		[ "$status" = ERROR ] || fail "$name's action is $status"
		[ "$(jq -r .code <<<"$last")" = 103 ] || fail "$name's code: $last"
		jq -e '.details[0] | startswith("rolled-back: ")' <<<"$last" >/dev/null || fail "$name's details: $last"
		jq -e '.details[1] | contains("MCUboot rejected")' <<<"$last" >/dev/null || fail "no hint: $last"
		[ "$(primary_of "$name")" = "1.0.0 true" ] || fail "$name runs $(primary_of "$name")"
	else
		[ "$status" = FINISHED ] || fail "$name's action is $status: $last"
		[ "$(jq -r '"\(.execution) \(.finished) \(.code)"' <<<"$last")" = "closed success 1" ] ||
			fail "$name's last feedback: $last"
		[ "$(node_runs "$name")" = "1.2.0 true" ] || fail "$name runs $(node_runs "$name")"
	fi
	ddi_state ".actions[\"$aid\"].feedback[] | select(.execution == \"proceeding\") | .details[0]" |
		grep -q "queued as a dfud job" || fail "$name: no proceeding feedback"
done

# one download for twenty nodes (dfud shares it by the server's SHA-256)
downloads=$(grep -c "softwaremodules/.*/artifacts/app.bin 200" "$T/ddi.log" || true)
[ "$downloads" = 1 ] || fail "the artifact was downloaded $downloads times"
# twenty jobs, each once
[ "$(dfuctl list --all --json | jq -s length)" = 20 ] || fail "not one job per node: $(dfuctl list --all --json | jq -s length)"

# the outcome reaches the targets' attributes too
wait_for 10 "the facts after the rollout" bash -c \
	"[ \"\$(curl -sf $DDI_URL/_control/state | jq -r '.targets[\"gw1-n07\"].attributes[\"last-status\"]')\" = rolled-back ]"
[ "$(ddi_state '.targets["gw1-n08"].attributes["last-status"]')" = success ] || fail "n08's facts"
# dfud's inventory of the device: its images after the update
wait_for 10 "n08's image in its facts" bash -c \
	"curl -sf $DDI_URL/_control/state | jq -e '.targets[\"gw1-n08\"].attributes | to_entries |
		map(select(.key | test(\"^image0[.]slot[01][.]version\$\"))) | map(.value) | index(\"1.2.0\")'"

# an update made with dfuctl beside the agent shows as the target's installedBase
mkimage -o "$T/local.bin" --version 1.3.0 --size 5000 --seed 4
expect_exit 0 dfuctl start "serial:$T/n03" "$T/local.bin"
wait_for 15 "n03's installedBase" bash -c \
	"[ \"\$(curl -sf $DDI_URL/_control/state | jq -c '.targets[\"gw1-n03\"].installed')\" = '{\"name\":\"local.bin\",\"version\":\"1.3.0\"}' ]"
[ "$(ddi_state '.targets["gw1-n08"].installed')" = null ] || fail "the agent's own update went to installedBase"

# the agent's requests (not dfud's downloads) stay under MaxRequestRate in every second (one
# more for the first of a burst, two for the server's own timing), and unchanged polls come
# back as 304
busiest=$(curl -sf "$DDI_URL/_control/requests" | jq '[.[] | select(.path | test("^/DEFAULT/") and
	(test("/softwaremodules/") | not)) | .t] as $t | [range(0; $t | length) as $i |
	[$t[$i:][] | select(. < $t[$i] + 1)] | length] | max')
[ "$busiest" -le 18 ] || fail "$busiest agent requests within one second"
grep -q "GET /DEFAULT/controller/v1/gw1-n[0-9]* 304 " "$T/ddi.log" || fail "no poll answered 304"

# after the rollout the targets keep polling and nothing runs twice
sleep 2
[ "$(dfuctl list --all --json | jq -s length)" = 21 ] || fail "an action ran twice"
grep -q "deploymentBase/.*feedback 410" "$T/ddi.log" && fail "feedback sent to a closed action"
stop_agent
log "ok"
