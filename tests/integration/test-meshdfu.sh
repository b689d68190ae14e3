#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Mesh DFU of the nRF5 SDK for Mesh through a serial node: each cause of a
# silent Echo ends in its own code within seconds, a package the mesh would
# ignore is refused, and transfers to a simulated mesh (serial node and
# remote nodes that miss segments) complete across a killed daemon, a serial
# node that restarts, and stop when cancelled. The mesh runs 100 times faster.
source "$(dirname "$0")/lib.sh"

EXTRA_CONFIG=$MESH_CONFIG
write_config
start_dfud

"$MKIMAGE" mesh -o "$T/app.zip" --size 4096 --company-id 0x59 --application-id 1 --application-version 2
"$MKIMAGE" mesh -o "$T/other.zip" --size 4096 --company-id 0x60 --application-id 1 --application-version 2

log "dfuctl inspect shows the mesh package"
expect_exit 0 dfuctl inspect "$T/app.zip"
grep -q "firmware id: application company 0x00000059 id 0x0001 version 2" <<<"$OUT" || fail "inspect: $OUT"
grep -q "segments: 256" <<<"$OUT" || fail "inspect: $OUT"

# expect_failure NAME STATUS: a job to mesh NAME fails with STATUS within a few seconds
expect_failure() {
	local start=$SECONDS job
	job=$(submit "serial:$T/$1?protocol=meshdfu" "$T/app.zip")
	wait_job_done 10 "$job"
	expect_job "$job" failed "$2"
	[ $((SECONDS - start)) -le 5 ] || fail "job $job took $((SECONDS - start)) s to fail"
	log "  $2: $(job_prop "$job" Message)"
}

log "each cause of an unanswered Echo ends in its own code"
start_mesh silent --no-serial
expect_failure silent mesh-silent
start_mesh baud --wrong-baud
expect_failure baud mesh-garbled
start_mesh cts --stuck-cts
expect_failure cts mesh-not-heard
start_mesh echo --echo-mismatch
expect_failure echo mesh-echo-mismatch
start_mesh boot --bootloader
expect_failure boot mesh-bootloader
grep -q "mesh-silent" <<<"$(dfuctl codes)" || fail "dfuctl codes does not explain mesh-silent"

log "a package the mesh would ignore is refused before anything is sent"
start_mesh same --application-version 2
expect_failure same mesh-not-newer
start_mesh other
job=$(submit "serial:$T/other?protocol=meshdfu" "$T/other.zip")
wait_job_done 10 "$job"
expect_job "$job" failed mesh-other-firmware
[ "$(sim_state other '.tids | length')" = 0 ] || fail "a transfer began"

log "a full transfer: remote nodes miss segments and get them, every node restarts with version 2"
start_mesh full --remote-nodes 4 --remote-loss 10 --seed 3
job=$(submit "serial:$T/full?protocol=meshdfu" "$T/app.zip")
wait_job_done 30 "$job"
expect_job "$job" succeeded success
[ "$(job_prop "$job" Percentage)" = 100 ] || fail "the job ended at $(job_prop "$job" Percentage) %"
expect_all_updated full
[ "$(sim_state full '[.remote[].requests] | add')" -gt 0 ] || fail "no remote node missed a segment"
grep -q "nodes beyond it cannot confirm receipt" <<<"$(dfuctl status -v "$job")" || fail "the job does not say what progress means"
[[ "$(job_prop "$job" Message)" == *"nodes beyond the serial node cannot confirm receipt"* ]] ||
	fail "the outcome does not say what the mesh cannot tell: $(job_prop "$job" Message)"

log "BUSY while the nodes erase their bank, and answers lost on the line, cost only time"
start_mesh busy --remote-nodes 1 --erase-ms-per-page 400 --drop-acks 7
job=$(submit "serial:$T/busy?protocol=meshdfu" "$T/app.zip")
wait_job_done 30 "$job"
expect_job "$job" succeeded success
[ "$(sim_state busy .busy_answers)" -gt 0 ] || fail "the node never answered BUSY"
grep -q "the serial node is busy" <<<"$(dfuctl status -v "$job")" || fail "the wait for BUSY is not in the history"
expect_all_updated busy

log "through a serial node that only relays, the nodes' requests reach dfud and are answered first"
start_mesh relay --relay-only --remote-nodes 3 --remote-loss 15 --seed 5
job=$(submit "serial:$T/relay?protocol=meshdfu" "$T/app.zip")
wait_job_done 60 "$job"
expect_job "$job" succeeded success
[ "$(sim_state relay .forwarded_requests)" -gt 0 ] || fail "no request reached dfud"
grep -q "a node asks for segment" <<<"$(dfuctl status -v "$job")" || fail "no request in the job's history"
wait_for 5 "every remote node to run version 2" bash -c \
	"[ \"\$(jq '[.remote[].version] | unique' -c $T/relay.json)\" = '[2]' ]"
[ "$(sim_state relay .serial.version)" = 1 ] || fail "the relay updated itself"

log "dfud killed mid-transfer: the restarted daemon goes on with the same transaction"
start_mesh killed --remote-nodes 2 --remote-loss 5
job=$(submit "serial:$T/killed?protocol=meshdfu" "$T/app.zip")
wait_for 20 "segments to go out" bash -c "[ \"\$($DFUCTL status --json $job | jq -r .BytesDone)\" -gt 1600 ]"
kill9_dfud
start_dfud
wait_job_done 60 "$job"
expect_job "$job" succeeded success
[ "$(sim_state killed '.tids | unique | length')" = 1 ] || fail "transactions: $(sim_state killed .tids)"
grep -q "resuming transaction" <<<"$(dfuctl status -v "$job")" || fail "the job did not resume its transaction"
expect_all_updated killed

log "the USB-UART bridge vanishes and returns: the next attempt goes on with the same transaction"
start_mesh bridge --remote-nodes 2 --hangup-at 120
job=$(submit "serial:$T/bridge?protocol=meshdfu" "$T/app.zip")
wait_job_done 30 "$job"
expect_job "$job" succeeded success
[ "$(job_prop "$job" Attempt)" -ge 2 ] || fail "the job took $(job_prop "$job" Attempt) attempts"
[ "$(sim_state bridge '.tids | unique | length')" = 1 ] || fail "transactions: $(sim_state bridge .tids)"
grep -q "resuming transaction" <<<"$(dfuctl status -v "$job")" || fail "the job did not resume its transaction"

log "dfud away longer than the nodes wait: the next attempt starts a new transaction from the first segment"
start_mesh expired --remote-nodes 2 --time-scale 1000
job=$(submit "serial:$T/expired?protocol=meshdfu" "$T/app.zip")
wait_for 20 "segments to go out" bash -c "[ \"\$($DFUCTL status --json $job | jq -r .BytesDone)\" -gt 1600 ]"
kill9_dfud
# the simulated nodes give up after 0.6 s; this daemon is told they do after 0.5 s
EXTRA_CONFIG="${EXTRA_CONFIG/NodeTimeoutSec=6/NodeTimeoutSec=0.5}" write_config
sleep 1
start_dfud
wait_job_done 60 "$job"
expect_job "$job" succeeded success
[ "$(sim_state expired '.tids | unique | length')" = 2 ] || fail "transactions: $(sim_state expired .tids)"
grep -q "the nodes dropped transaction" <<<"$(dfuctl status -v "$job")" || fail "the job did not start over"
expect_all_updated expired

log "the serial node restarts mid-transfer: the transaction is announced again and its gaps are served"
start_mesh reset --remote-nodes 2 --reboot-at 100
job=$(submit "serial:$T/reset?protocol=meshdfu" "$T/app.zip")
wait_job_done 30 "$job"
expect_job "$job" succeeded success
[ "$(sim_state reset '.tids | unique | length')" = 1 ] || fail "transactions: $(sim_state reset .tids)"
[ "$(sim_state reset .forwarded_requests)" -gt 0 ] || fail "the serial node asked for nothing"
grep -q "restarted during the transfer" <<<"$(dfuctl status -v "$job")" || fail "the restart is not in the history"
expect_all_updated reset

log "cancel stops the broadcast and aborts on the serial node"
start_mesh cancel --remote-nodes 2
job=$(submit "serial:$T/cancel?protocol=meshdfu" "$T/app.zip" -o mesh-interval=100)
wait_for 20 "segments to go out" bash -c "[ \"\$($DFUCTL status --json $job | jq -r .BytesDone)\" -gt 160 ]"
expect_exit 0 dfuctl abort "$job"
wait_job_done 10 "$job"
expect_job "$job" cancelled cancelled
wait_for 5 "the serial node to abort" bash -c "[ \$(jq .aborts $T/cancel.json) = 1 ]"
[ "$(sim_state cancel .serial.state)" = idle ] || fail "the serial node is $(sim_state cancel .serial.state)"

log "mesh-interval applies to meshdfu targets only"
expect_exit 1 dfuctl start -o mesh-interval=100 "serial:$T/cancel" "$T/app.zip"
grep -q "meshdfu targets only" <<<"$OUT" || fail "the refusal does not say why: $OUT"

end_dfud 10 || fail "dfud did not stop cleanly"
