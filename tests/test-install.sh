#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `meson install` of the build puts every file the README's install steps rely on in
# place (into a scratch DESTDIR), and keeps an administrator's dfud.conf on a second run.
set -euo pipefail
: "${DFUD_BUILD_ROOT:?run through meson test}"
dest=$(mktemp -d "${TMPDIR:-/tmp}/dfud-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

meson install -C "$DFUD_BUILD_ROOT" --destdir "$dest" --no-rebuild --quiet >/dev/null
status=0
for pattern in '*/sbin/dfud' '*/bin/dfuctl' '*/system/dfud.service' '*/sysusers.d/dfud.conf' \
	'*/dbus-1/system.d/org.dfud1.conf' '*/dbus-1/system-services/org.dfud1.service' \
	'*/polkit-1/actions/org.dfud1.policy' '*/polkit-1/rules.d/50-dfud.rules' \
	'*/dfud/dfud.conf' '*/dfud/devices.d/example.conf.sample' '*/man8/dfud.8' '*/man7/dfud-status.7'; do
	if [ -z "$(find "$dest" -path "$pattern" -print -quit)" ]; then
		echo "not installed: $pattern" >&2
		status=1
	fi
done
unit=$(find "$dest" -path '*/system/dfud.service' -print -quit)
catalog=$(find "$dest" -path '*/systemd/catalog/dfud.catalog' -print -quit)
if [ -z "$catalog" ]; then
	echo "not installed: the journal catalog" >&2
	status=1
elif [ "${catalog#"$dest"}" = /usr/lib/systemd/catalog/dfud.catalog ]; then
	# journalctl reads it as it would on the gateway
	journalctl --root="$dest" --update-catalog
	[ "$(journalctl --root="$dest" --list-catalog | grep -c ' dfud: ')" = 5 ] ||
		{ echo "the catalog does not give the 5 job events" >&2; status=1; }
fi
grep -q '^ExecReload=' "$unit" || { echo "the installed unit cannot reload" >&2; status=1; }

conf=$(find "$dest" -path '*/dfud/dfud.conf' -print -quit)
echo "# edited" >>"$conf"
meson install -C "$DFUD_BUILD_ROOT" --destdir "$dest" --no-rebuild --quiet >/dev/null
grep -q '^# edited$' "$conf" || { echo "a second install replaced the edited dfud.conf" >&2; status=1; }
exit $status
