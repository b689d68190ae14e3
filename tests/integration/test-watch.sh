#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dfuctl watch: each line names the device; a job or device filter; --until-idle.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/devices.d"
printf '[Device node-2]\nTarget=serial:%s/n2\n' "$T" >"$T/devices.d/nodes.conf"
start_dfud
start_sim n1 --baud 0 --running-version 1.0.0 --boot-ms 1000
start_sim n2 --baud 0 --running-version 1.0.0 --boot-ms 4000
mkimage -o "$T/app.bin" --version 1.2.0 --size 6000 --seed 1

mkimage -o "$T/app2.bin" --version 1.3.0 --size 6000 --seed 2
a=$(submit "serial:$T/n1" "$T/app.bin")
b=$(submit "serial:$T/n2" "$T/app.bin")

log "a device filter and --until-idle: returns when that device's job is done"
expect_exit 0 timeout 30 "$DFUCTL" watch --until-idle "serial:$T/n1"
[ "$(job_prop "$a" State)" = succeeded ] || fail "watch returned before job $a ended: $OUT"
[ "$(job_prop "$b" State)" = running ] || fail "watch waited for job $b too: $OUT"
grep -vqE "^job $a serial:$T/n1[: ]" <<<"$OUT" && fail "a line without the device or of another job: $OUT"
grep -qx "job $a serial:$T/n1 succeeded: success (1): .*" <<<"$OUT" || fail "no result line: $OUT"

log "a job filter, in JSON: every object names the device"
expect_exit 0 timeout 30 "$DFUCTL" watch --json --until-idle "$b"
[ "$(job_prop "$b" State)" = succeeded ] || fail "watch returned before job $b ended"
# n2 is node-2 in devices.d: the daemon's name for the target
jq -e -s --arg d node-2 --argjson id "$b" \
	'length > 1 and all(.[]; .Device == $d and .Id == $id) and (map(.Event) | index("finished") != null)' \
	<<<"$OUT" >/dev/null || fail "JSON lines: $OUT"

log "a device's name as filter; the lines name it too"
c=$(submit node-2 "$T/app2.bin")
expect_exit 0 timeout 30 "$DFUCTL" watch --until-idle node-2
grep -vqE "^job [0-9]+ node-2[: ]" <<<"$OUT" && fail "a line without the device's name: $OUT"
grep -qx "job $c node-2 succeeded: success (1): .*" <<<"$OUT" || fail "no result line: $OUT"

log "nothing to wait for: --until-idle returns at once"
expect_exit 0 timeout 10 "$DFUCTL" watch --until-idle "$a" "$b"
[ "$(grep -c "^job " <<<"$OUT")" = 2 ] || fail "not one line per finished job: $OUT"

log "Ctrl-C stops following, not the job, and says how to follow it"
mkimage -o "$T/app3.bin" --version 1.4.0 --size 6000 --seed 3
c=$((c + 1))
"$DFUCTL" start "serial:$T/n2" "$T/app3.bin" >"$T/interrupted.out" 2>&1 &
pid=$!
wait_for 20 "job $c to run" job_state_is "$c" running
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 130 ] || fail "dfuctl exited $rc after Ctrl-C: $(cat "$T/interrupted.out")"
grep -q "the job goes on in dfud" "$T/interrupted.out" || fail "no word on the job: $(cat "$T/interrupted.out")"
grep -q "dfuctl watch $c" "$T/interrupted.out" || fail "no way to follow it: $(cat "$T/interrupted.out")"
expect_exit 0 timeout 30 "$DFUCTL" watch --until-idle "$c"
expect_job "$c" succeeded success

log "--version names the daemon's version too"
expect_exit 0 dfuctl --version
[ "$(sed -n 2p <<<"$OUT")" = "dfud $(sed -n 's/^dfuctl //p' <<<"$OUT")" ] || fail "versions: $OUT"
