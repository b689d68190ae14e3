#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Downloads that go wrong: a connection cut mid-file resumes with Range, a
# server without Range starts over, a 500 is retried then fails, a server
# that trickles hits the low-speed limit, and plain http needs AllowPlainHttp.
source "$(dirname "$0")/lib.sh"

make_ca
EXTRA_CONFIG="[http]
CAFile=$CA_FILE
LowSpeedLimit=1000
LowSpeedTimeSec=1
[verify]
Signature=off"
write_config
start_dfud
start_sim dev --baud 0 --running-version 1.0.0

log "the connection is cut mid-file: the retry resumes with Range"
mkimage -o "$WWW/cut.bin" --version 1.1.0 --size 60000 --seed 1
start_pyhttpd --cut 20000
expect_exit 0 dfuctl start "serial:$T/dev" "$PY_URL/cut.bin"
expect_job 1 succeeded success
[ "$(pyhttpd_count "GET /cut.bin 206 range=bytes=20000-")" = 1 ] ||
	fail "no resumed request: $(cat "$T/pyhttpd.log")"
dfuctl status -v 1 | grep -q "download 1 failed: fetch-failed" || fail "the cut is not in the history"
stop_pyhttpd

log "a server without Range: the retry downloads the whole file again"
mkimage -o "$WWW/norange.bin" --version 1.2.0 --size 60000 --seed 2
start_pyhttpd --cut 20000 --no-range
expect_exit 0 dfuctl start "serial:$T/dev" "$PY_URL/norange.bin"
expect_job 2 succeeded success
[ "$(primary_of dev)" = "1.2.0 true" ] || fail "device runs $(primary_of dev)"
[ "$(pyhttpd_count "GET /norange.bin 200 range=bytes=20000-")" = 1 ] ||
	fail "the retry did not ask for a range: $(cat "$T/pyhttpd.log")"
stop_pyhttpd

log "a 500 is retried MaxAttempts times, then fails with fetch-failed"
start_pyhttpd --status 500
expect_exit 1 dfuctl start "serial:$T/dev" "$PY_URL/cut.bin?again"
expect_job 3 failed fetch-failed
[ "$(pyhttpd_count "GET /cut.bin?again 500")" = 3 ] || fail "not three tries: $(cat "$T/pyhttpd.log")"
[ "$("$DFUCTL" status --json 3 | jq -r '.DeviceError["http-status"]')" = 500 ] || fail "no http-status 500"
stop_pyhttpd

log "a trickling server hits the low-speed limit"
start_pyhttpd --rate 300
expect_exit 1 dfuctl start -o max-attempts=2 "serial:$T/dev" "$PY_URL/norange.bin?slow"
expect_job 4 failed fetch-failed
# CURLE_OPERATION_TIMEDOUT
[ "$("$DFUCTL" status --json 4 | jq -r '.DeviceError["curl-code"]')" = 28 ] ||
	fail "not a timeout: $("$DFUCTL" status --json 4 | jq -c .DeviceError)"
[ "$(pyhttpd_count "GET /norange.bin?slow")" = 2 ] || fail "not two tries: $(cat "$T/pyhttpd.log")"
stop_pyhttpd

log "plain http is refused, and accepted once AllowPlainHttp is set"
PYHTTPD_PLAIN=1 start_pyhttpd
expect_exit 1 dfuctl start "serial:$T/dev" "$PY_URL/norange.bin?plain"
grep -q "plain http" <<<"$OUT" || fail "no reason given: $OUT"
stop_dfud
EXTRA_CONFIG="$EXTRA_CONFIG
[http]
AllowPlainHttp=true"
write_config
start_dfud
expect_exit 2 dfuctl start "serial:$T/dev" "$PY_URL/norange.bin?plain"
expect_job 5 succeeded up-to-date
[ "$(pyhttpd_count "GET /norange.bin?plain 200")" = 1 ] || fail "not fetched over http: $(cat "$T/pyhttpd.log")"
