#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dfuctl list reads the jobs through Manager.QueryJobs a page at a time: each
# row is what the job's own status shows, the state and device filters pick
# the right jobs, and small pages give the same list as one call.
source "$(dirname "$0")/lib.sh"

FIRST_TIMEOUT=3600 write_config
mkdir -p "$T/devices.d"
# a device whose first upload waits for a slot erase that never ends: job 1 runs, 2-4 wait
start_sim busy --erase-ms 3600000
BUSY="serial:$T/busy?framing=console"
cat >"$T/devices.d/list.conf" <<CONF
[Device busy]
Target=$BUSY
CONF
mkimage -o "$T/image.bin" --version 2.0.0 --size 4096 --seed 1
bundle=$(cache_bundle "$T/image.bin")
store_jobs 1 4 queued "$BUSY" "$bundle"
store_jobs 5 9 succeeded serial:/dev/ttyLIST
now=$(date +%s%6N)
# finished_job ID STATE CODE: a finished job of serial:/dev/ttyLIST in the job store
finished_job() {
	printf '{"id":%d,"target":"serial:/dev/ttyLIST","source":"stored","options":{},"state":"%s","phase":"done","status-code":%d,"message":"stored %s","created":%d,"started":%d,"finished":%d,"history":["%d\tsubmitted"]}\n' \
		"$1" "$2" "$3" "$2" "$now" "$now" "$now" "$now" >"$STATE_DIRECTORY/jobs/$1.json"
}
finished_job 10 failed 11
finished_job 11 failed 13
finished_job 12 cancelled 0
echo 13 >"$STATE_DIRECTORY/next-id"
start_dfud
wait_for 30 "job 1 to upload" sh -c "'$DFUCTL' status --json 1 | jq -e '.Phase == \"uploading\"'"

# ids ARGS...: the ids that dfuctl list --json ARGS... prints, on one line
ids() {
	dfuctl list --json "$@" | jq -r .Id | paste -sd' '
}

log "every row is the job's own status (which names no device)"
dfuctl list -a --json >"$T/list.json"
[ "$(jq -s length "$T/list.json")" = 12 ] || fail "not 12 jobs: $(cat "$T/list.json")"
for id in 1 3 5 10 11 12; do
	listed=$(jq -cS "select(.Id == $id) | del(.Device)" "$T/list.json")
	shown=$(dfuctl status --json "$id" | jq -cS 'del(.Device)')
	[ "$listed" = "$shown" ] || fail "job $id: list says $listed, status says $shown"
done
[ "$(jq -r 'select(.Id == 1) | .State + " " + .Device' "$T/list.json")" = "running busy" ] ||
	fail "job 1 is not running on busy"
[ "$(jq -r 'select(.Id == 10) | .StatusName + " " + .Message' "$T/list.json")" = "connect-failed stored failed" ] ||
	fail "job 10: $(jq -c 'select(.Id == 10)' "$T/list.json")"
# the text table: a header and one row per job, id and state as in the JSON
dfuctl list -a | awk 'NR > 1 { print $1, $2 }' >"$T/rows"
jq -r '"\(.Id) \(.State)"' "$T/list.json" | diff - "$T/rows" || fail "the table and the JSON differ"

log "filters"
[ "$(ids)" = "1 2 3 4" ] || fail "unfinished: $(ids)"
[ "$(ids --state failed --state cancelled)" = "10 11 12" ] || fail "failed, cancelled: $(ids --state failed --state cancelled)"
[ "$(ids --device busy)" = "1 2 3 4" ] || fail "by name: $(ids --device busy)"
[ "$(ids -a --device serial:/dev/ttyLIST)" = "5 6 7 8 9 10 11 12" ] || fail "by target: $(ids -a --device serial:/dev/ttyLIST)"
[ "$(ids --device serial:/dev/ttyLIST --state succeeded)" = "5 6 7 8 9" ] || fail "both filters"
[ -z "$(ids --device nothing -a)" ] || fail "an unknown device matched"
expect_exit 0 dfuctl list --device nothing -a
[ "$OUT" = "no jobs" ] || fail "empty list: $OUT"
expect_exit 1 dfuctl list --state done
grep -q 'unknown job state "done"' <<<"$OUT" || fail "bad state: $OUT"

log "pages: the same list however small they are"
for size in 1 2 5; do
	DFUCTL_TEST_PAGE_SIZE=$size dfuctl list -a --json | diff - "$T/list.json" || fail "pages of $size differ"
	[ "$(DFUCTL_TEST_PAGE_SIZE=$size ids --state succeeded --state failed)" = "5 6 7 8 9 10 11" ] ||
		fail "pages of $size, filtered"
done
# query PARAMS: the reply of QueryJobs as JSON
query() {
	busctl --address="$DBUS_SESSION_BUS_ADDRESS" --json=short call org.dfud1 /org/dfud1 org.dfud1.Manager \
		QueryJobs asstu "$@"
}
[ "$(query 0 "" 0 3 | jq -c '[[.data[0][][0]], .data[1]]')" = '[[1,2,3],3]' ] || fail "first page: $(query 0 "" 0 3)"
[ "$(query 1 succeeded "" 6 2 | jq -c '[[.data[0][][0]], .data[1]]')" = '[[7,8],8]' ] || fail "a middle page"
[ "$(query 0 "" 10 5 | jq -c '[[.data[0][][0]], .data[1]]')" = '[[11,12],0]' ] || fail "the last page"
