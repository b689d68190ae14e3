#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: test-man-pages.sh PAGE...
# Formats each page with every groff warning enabled; any warning fails.
set -u
if ! command -v groff >/dev/null 2>&1; then
	echo "groff is not installed" >&2
	exit 77
fi
status=0
for page in "$@"; do
	out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		printf '%s: groff exited with %d\n%s\n' "$page" $rc "$out" >&2
		status=1
	else
		echo "ok: $page"
	fi
done
exit $status
