#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: test-security.sh SYSTEMD-ANALYZE UNIT
# Fails when systemd-analyze rates the unit's exposure above 2.0.
set -u
"$1" security --help 2>/dev/null | grep -q -- '--offline' || exit 77
out=$("$1" security --offline=true "$2" 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || exit 1
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
[ -n "$level" ] || { echo "no exposure level in the output" >&2; exit 1; }
awk -v level="$level" 'BEGIN { exit !(level <= 2.0) }' || { echo "exposure $level is above 2.0" >&2; exit 1; }
