#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bundle descriptors that could keep an import reading forever, or that are
# too large, are refused at Submit with a message saying what they are; the
# daemon goes on serving. dfuctl still takes a bundle from a pipe.
source "$(dirname "$0")/lib.sh"

start_dfud
start_sim dev --baud 0

# submit_raw KIND: calls Submit with a descriptor dfuctl would never send; prints the error
submit_raw() {
	# Debian's python3-dbus; -I: the build folder has a dbus/ of its own
	/usr/bin/python3 -I - "$1" "serial:$T/dev" <<'PY'
import os, socket, sys
import dbus

kind, target = sys.argv[1], sys.argv[2]
if kind == "pipe":
    # the writer stays open: a read would wait forever
    fd, writer = os.pipe()
elif kind == "socket":
    a, b = socket.socketpair()
    fd = a.fileno()
elif kind == "eventfd":
    fd = os.eventfd(0)
bus = dbus.SessionBus()
manager = dbus.Interface(bus.get_object("org.dfud1", "/org/dfud1"), "org.dfud1.Manager")
try:
    print("accepted", manager.Submit(target, dbus.types.UnixFd(fd), dbus.Dictionary({}, signature="sv")))
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name(), e.get_dbus_message())
PY
}

for kind in pipe socket eventfd; do
	out=$(submit_raw $kind)
	log "$kind: $out"
	grep -q "^org.dfud1.Error.BundleUnreadable .*descriptor is a" <<<"$out" || fail "$kind: $out"
done
grep -q "is an anonymous descriptor" <<<"$out" || fail "eventfd: $out"
kill -0 "$DFUD_PID" || fail "dfud died"
[ "$(dfuctl list --all --json | jq -s length)" = 0 ] || fail "a refused descriptor became a job"

# a sparse 10 GiB file is refused from its size, without being read
truncate -s 10G "$T/huge.bin"
SECONDS=0
expect_exit 1 dfuctl start --no-wait "serial:$T/dev" "$T/huge.bin"
grep -q "more than the 256 MiB" <<<"$OUT" || fail "huge: $OUT"
[ "$SECONDS" -le 2 ] || fail "refusing a huge file took ${SECONDS}s"

: >"$T/empty.bin"
expect_exit 1 dfuctl start --no-wait "serial:$T/dev" "$T/empty.bin"
grep -q "empty" <<<"$OUT" || fail "empty: $OUT"

# through a pipe, dfuctl hands over a sealed copy
mkimage -o "$T/good.bin" --version 1.1.0 --size 4000
n=1
OUT=$(cat "$T/good.bin" | "$DFUCTL" start "serial:$T/dev" /dev/stdin 2>&1) || fail "from a pipe: $OUT"
expect_job $n succeeded success
[ "$(primary_of dev)" = "1.1.0 true" ] || fail "device runs $(primary_of dev)"
