#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: test-config-keys.sh dfu-config.h dfud.conf dfud.conf.5
# The keys and defaults named in dfu-config.h must appear, in their group, both
# in the example configuration (as #Key=Default) and in the man page (as an
# entry ".BI Key= ..." saying "The default is Default."). A key written
# "Key=:" in the header has no default: it appears as "#Key=" and its entry
# says nothing of a default. The example must hold no other keys.
set -u
header=$1
conf=$2
man=$3

keys=$(awk '
	match($0, /\/\* \[[a-z]+\] \*\//) { group = substr($0, RSTART + 3, RLENGTH - 6); next }
	match($0, /\/\* [A-Z][A-Za-z]*=[^ :,]+/) { print group, substr($0, RSTART + 3, RLENGTH - 3); next }
	match($0, /\/\* [A-Z][A-Za-z]*=:/) { print group, substr($0, RSTART + 3, RLENGTH - 4) }
' "$header")
if [ -z "$keys" ]; then
	echo "no keys found in $header" >&2
	exit 1
fi

status=0
fail() {
	echo "$*" >&2
	status=1
}

printf '%s\n' "$keys" | {
while read -r group kv; do
	key=${kv%%=*}
	default=${kv#*=}
	awk -v group="$group" -v line="#$kv" '
		/^\[/ { current = $0 }
		current == group && $0 == line { found = 1 }
		END { exit !found }
	' "$conf" || fail "$conf: no line '#$kv' in group $group"
	want="The default is $default."
	[ -n "$default" ] || want=""
	awk -v group="$group" -v entry=".BI $key= " -v want="$want" '
		/^\.SS / { current = $2; inside = 0 }
		/^\.TP/ { inside = 0 }
		current == group && index($0, entry) == 1 { inside = 1; seen = 1 }
		inside && index($0, want) > 0 { found = 1 }
		END { exit !(seen && (found || want == "")) }
	' "$man" || fail "$man: no entry for $key in $group saying 'The default is $default.'"
done
exit $status
} || status=1

for key in $(sed -n 's/^#\{0,1\}\([A-Z][A-Za-z]*\)=.*/\1/p' "$conf"); do
	printf '%s\n' "$keys" | grep -q " $key=" || fail "$conf: key $key is not in $header"
done
exit $status
