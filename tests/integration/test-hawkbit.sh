#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A rollout from the hawkBit test server to 20 simulated nodes behind one
# gateway: dfud-hawkbit turns each action into a dfud job, the artifact is
# downloaded once for all, each target ends FINISHED or (one node) ERROR with
# dfud's status code and hint, and each target has its node's facts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hawkbit-lib.sh"

start_gateway "[daemon]
MaxParallelJobs=8"

nodes=()
AGENT_CONFIG=
for i in $(seq -w 1 20); do
	name=n$i
	nodes+=("$name")
	if [ "$i" = 07 ]; then
		start_sim "$name" --baud 0 --boot-rejects
	else
		start_sim "$name" --baud 0
	fi
	AGENT_CONFIG+="[Node $name]
Target=serial:$T/$name
"
done
AGENT_CONFIG="StartJitterSec=1
ProgressIntervalSec=0.5
$AGENT_CONFIG" write_agent_config
start_agent

# every node becomes a target with its facts once it polled
wait_for 20 "20 targets with their facts" bash -c \
	"[ \$(curl -sf $DDI_URL/_control/state | jq '[.targets[] | select(.attributes.node != null)] | length') = 20 ]"
[ "$(ddi_state '.targets["gw1-n03"].attributes | "\(.gateway) \(.node) \(.transport)"')" = "gw1 n03 serial" ] ||
	fail "facts of gw1-n03: $(ddi_state '.targets["gw1-n03"].attributes')"

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
		[ "$(primary_of "$name")" = "1.2.0 true" ] || fail "$name runs $(primary_of "$name")"
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

# after the rollout the targets keep polling and nothing runs twice
sleep 2
[ "$(dfuctl list --all --json | jq -s length)" = 20 ] || fail "an action ran twice"
grep -q "deploymentBase/.*feedback 410" "$T/ddi.log" && fail "feedback sent to a closed action"
stop_agent
log "ok"
