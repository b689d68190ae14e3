#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the build dependencies, builds dfud twice (plain, and with
# AddressSanitizer + UBSan) and runs every test in both builds. Ends with one
# line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh || exit 1

run_suite() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dtest_hooks=true "$@" >/dev/null || return 1
	else
		meson configure "$dir" -Dtest_hooks=true >/dev/null || return 1
	fi
	ninja -C "$dir" || return 1
	meson test -C "$dir" --print-errorlogs --num-processes 2 || true
}

count() {
	local log=$1/meson-logs/testlog.json
	[ -f "$log" ] || { echo "0 0"; return; }
	# each count in parentheses: a bare comma binds tighter than the pipe
	jq -s '[(map(select(.result == "OK" or .result == "EXPECTEDFAIL")) | length),
	        (map(select(.result == "FAIL" or .result == "TIMEOUT" or .result == "ERROR" or .result == "UNEXPECTEDPASS")) | length)] | @sh' -r "$log"
}

status=0
run_suite build || status=1
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false || status=1

read -r p1 f1 <<<"$(count build)"
read -r p2 f2 <<<"$(count build-asan)"
passed=$((p1 + p2))
failed=$((f1 + f2))
[ $status -eq 0 ] || failed=$((failed + 1))
echo "plain build: $p1 passed, $f1 failed; sanitizer build: $p2 passed, $f2 failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
