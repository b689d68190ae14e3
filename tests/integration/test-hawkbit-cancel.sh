#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dfud-hawkbit: a cancel from the server stops an upload, a cancel past the
# point of no return is rejected, a wrong SHA-256 from the server and an action
# with two artifacts fail with dfud's codes, a retried job is reported as such, and a
# refused token is retried.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hawkbit-lib.sh"

MAX_ATTEMPTS=20 start_gateway

start_sim slow --baud 115200
start_sim booting --baud 0 --boot-ms 4000
start_sim plain --baud 0
AGENT_CONFIG="StartJitterSec=0.2
BusySleepSec=0.3
ProgressIntervalSec=0.2
RetrySec=0.5
[Node slow]
Target=serial:$T/slow?baud=115200
[Node booting]
Target=serial:$T/booting
[Node plain]
Target=serial:$T/plain
[Node late]
Target=serial:$T/late
[Node locked]
Target=serial:$T/plain
TargetToken=0123456789abcdef0123456789abcdef" write_agent_config
start_agent

# feedback_has ACTION TEXT: some feedback of the action mentions TEXT
feedback_has() {
	ddi_state ".actions[\"$1\"].feedback[].details[]" | grep -q -- "$2"
}
action_is() {
	[ "$(ddi_action_status "$1")" = "$2" ]
}

log "a cancel from the server stops the upload"
mkimage -o "$T/big.bin" --version 1.1.0 --size 60000 --seed 1
ddi_create "$T/big.bin" gw1-slow
aid=$ACTIONS
wait_for 30 "the upload to slow" feedback_has "$aid" "uploading"
ddi_ctl POST "actions/$aid/cancel" >/dev/null
wait_for 20 "the cancel" action_is "$aid" CANCELED
[ "$(ddi_state ".actions[\"$aid\"].cancel_feedback[-1] | \"\(.execution) \(.finished)\"")" = "closed success" ] ||
	fail "cancel feedback: $(ddi_state ".actions[\"$aid\"].cancel_feedback")"
job=$(dfuctl list --all --json | jq -r 'select(.Source | startswith("hawkbit gw1-slow action")) | .Id')
[ "$(job_prop "$job" State)" = cancelled ] || fail "the job is $(job_prop "$job" State)"
[ "$(primary_of slow)" = "1.0.0 true" ] || fail "slow runs $(primary_of slow)"

log "a job cancelled on the gateway ends its action as failed with dfud's code"
ddi_create "$T/big.bin" gw1-slow
aid=$ACTIONS
wait_for 30 "the upload to slow" feedback_has "$aid" "uploading"
job=$(dfuctl list --json | jq -r 'select(.Source | startswith("hawkbit gw1-slow action '"$aid"':")) | .Id')
expect_exit 0 dfuctl abort "$job"
wait_for 20 "the end" action_is "$aid" ERROR
last=$(ddi_state ".actions[\"$aid\"].feedback[-1]")
[ "$(jq -r .code <<<"$last")" = 200 ] || fail "code: $last"
jq -e '.details[0] | contains("cancelled on the gateway")' <<<"$last" >/dev/null || fail "details: $last"

log "a cancel while the node boots the new image is rejected; the update completes"
mkimage -o "$T/small.bin" --version 1.2.0 --size 4000 --seed 2
ddi_create "$T/small.bin" gw1-booting
aid=$ACTIONS
job_in_phase() {
	dfuctl list --all --json | jq -e "select(.Source | startswith(\"hawkbit gw1-booting action $aid:\")) |
		select(.Phase == \"$1\")" >/dev/null
}
wait_for 30 "booting to reset" job_in_phase resetting
ddi_ctl POST "actions/$aid/cancel" >/dev/null
wait_for 20 "the rejected cancel and the end" action_is "$aid" FINISHED
[ "$(ddi_state ".actions[\"$aid\"].cancel_feedback[0].execution")" = rejected ] ||
	fail "cancel feedback: $(ddi_state ".actions[\"$aid\"].cancel_feedback")"
ddi_state ".actions[\"$aid\"].cancel_feedback[0].details[0]" | grep -q "resetting" || fail "no reason given"
[ "$(primary_of booting)" = "1.2.0 true" ] || fail "booting runs $(primary_of booting)"

log "a wrong SHA-256 from the server"
DDI_ACTION_EXTRA=', "sha256": "'$(printf '%064d' 0)'"' ddi_create "$T/small.bin" gw1-plain
aid=$ACTIONS
wait_for 20 "the failure" action_is "$aid" ERROR
last=$(ddi_state ".actions[\"$aid\"].feedback[-1]")
[ "$(jq -r .code <<<"$last")" = 155 ] || fail "code: $last"
jq -e '.details[0] | startswith("checksum-mismatch: ")' <<<"$last" >/dev/null || fail "details: $last"
[ "$(primary_of plain)" = "1.0.0 true" ] || fail "plain runs $(primary_of plain)"

log "two artifacts in one action are refused"
cp "$T/small.bin" "$T/other.bin"
ddi_ctl POST actions "{\"targets\": [\"gw1-plain\"], \"artifacts\": [\"$T/small.bin\", \"$T/big.bin\"]}" >/dev/null
aid=$(ddi_state '.actions | keys | map(tonumber) | max')
wait_for 20 "the refusal" action_is "$aid" ERROR
[ "$(ddi_state ".actions[\"$aid\"].feedback[-1].code")" = 158 ] || fail "code: $(ddi_state ".actions[\"$aid\"].feedback")"

log "a recoverable failure (the node is not plugged in yet) is retried, and the retry is reported"
ddi_create "$T/small.bin" gw1-late
aid=$ACTIONS
wait_for 20 "the retry's feedback" feedback_has "$aid" "attempt 2: the previous one failed"
start_sim late --baud 0
wait_for 60 "the update" action_is "$aid" FINISHED
[ "$(primary_of late)" = "1.2.0 true" ] || fail "late runs $(primary_of late)"

log "an action of the user-consent flow is consented to, then installed"
mkimage -o "$T/consent.bin" --version 1.3.0 --size 4000 --seed 6
DDI_ACTION_EXTRA=', "confirmation_required": true' ddi_create "$T/consent.bin" gw1-plain
aid=$ACTIONS
wait_for 30 "the update" action_is "$aid" FINISHED
[ "$(ddi_state ".actions[\"$aid\"].confirmation_feedback[0].confirmation")" = confirmed ] ||
	fail "no consent: $(ddi_state ".actions[\"$aid\"].confirmation_feedback")"
[ "$(primary_of plain)" = "1.3.0 true" ] || fail "plain runs $(primary_of plain)"

log "a refused target token is retried until the server takes it"
grep -q "gw1-locked: the server refused the target token (401)" "$T/hawkbit.log" || fail "no refusal logged"
[ "$(ddi_state '.targets["gw1-locked"]')" = null ] || fail "a refused poll created the target"
ddi_ctl POST targets/gw1-locked/request-config >/dev/null
ddi_ctl POST config '{"target_tokens": {"gw1-locked": "0123456789abcdef0123456789abcdef"}}' >/dev/null
wait_for 10 "the locked node's facts" bash -c \
	"[ \"\$(curl -sf $DDI_URL/_control/state | jq -r '.targets[\"gw1-locked\"].attributes.node')\" = locked ]"
grep "/gw1-locked" "$T/ddi.log" | grep -q "auth=TargetToken" || fail "the target token was not used"

stop_agent
log "ok"
