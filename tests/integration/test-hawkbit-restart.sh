#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dfud-hawkbit across interruptions: a closed maintenance window (download now,
# install when it opens), an artifact download cut and resumed, the agent and
# the daemon killed with SIGKILL mid-action, the agent stopped between recording a
# submission and its answer, and a second agent for other nodes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hawkbit-lib.sh"

start_gateway

for name in window resume agentkill daemonkill other; do
	if [[ $name == *kill ]]; then
		start_sim "$name" --baud 115200
	else
		start_sim "$name" --baud 0
	fi
done
AGENT_CONFIG="StartJitterSec=0.2
BusySleepSec=0.3
ProgressIntervalSec=0.2
Nodes=w*;r*;a*;d*
[Node window]
Target=serial:$T/window
[Node resume]
Target=serial:$T/resume
[Node agentkill]
Target=serial:$T/agentkill?baud=115200
[Node daemonkill]
Target=serial:$T/daemonkill?baud=115200
[Node other]
Target=serial:$T/other" write_agent_config
start_agent
A_PID=$AGENT_PID

action_is() {
	[ "$(ddi_action_status "$1")" = "$2" ]
}
# jobs_of CONTROLLER-ID: dfud's jobs for that target's actions
jobs_of() {
	dfuctl list --all --json | jq -r "select(.Source | startswith(\"hawkbit $1 action\")) | .Id"
}
job_phase_is() {
	[ "$(jobs_of "$1" | head -n1 | xargs -r -I{} "$DFUCTL" status --json {} | jq -r .Phase)" = "$2" ]
}
downloads_of() {
	grep -c "/$1/softwaremodules/.* 200 " "$T/ddi.log" || true
}

log "maintenance window closed: downloaded now, installed when it opens"
mkimage -o "$T/w.bin" --version 1.1.0 --size 5000 --seed 1
DDI_ACTION_EXTRA=', "maintenance_window": "unavailable"' ddi_create "$T/w.bin" gw1-window
aid=$ACTIONS
wait_for 20 "the download" action_is "$aid" DOWNLOADED
[ "$(ddi_state ".actions[\"$aid\"].feedback[0].execution")" = download ] || fail "no download feedback"
sleep 1
[ "$(primary_of window)" = "1.0.0 true" ] || fail "installed while the window is closed"
job=$(jobs_of gw1-window)
[ "$(job_prop "$job" StatusName)" = success ] || fail "the fetch-only job: $(job_prop "$job" StatusName)"
ddi_ctl POST "actions/$aid" '{"maintenance_window": "available"}' >/dev/null
wait_for 30 "the install" action_is "$aid" FINISHED
[ "$(primary_of window)" = "1.1.0 true" ] || fail "window runs $(primary_of window)"
[ "$(downloads_of gw1-window)" = 1 ] || fail "the artifact was downloaded $(downloads_of gw1-window) times"
[ "$(jobs_of gw1-window | wc -l)" = 2 ] || fail "not a fetch job and an install job"

log "an artifact download cut after 2000 bytes resumes"
mkimage -o "$T/r.bin" --version 1.1.0 --size 9000 --seed 2
ddi_ctl POST config '{"faults": {"cut_after": 2000, "cut_count": 1}}' >/dev/null
ddi_create "$T/r.bin" gw1-resume
aid=$ACTIONS
wait_for 30 "the update" action_is "$aid" FINISHED
grep -q "/gw1-resume/softwaremodules/.* 206 .*range=bytes=2000-" "$T/ddi.log" || fail "no resumed range request"
[ "$(primary_of resume)" = "1.1.0 true" ] || fail "resume runs $(primary_of resume)"

log "the agent killed mid-upload; the job ends meanwhile; the restarted agent reports it once"
mkimage -o "$T/k.bin" --version 1.3.0 --size 30000 --seed 3
ddi_create "$T/k.bin" gw1-agentkill
aid=$ACTIONS
wait_for 30 "the upload" job_phase_is gw1-agentkill uploading
kill9_agent
job=$(jobs_of gw1-agentkill)
wait_job_done 60 "$job"
action_is "$aid" RUNNING || fail "the server saw an end without the agent"
start_agent
A_PID=$AGENT_PID
wait_for 20 "the report" action_is "$aid" FINISHED
[ "$(jobs_of gw1-agentkill | wc -l)" = 1 ] || fail "the action ran twice"
[ "$(ddi_state ".actions[\"$aid\"].feedback[-1].code")" = 1 ] || fail "not reported as success"

log "the daemon killed mid-upload: its job resumes and the agent follows it"
ddi_create "$T/k.bin" gw1-daemonkill
aid=$ACTIONS
wait_for 30 "the upload" job_phase_is gw1-daemonkill uploading
kill9_dfud
sleep 0.5
start_dfud
wait_for 60 "the report" action_is "$aid" FINISHED
[ "$(jobs_of gw1-daemonkill | wc -l)" = 1 ] || fail "the action ran twice"
[ "$(primary_of daemonkill)" = "1.3.0 true" ] || fail "daemonkill runs $(primary_of daemonkill)"

log "the agent stopped between its record of a submission and dfud's answer"
stop_agent "$A_PID"
mkimage -o "$T/s.bin" --version 1.4.0 --size 5000 --seed 4
ddi_create "$T/s.bin" gw1-resume
adopt=$ACTIONS
ddi_create "$T/s.bin" gw1-window
again=$ACTIONS
# dfud got the first submission; the second never reached it
url=$(curl -sf -H "Authorization: GatewayToken gwtoken" "$DDI_URL/DEFAULT/controller/v1/gw1-resume/deploymentBase/$adopt" |
	jq -r '.deployment.chunks[0].artifacts[0]._links["download-http"].href')
"$DFUCTL" start --no-wait -o "source-name=hawkbit gw1-resume action $adopt: s.bin" \
	-o "expected-sha256=$(sha256_of "$T/s.bin")" "serial:$T/resume" "$url" >/dev/null || fail "cannot submit"
for pair in "gw1-resume $adopt" "gw1-window $again"; do
	read -r cid aid <<<"$pair"
	printf '{"action": "%s", "stage": "submitting"}\n' "$aid" >"$T/hawkbit-state/$cid.json"
done
start_agent
A_PID=$AGENT_PID
wait_for 30 "the adopted job's report" action_is "$adopt" FINISHED
wait_for 30 "the resubmitted job's report" action_is "$again" FINISHED
[ "$(jobs_of gw1-resume | wc -l)" = 2 ] || fail "the adopted action was submitted again"
[ "$(jobs_of gw1-window | wc -l)" = 3 ] || fail "the lost submission was not made again"
grep -q "gw1-resume: action $adopt is dfud job .*, found again" "$T/hawkbit.log" || fail "no adoption logged"
[ "$(primary_of resume)" = "1.4.0 true" ] && [ "$(primary_of window)" = "1.4.0 true" ] ||
	fail "resume runs $(primary_of resume), window $(primary_of window)"

log "a second agent, another gateway id, for the other node"
AGENT=second AGENT_CONFIG="StartJitterSec=0.2
GatewayId=gw2
Nodes=o*
[Node other]
Target=serial:$T/other" write_agent_config
AGENT=second start_agent
B_PID=$AGENT_PID
ddi_create "$T/w.bin" gw2-other
aid=$ACTIONS
wait_for 30 "the other node's update" action_is "$aid" FINISHED
[ "$(primary_of other)" = "1.1.0 true" ] || fail "other runs $(primary_of other)"
grep -q "/gw1-other" "$T/ddi.log" && fail "the first agent polled a node it does not represent"
grep -q "/gw2-window" "$T/ddi.log" && fail "the second agent polled a node it does not represent"

stop_agent "$B_PID"
stop_agent "$A_PID"
log "ok"
