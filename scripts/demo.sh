#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is needed, builds dfud, and updates a simulated Zephyr/MCUboot
# device end to end with `dfuctl start`: a private D-Bus bus, the real daemon,
# and the device simulator on a pseudo-terminal at 115200 baud.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

./scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

export DFUD_BUILD_ROOT=$top/build
# the tests' harness: private bus, daemon start/stop, simulator start, clean-up
source "$top/tests/integration/lib.sh"

start_dfud
start_sim demo-device --baud 115200 --running-version 1.0.0 --erase-ms 300 --write-us-per-kb 200
mkimage -o "$T/zephyr.signed.bin" --version 1.1.0 --size 49152 --seed 42

echo "Device before:  $(primary_of demo-device | awk '{print "running " $1 ", confirmed " $2}')"
echo
echo "\$ dfuctl start serial:$T/demo-device?baud=115200 zephyr.signed.bin"
"$DFUCTL" start "serial:$T/demo-device?baud=115200" "$T/zephyr.signed.bin"
echo
echo "\$ dfuctl status -v 1"
"$DFUCTL" status -v 1
echo
echo "Device after:   $(primary_of demo-device | awk '{print "running " $1 ", confirmed " $2}')"
echo
echo "\$ dfuctl start serial:$T/demo-device zephyr.signed.bin   # again: nothing to do"
rc=0
"$DFUCTL" start "serial:$T/demo-device" "$T/zephyr.signed.bin" || rc=$?
echo "(exit status $rc: up to date)"
