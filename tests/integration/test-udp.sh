#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SMP over UDP end to end against dfu-sim --udp: IPv4 and IPv6 loopback,
# a datagram limit from the target, 10 % of datagrams lost, and a port where
# nothing listens.
source "$(dirname "$0")/lib.sh"

SMP_RETRIES=6 RESPONSE_TIMEOUT=0.3 FIRST_TIMEOUT=1 write_config
start_dfud

port=$(free_udp_port 127.0.0.1) || fail "no free UDP port on 127.0.0.1"
start_udp_sim v4 "127.0.0.1:$port" --verbose
mkimage -o "$T/app.bin" --version 1.2.0 --size 30000 --seed 1
expect_exit 0 dfuctl start "udp:127.0.0.1:$port" "$T/app.bin"
expect_job 1 succeeded success
[ "$(primary_of v4)" = "1.2.0 true" ] || fail "device runs $(primary_of v4)"
grep -q "device buffers: 2 × 2048 bytes" "$T/dfud.log" || fail "params not read"
grep -q "1232-byte messages, window 1" "$T/dfud.log" || fail "not one 1232-byte datagram at a time"
# the job log shows the image hashes before and after the update
grep -q "job 1: device lists: image 0 slot 0: 1.0.0 [0-9a-f]*…" "$T/dfud.log" || fail "no hashes before"
grep -q "job 1: device back after .* it lists: image 0 slot 0: 1.2.0 [0-9a-f]*…" "$T/dfud.log" ||
	fail "no hashes after"

log "a smaller datagram limit in the target"
mkimage -o "$T/app2.bin" --version 1.3.0 --size 20000 --seed 2
expect_exit 0 dfuctl start "udp:127.0.0.1:$port?mtu=1000" "$T/app2.bin"
[ "$(primary_of v4)" = "1.3.0 true" ] || fail "device runs $(primary_of v4) after ?mtu=1000"
grep -q "1000-byte messages, window 1" "$T/dfud.log" || fail "?mtu=1000 not honoured"

log "IPv6"
if port6=$(free_udp_port ::1); then
	start_udp_sim v6 "[::1]:$port6"
	expect_exit 0 dfuctl start "udp:[::1]:$port6" "$T/app.bin"
	[ "$(primary_of v6)" = "1.2.0 true" ] || fail "IPv6 device runs $(primary_of v6)"
else
	log "SKIP: ::1 cannot be bound here, no IPv6 case"
fi

log "two devices at once share the daemon's one IPv4 socket"
# the UDP sockets dfud holds: its fds that /proc/net/udp lists
dfud_udp_sockets() {
	local inodes
	inodes=$(find "/proc/$DFUD_PID/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n')
	[ -n "$inodes" ] || { echo 0; return; }
	awk 'NR > 1 { print $10 }' /proc/net/udp /proc/net/udp6 | grep -cxF "$inodes" || true
}
pa=$(free_udp_port 127.0.0.1) || fail "no free UDP port on 127.0.0.1"
start_udp_sim pair-a "127.0.0.1:$pa" --udp-delay-ms 20
pb=$(free_udp_port 127.0.0.1) || fail "no free UDP port on 127.0.0.1"
start_udp_sim pair-b "127.0.0.1:$pb" --udp-delay-ms 20
ja=$(dfuctl start --no-wait "udp:127.0.0.1:$pa" "$T/app2.bin") || fail "cannot submit to pair-a"
jb=$(dfuctl start --no-wait "udp:127.0.0.1:$pb" "$T/app2.bin") || fail "cannot submit to pair-b"
wait_for 10 "both UDP jobs uploading" bash -c "[ \"\$('$DFUCTL' status --json $ja | jq -r .Phase)\" = uploading ] &&
	[ \"\$('$DFUCTL' status --json $jb | jq -r .Phase)\" = uploading ]"
[ "$(dfud_udp_sockets)" = 1 ] || fail "dfud holds $(dfud_udp_sockets) UDP sockets for two devices"
wait_for 30 "both UDP jobs ending" bash -c "'$DFUCTL' status --json $ja | jq -e '.State == \"succeeded\"' &&
	'$DFUCTL' status --json $jb | jq -e '.State == \"succeeded\"'"
[ "$(primary_of pair-a)" = "1.3.0 true" ] && [ "$(primary_of pair-b)" = "1.3.0 true" ] ||
	fail "pair runs $(primary_of pair-a) and $(primary_of pair-b)"
[ "$(dfud_udp_sockets)" = 0 ] || fail "dfud keeps $(dfud_udp_sockets) UDP sockets with no job"

log "10 % of datagrams lost, either way"
port=$(free_udp_port 127.0.0.1) || fail "no free UDP port on 127.0.0.1"
start_udp_sim lossy "127.0.0.1:$port" --udp-loss 10 --udp-seed 7
lossy_pid=$SIM_PID
expect_exit 0 dfuctl start "udp:127.0.0.1:$port" "$T/app.bin"
[ "$(primary_of lossy)" = "1.2.0 true" ] || fail "lossy device runs $(primary_of lossy)"
kill -TERM "$lossy_pid"
wait "$lossy_pid" 2>/dev/null || true
lost=$(sim_state lossy .counters.lost_datagrams)
log "$lost datagrams lost"
[ "$lost" -gt 0 ] || fail "no datagram was lost"

log "nothing listens: a response timeout within seconds"
port=$(free_udp_port 127.0.0.1) || fail "no free UDP port on 127.0.0.1"
MAX_ATTEMPTS=1 SMP_RETRIES=2 RESPONSE_TIMEOUT=0.3 write_config
stop_dfud
start_dfud
started=$SECONDS
expect_exit 1 dfuctl start "udp:127.0.0.1:$port" "$T/app.bin"
[ $((SECONDS - started)) -le 10 ] || fail "the silent port took $((SECONDS - started)) s"
grep -q "response-timeout" <<<"$OUT" || fail "not a response timeout: $OUT"
