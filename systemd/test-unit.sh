#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: test-unit.sh SYSTEMD-ANALYZE UNIT
# systemd-analyze only warns about unknown keys, so any output counts as a failure.
set -u
out=$("$1" verify --man=no "$2" 2>&1)
rc=$?
if [ -n "$out" ]; then
	printf '%s\n' "$out" >&2
	exit 1
fi
exit $rc
