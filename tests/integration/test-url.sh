#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bundles from URLs: an https download installed end to end, the cache
# reused by the next job, signatures that travel with the bundle, and the
# errors a URL can give (404, wrong digest, plain http).
source "$(dirname "$0")/lib.sh"

make_ca
EXTRA_CONFIG="[http]
CAFile=$CA_FILE"
write_config
start_lighttpd
start_dfud
start_sim dev --baud 0 --running-version 1.0.0
mkimage -o "$WWW/app.bin" --version 1.2.0 --size 30000 --seed 1
head -c 72 /dev/urandom >"$WWW/app.bin.sig"

log "https happy path: fetched, installed, the URL is the source"
expect_exit 0 dfuctl start "serial:$T/dev" "$HTTPS_URL/app.bin"
[ "$(primary_of dev)" = "1.2.0 true" ] || fail "device runs $(primary_of dev)"
expect_job 1 succeeded success
[ "$(job_prop 1 Source)" = "$HTTPS_URL/app.bin" ] || fail "source is $(job_prop 1 Source)"
cmp -s "$CACHE_DIRECTORY/signatures/1.sig" "$WWW/app.bin.sig" || fail "the signature was not kept with job 1"
cmp -s "$CACHE_DIRECTORY/bundles/$(sha256sum <"$WWW/app.bin" | cut -d' ' -f1).bundle" "$WWW/app.bin" ||
	fail "the bundle is not in the cache"

log "the same URL again: taken from the cache, nothing downloaded"
expect_exit 2 dfuctl start "serial:$T/dev" "$HTTPS_URL/app.bin"
expect_job 2 succeeded up-to-date
dfuctl status -v 2 | grep -q "found in the cache" || fail "job 2 did not reuse the cache"

log "a wrong expected-sha256 fails the job and keeps nothing"
mkimage -o "$WWW/other.bin" --version 1.3.0 --size 20000 --seed 2
expect_exit 1 dfuctl start -o expected-sha256="$(printf '0%.0s' $(seq 64))" "serial:$T/dev" "$HTTPS_URL/other.bin"
expect_job 3 failed checksum-mismatch
[ ! -e "$CACHE_DIRECTORY/bundles/$(sha256sum <"$WWW/other.bin" | cut -d' ' -f1).bundle" ] ||
	fail "a bundle with the wrong digest stayed in the cache"

log "the right expected-sha256, a signature from signature-url"
head -c 64 /dev/urandom >"$WWW/elsewhere.sig"
expect_exit 0 dfuctl start -o expected-sha256="$(sha256sum <"$WWW/other.bin" | cut -d' ' -f1)" \
	-o signature-url="$HTTPS_URL/elsewhere.sig" "serial:$T/dev" "$HTTPS_URL/other.bin"
expect_job 4 succeeded success
[ "$(primary_of dev)" = "1.3.0 true" ] || fail "device runs $(primary_of dev)"
cmp -s "$CACHE_DIRECTORY/signatures/4.sig" "$WWW/elsewhere.sig" || fail "signature-url was not used"

log "a 404 is refused at once, without retries"
expect_exit 1 dfuctl start "serial:$T/dev" "$HTTPS_URL/missing.bin"
expect_job 5 failed fetch-refused
[ "$("$DFUCTL" status --json 5 | jq -r '.DeviceError["http-status"]')" = 404 ] ||
	fail "no http-status in DeviceError: $("$DFUCTL" status --json 5 | jq -c .DeviceError)"
grep -q "hint:" <<<"$OUT" || fail "no hint printed: $OUT"

log "plain http is refused unless AllowPlainHttp"
expect_exit 1 dfuctl start "serial:$T/dev" "http://127.0.0.1:1/app.bin"
grep -q "plain http" <<<"$OUT" || fail "no reason given: $OUT"

log "a local bundle sends the signature beside it"
mkimage -o "$T/local.bin" --version 1.4.0 --size 10000 --seed 3
head -c 40 /dev/urandom >"$T/local.bin.sig"
expect_exit 0 dfuctl start "serial:$T/dev" "$T/local.bin"
cmp -s "$CACHE_DIRECTORY/signatures/6.sig" "$T/local.bin.sig" || fail "the local signature was not sent"

stop_lighttpd
[ "$(lighttpd_count "GET /app.bin ")" = 1 ] || fail "app.bin was fetched $(lighttpd_count "GET /app.bin ") times"
