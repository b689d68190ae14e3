#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dfuctl start with several devices: one job each, one view, a summary and an
# exit status for all; the view on a narrow terminal; the bare-path hint and
# bundle files that cannot be read.
source "$(dirname "$0")/lib.sh"

MAX_ATTEMPTS=2
write_config
mkdir -p "$T/devices.d"
cat >"$T/devices.d/fleet.conf" <<CONF
[Device node-1]
Target=serial:$T/n1
Board=nrf52840dk
[Device node-2]
Target=serial:$T/n2
Board=nrf5340dk
[Device node-3]
Target=serial:$T/gone
CONF
start_dfud
start_sim n1 --baud 0 --running-version 1.0.0
start_sim n2 --baud 0 --running-version 1.0.0
mkimage -o "$T/app.bin" --version 1.2.0 --size 6000 --seed 1

log "three devices, one of them missing: exit 1 and a row per device"
expect_exit 1 dfuctl start node-3 node-1 node-2 "$T/app.bin"
[ "$(primary_of n1)" = "1.2.0 true" ] || fail "node-1 runs $(primary_of n1)"
[ "$(primary_of n2)" = "1.2.0 true" ] || fail "node-2 runs $(primary_of n2)"
summary=$(grep -A4 '^DEVICE' <<<"$OUT") || fail "no summary: $OUT"
grep -Eq '^node-1 +[0-9]+ +success ' <<<"$summary" || fail "node-1 row: $summary"
grep -Eq '^node-2 +[0-9]+ +success ' <<<"$summary" || fail "node-2 row: $summary"
grep -Eq '^node-3 +[0-9]+ +link-not-found ' <<<"$summary" || fail "node-3 row: $summary"
[ "$(sed -n 2p <<<"$summary" | cut -c1-6)" = node-1 ] || fail "rows not sorted: $summary"
grep -q '^3 devices: 2 updated, 0 up to date, 1 failed$' <<<"$OUT" || fail "no count: $OUT"
grep -q 'failed: link-not-found' <<<"$OUT" || fail "no failure report: $OUT"
grep -Eq '^job [0-9]+ node-3: retry 2 of 2 in 1 s$' <<<"$OUT" || fail "the retry is not told: $OUT"
[ "$(dfuctl list --all --json | jq -s 'length')" = 3 ] || fail "not one job per device"
# the header is as wide as the data, the columns line up
header=$(grep '^DEVICE' <<<"$OUT")
row=$(grep '^node-1 ' <<<"$OUT")
[ "${header%%RESULT*}" = "DEVICE  JOB  " ] && [ "${row:13:7}" = success ] ||
	fail "summary columns do not align: '$header' '$row'"

log "all up to date: exit 2"
expect_exit 2 dfuctl start node-1 node-2 "$T/app.bin"
grep -q '^2 devices: 0 updated, 2 up to date, 0 failed$' <<<"$OUT" || fail "up to date: $OUT"

log "a device named twice, and a bare path with its hint"
expect_exit 1 dfuctl start node-1 node-1 "$T/app.bin"
grep -q "named twice" <<<"$OUT" || fail "twice: $OUT"
expect_exit 1 dfuctl start "$T/n1" "$T/app.bin"
grep -qF "did you mean 'serial:$T/n1'?" <<<"$OUT" || fail "no hint: $OUT"
mkimage -o "$T/app2.bin" --version 1.3.0 --size 6000 --seed 2
expect_exit 1 dfuctl start node-1 "$T/n2" "$T/app2.bin"
grep -qF "did you mean 'serial:$T/n2'?" <<<"$OUT" || fail "no hint among several: $OUT"
grep -Eq "^$T/n2 +- +refused: invalid-argument " <<<"$OUT" || fail "no refused row: $OUT"
[ "$(primary_of n1)" = "1.3.0 true" ] || fail "the other device was not updated"

log "--all takes the daemon's devices, by name or board"
mkimage -o "$T/app5.bin" --version 1.5.0 --size 6000 --seed 5
expect_exit 0 dfuctl start --all --match 'node-[12]' "$T/app5.bin"
grep -q '^2 devices: 2 updated, 0 up to date, 0 failed$' <<<"$OUT" || fail "--match: $OUT"
[ "$(primary_of n1)" = "1.5.0 true" ] && [ "$(primary_of n2)" = "1.5.0 true" ] || fail "--match did not update both"
mkimage -o "$T/app6.bin" --version 1.6.0 --size 6000 --seed 6
expect_exit 0 dfuctl start --all --board nrf5340dk "$T/app6.bin"
grep -q "^job [0-9]* node-2: succeeded" <<<"$OUT" || fail "--board: $OUT"
[ "$(primary_of n2)" = "1.6.0 true" ] && [ "$(primary_of n1)" = "1.5.0 true" ] || fail "--board picked the wrong devices"
expect_exit 3 dfuctl start --all --match 'porch-*' "$T/app6.bin"
grep -qF "no device named like porch-* known to dfud" <<<"$OUT" || fail "no match: $OUT"
expect_exit 1 dfuctl start --match 'node-*' node-1 "$T/app6.bin"
grep -q -- "--match and --board go with --all" <<<"$OUT" || fail "--match without --all: $OUT"

log "bundles that cannot be read: exit 3 and a plain message, for start and inspect"
for cmd in "start node-1" inspect; do
	# shellcheck disable=SC2086
	expect_exit 3 dfuctl $cmd "$T"
	[ "$OUT" = "dfuctl: $T: is a directory, not a bundle file" ] || fail "$cmd directory: $OUT"
	# shellcheck disable=SC2086
	expect_exit 3 dfuctl $cmd "$T/missing.bin"
	[ "$OUT" = "dfuctl: $T/missing.bin: No such file or directory" ] || fail "$cmd missing: $OUT"
done
cp "$T/app.bin" "$T/secret.bin"
chmod 000 "$T/secret.bin"
chmod 755 "$T"
as_user=()
[ "$(id -u)" = 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
for cmd in "start node-1" inspect; do
	# shellcheck disable=SC2086
	expect_exit 3 "${as_user[@]}" "$DFUCTL" $cmd "$T/secret.bin"
	[ "$OUT" = "dfuctl: $T/secret.bin: Permission denied" ] || fail "$cmd unreadable: $OUT"
done

log "on a narrow terminal every line is redrawn in place and fits"
mkimage -o "$T/app3.bin" --version 1.7.0 --size 30000 --seed 3
script -qec "stty cols 40 rows 24; exec '$DFUCTL' start node-2 node-1 '$T/app3.bin'" /dev/null >"$T/tty.out" ||
	fail "start on a terminal failed: $(cat "$T/tty.out")"
python3 - "$T/tty.out" <<'PY' || fail "the terminal view is wrong: $(cat -v "$T/tty.out")"
import re, sys
raw = open(sys.argv[1], encoding="utf-8", newline="").read().replace("\r\n", "\n")
view, _, rest = raw.partition("\nDEVICE")
assert rest, "no summary"
ups = view.count("\x1b[1A")
# two rows: each redraw but the first two goes up one line and writes one newline, and the
# newline that ends the view is the one before the summary
assert view.count("\n") == ups + 1, (view.count("\n"), ups)
lines = re.split(r"[\r\n]", re.sub(r"\x1b\[[0-9]*[AK]", "\r", view))
assert max(len(l) for l in lines) <= 39, max(lines, key=len)
last = [l for l in lines if l.startswith("job ")][-2:]
assert last[0].startswith("job ") and "node-1" in last[0] and "succeeded: success" in last[0], last
assert "node-2" in last[1] and "succeeded: success" in last[1], last
PY
[ "$(primary_of n1)" = "1.7.0 true" ] || fail "node-1 runs $(primary_of n1) after the terminal run"

log "more jobs than the terminal has lines: plain lines instead"
mkimage -o "$T/app4.bin" --version 1.7.1 --size 6000 --seed 4
script -qec "stty cols 80 rows 2; exec '$DFUCTL' start node-2 node-1 '$T/app4.bin'" /dev/null >"$T/short.out" ||
	fail "start on a short terminal failed: $(cat "$T/short.out")"
grep -q $'\e\\[1A' "$T/short.out" && fail "redrawn on a terminal too short: $(cat -v "$T/short.out")"
grep -q "^job [0-9]* node-1: succeeded: success" "$T/short.out" || fail "no plain lines: $(cat -v "$T/short.out")"

log "list names the devices and lines up its columns"
expect_exit 0 dfuctl list --all
header=$(head -n1 <<<"$OUT")
grep -q "DEVICE" <<<"$header" || fail "no DEVICE column: $OUT"
col=${header%%DEVICE*}
# every job of this test is for a device of devices.d, named in the same column
while IFS= read -r line; do
	[ "${line:${#col}:5}" = node- ] || fail "DEVICE column misaligned: '$line' in $OUT"
done < <(tail -n +2 <<<"$OUT")
grep -q " node-3 " <<<"$OUT" || fail "node-3's jobs not named: $OUT"

log "one key style in every JSON output: the D-Bus property style"
# member names of dfuctl's objects; the dictionaries the daemon fills keep its keys
keys_of() {
	jq -r 'def k: if type == "object" then (to_entries[] | select(.key != "DeviceError" and .key != "Images")
		| .key, (.value | k)) elif type == "array" then (.[] | k) else empty end; k'
}
mkimage -o "$T/app8.bin" --version 1.8.0 --size 6000 --seed 8
json=$(
	dfuctl codes --json
	dfuctl inspect --json "$T/app8.bin"
	dfuctl status --json
	dfuctl status --json -v 1
	dfuctl list --all --json
	dfuctl devices --json
	dfuctl info --json node-1
	dfuctl history --json
	dfuctl start --json --no-wait node-1 "$T/app8.bin"
	dfuctl start --json node-2 "$T/app8.bin"
	dfuctl watch --json --until-idle node-1
) || fail "a JSON command failed"
[ "$(keys_of <<<"$json" | sort -u | grep -c .)" -gt 40 ] || fail "too few keys seen: $json"
if bad=$(keys_of <<<"$json" | sort -u | grep -vE '^[A-Z][A-Za-z0-9]*$'); then
	fail "keys in another style: $bad"
fi
