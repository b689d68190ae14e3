#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion of dfuctl, sourced into a shell and asked as bash asks it:
# commands, options, job options, device names and job numbers from the daemon.
source "$(dirname "$0")/lib.sh"

COMPLETION=$(dirname "$0")/../../completion/dfuctl.bash

# completions LINE: what the completion offers for the last word of LINE (a
# trailing space starts a new word), one per line, in a shell of its own
completions() {
	bash -c '
		source "$1"
		complete -p dfuctl >/dev/null || exit 1
		read -r -a COMP_WORDS <<<"$2"
		COMP_WORDS[0]=$3
		[ "${2: -1}" = " " ] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$2
		_dfuctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$1" "$DFUCTL"
}

# offers LINE WORD...: each WORD is offered for LINE
offers() {
	local line=$1 got w
	shift
	got=$(completions "$line") || fail "completing '$line' failed"
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" || fail "'$line' does not offer '$w': $(tr '\n' ' ' <<<"$got")"
	done
}

# offers_only LINE WORD...: exactly these
offers_only() {
	local got
	got=$(completions "$1" | sort | tr '\n' ' ')
	shift
	[ "$got" = "$(printf '%s\n' "$@" | sort | tr '\n' ' ')" ] || fail "offered '$got', not '$*'"
}

offers_only "dfuctl st" start status
offers "dfuctl " start update status list abort watch codes inspect
offers_only "dfuctl --ses" --session
offers "dfuctl start --" --json --no-wait --option --all --match --board
offers_only "dfuctl watch --u" --until-idle
offers "dfuctl start -o " help confirm= force= allow-downgrade= max-attempts= fota-op=
offers_only "dfuctl start -o max" max-attempts=
mkdir -p "$T/bundles"
: >"$T/bundles/app.bin"
offers_only "dfuctl inspect $T/bundles/a" "$T/bundles/app.bin"

log "device names and job numbers come from the daemon"
mkdir -p "$T/devices.d"
printf '[Device kitchen-node]\nTarget=serial:%s/dev\n[Device porch]\nTarget=udp:192.0.2.1\n' "$T" \
	>"$T/devices.d/site.conf"
start_dfud
offers_only "dfuctl start kit" kitchen-node
offers_only "dfuctl info " kitchen-node porch
offers "dfuctl watch " kitchen-node porch
offers_only "dfuctl --session confirm p" porch
start_sim dev --baud 0 --running-version 1.0.0 --boot-ms 5000
mkimage -o "$T/app.bin" --version 1.2.0 --size 4000 --seed 1
expect_exit 0 dfuctl start kitchen-node "$T/app.bin"
mkimage -o "$T/app2.bin" --version 1.3.0 --size 4000 --seed 2
# the device takes seconds to boot after its reset: the job is unfinished for a while
running=$(submit kitchen-node "$T/app2.bin")
offers_only "dfuctl status " 1 "$running"
offers_only "dfuctl abort " "$running"
offers "dfuctl watch " 1 "$running"
