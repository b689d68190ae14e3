#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGHUP reads dfud.conf, its drop-ins and devices.d again without touching a
# running job; a bad file keeps the old configuration. The daemon tells the
# service manager (a stand-in for systemd's notify socket) about start-up,
# reloads and pings its watchdog from the main loop.
source "$(dirname "$0")/lib.sh"

write_config
mkdir -p "$T/devices.d" "$DFUD_CONFIG.d"
printf '[Device kitchen-node]\nTarget=serial:%s\n' "$T/dev" >"$T/devices.d/kitchen.conf"

# each datagram on the notify socket as one line of the log
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
PY
SIM_PIDS+=($!)
wait_for 5 "the notify socket" test -S "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 start_dfud
wait_for 5 "READY=1" grep -q "READY=1" "$T/notify.log"
wait_for 5 "watchdog pings" bash -c "[ \$(grep -c WATCHDOG=1 $T/notify.log) -ge 3 ]"

start_sim dev --baud 115200 --running-version 1.0.0
mkimage -o "$T/app.bin" --version 1.1.0 --size 40000 --seed 1
job1=$(submit kitchen-node "$T/app.bin")
phase_is() { [ "$(job_prop "$1" Phase)" = "$2" ]; }
wait_for 20 "job $job1 uploading" phase_is "$job1" uploading

log "reload while job $job1 uploads: a new device, one job at a time from now on"
printf '[Device cellar-node]\nTarget=serial:%s\n' "$T/dev2" >"$T/devices.d/cellar.conf"
printf '[daemon]\nMaxParallelJobs=1\n' >"$DFUD_CONFIG.d/10-one.conf"
kill -HUP "$DFUD_PID"
wait_for 5 "the reload" grep -q "configuration reloaded" "$T/dfud.log"
wait_for 5 "RELOADING=1" grep -q "RELOADING=1" "$T/notify.log"
grep -A1 "RELOADING=1" "$T/notify.log" | grep -q "READY=1" || fail "no READY=1 after RELOADING=1"
job_state_is "$job1" running || fail "job $job1 is $(job_prop "$job1" State) after the reload"

start_sim dev2 --baud 0 --running-version 1.0.0
job2=$(submit cellar-node "$T/app.bin")
wait_job_done 60 "$job1"
wait_job_done 30 "$job2"
expect_job "$job1" succeeded success
expect_job "$job2" succeeded success
[ "$(job_prop "$job1" Attempt)" = 1 ] || fail "job $job1 took $(job_prop "$job1" Attempt) attempts"
[ "$(primary_of dev2)" = "1.1.0 true" ] || fail "cellar-node runs $(primary_of dev2)"
[ "$(job_prop "$job2" Started)" -ge "$(job_prop "$job1" Finished)" ] ||
	fail "job $job2 started while job $job1 ran, with MaxParallelJobs=1"

log "a bad drop-in is refused and the configuration before it stays"
printf '[daemon]\nMaxParallelJobs=zero\n' >"$DFUD_CONFIG.d/20-bad.conf"
kill -HUP "$DFUD_PID"
wait_for 5 "the refusal" grep -q "configuration not reloaded" "$T/dfud.log"
grep "configuration not reloaded" "$T/dfud.log" | grep -q "20-bad.conf" || fail "the refusal names no file"
dfud_alive
expect_exit 2 dfuctl start cellar-node "$T/app.bin"
