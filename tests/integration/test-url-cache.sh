#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The download side of the queue: kill -9 during a download resumes it after
# the restart, the cache keeps to MaxSize by dropping the least recently used
# bundles, cancelling stops a transfer only when no other job waits for it,
# and 50 jobs for one URL make one request.
source "$(dirname "$0")/lib.sh"

make_ca
MAX_ATTEMPTS=1
EXTRA_CONFIG="[http]
CAFile=$CA_FILE
[cache]
MaxSize=250K"
write_config
start_lighttpd "connection.kbytes-per-second = 64"
start_dfud
start_sim dev --baud 0 --running-version 1.0.0

fetching_past() {
	[ "$(job_prop "$1" Phase)" = fetching ] && [ "$(job_prop "$1" BytesDone)" -gt "$2" ]
}
part_size() {
	stat -c %s "$CACHE_DIRECTORY"/partial/*.part 2>/dev/null | sort -n | tail -n1
}

log "kill -9 during a download; the restarted daemon resumes it with Range"
mkimage -o "$WWW/big.bin" --version 1.5.0 --size 200000 --seed 1
big=$(submit "serial:$T/dev" "$HTTPS_URL/big.bin")
wait_for 20 "job $big downloading" fetching_past "$big" 40000
kill9_dfud
before=$(part_size)
[ "${before:-0}" -gt 40000 ] || fail "no partial file after the kill (${before:-none})"
start_dfud
wait_for 30 "job $big to succeed" job_state_is "$big" succeeded
[ "$(primary_of dev)" = "1.5.0 true" ] || fail "device runs $(primary_of dev)"
dfuctl status -v "$big" | grep -q "fetching again" || fail "no second download in the history"
[ "$(job_prop "$big" BytesTotal)" -ge 200000 ] || fail "BytesTotal $(job_prop "$big" BytesTotal)"

log "the cache keeps to MaxSize: least recently used bundles go first"
mkimage -o "$WWW/a.bin" --version 2.0.0 --size 60000 --seed 2
mkimage -o "$WWW/b.bin" --version 2.1.0 --size 60000 --seed 3
mkimage -o "$WWW/c.bin" --version 2.2.0 --size 150000 --seed 4
cached() { [ -f "$CACHE_DIRECTORY/bundles/$(sha256_of "$1").bundle" ]; }
for name in a b; do
	id=$(submit "serial:$T/nodev" "$HTTPS_URL/$name.bin")
	wait_job_done 20 "$id"
done
cached "$WWW/a.bin" && cached "$WWW/b.bin" || fail "a new bundle was dropped"
cached "$WWW/big.bin" && fail "the oldest bundle stayed although the cache is full"
# a job for a.bin makes it the most recently used one
id=$(submit "serial:$T/nodev" "$HTTPS_URL/a.bin")
wait_job_done 20 "$id"
dfuctl status -v "$id" | grep -q "found in the cache" || fail "a.bin was not reused"
id=$(submit "serial:$T/nodev" "$HTTPS_URL/c.bin")
wait_job_done 20 "$id"
cached "$WWW/a.bin" && cached "$WWW/c.bin" || fail "a recently used bundle was dropped"
cached "$WWW/b.bin" && fail "the least recently used bundle stayed"

log "cancelling one of two jobs on one download leaves the other one's"
mkimage -o "$WWW/shared.bin" --version 3.0.0 --size 300000 --seed 5
one=$(submit "serial:$T/nodev1" "$HTTPS_URL/shared.bin")
two=$(submit "serial:$T/nodev2" "$HTTPS_URL/shared.bin")
wait_for 20 "job $one downloading" fetching_past "$one" 0
expect_exit 0 dfuctl abort "$one"
expect_job "$one" cancelled cancelled
wait_job_done 20 "$two"
expect_job "$two" failed link-not-found

log "cancelling the only job on a download stops the transfer"
mkimage -o "$WWW/lone.bin" --version 3.1.0 --size 200000 --seed 6
lone=$(submit "serial:$T/nodev" "$HTTPS_URL/lone.bin")
wait_for 20 "job $lone downloading" fetching_past "$lone" 0
expect_exit 0 dfuctl abort "$lone"
sleep 0.3
stopped=$(part_size)
sleep 1
[ "$(part_size)" = "$stopped" ] || fail "the transfer went on after the cancel"

log "50 jobs for one URL submitted at once make one request"
mkimage -o "$WWW/many.bin" --version 4.0.0 --size 60000 --seed 7
pids=()
for i in $(seq 50); do
	"$DFUCTL" start --no-wait "serial:$T/many$i" "$HTTPS_URL/many.bin" >>"$T/dfuctl.log" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a submission failed"; done
all_done() {
	[ "$("$DFUCTL" list --all --json | jq -s '[.[] | select(.Source | endswith("/many.bin")) |
		select(.State == "failed")] | length')" = 50 ]
}
wait_for 30 "the 50 jobs to finish" all_done
[ "$("$DFUCTL" list --all --json | jq -s '[.[] | select(.Source | endswith("/many.bin")) |
	select(.StatusName != "link-not-found")] | length')" = 0 ] || fail "a job failed in its download"

stop_lighttpd
[ "$(lighttpd_count '"GET /many.bin HTTP')" = 1 ] ||
	fail "many.bin was requested $(lighttpd_count '"GET /many.bin HTTP') times"
[ "$(lighttpd_count '"GET /big.bin HTTP/1.1" 206')" = 1 ] || fail "big.bin was not resumed: $(grep big.bin "$T/lighttpd-access.log")"
# the resumed response carried only what the partial file lacked
resumed=$(grep -F '"GET /big.bin HTTP/1.1" 206' "$T/lighttpd-access.log" | awk '{print $10}')
[ "$resumed" -le $(($(stat -c %s "$WWW/big.bin") - before)) ] || fail "the resume sent $resumed bytes after $before were kept"
