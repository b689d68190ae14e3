#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: test-unit-contract.sh UNIT
# What the documentation promises of the unit: the serial ports of the usual gateway
# boards, systemctl reload, and a watchdog.
set -u
status=0
for class in ttyACM ttyUSB ttyS ttyAMA ttymxc ttyTHS; do
	grep -qx "DeviceAllow=char-$class rw" "$1" || { echo "$1: no DeviceAllow=char-$class rw" >&2; status=1; }
done
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$1" || { echo "$1: no ExecReload sending SIGHUP" >&2; status=1; }
grep -q '^WatchdogSec=[1-9]' "$1" || { echo "$1: no WatchdogSec=" >&2; status=1; }
grep -qx 'Type=notify' "$1" || { echo "$1: not Type=notify" >&2; status=1; }
exit $status
