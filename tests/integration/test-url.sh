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

log "https happy path: fetched, installed, the URL is the source"
expect_exit 0 dfuctl start "serial:$T/dev" "$HTTPS_URL/app.bin"
[ "$(primary_of dev)" = "1.2.0 true" ] || fail "device runs $(primary_of dev)"
expect_job 1 succeeded success
[ "$(job_prop 1 Source)" = "$HTTPS_URL/app.bin" ] || fail "source is $(job_prop 1 Source)"
dfuctl status -v 1 | grep -q "no detached signature" || fail "the missing signature is not in the history"
cmp -s "$CACHE_DIRECTORY/bundles/$(sha256_of "$WWW/app.bin").bundle" "$WWW/app.bin" ||
	fail "the bundle is not in the cache"

log "the same URL again: taken from the cache, nothing downloaded"
expect_exit 2 dfuctl start "serial:$T/dev" "$HTTPS_URL/app.bin"
expect_job 2 succeeded up-to-date
dfuctl status -v 2 | grep -q "found in the cache" || fail "job 2 did not reuse the cache"

log "a wrong expected-sha256 fails the job and keeps nothing"
mkimage -o "$WWW/other.bin" --version 1.3.0 --size 20000 --seed 2
expect_exit 1 dfuctl start -o expected-sha256="$(printf '0%.0s' $(seq 64))" "serial:$T/dev" "$HTTPS_URL/other.bin"
expect_job 3 failed checksum-mismatch
[ ! -e "$CACHE_DIRECTORY/bundles/$(sha256_of "$WWW/other.bin").bundle" ] ||
	fail "a bundle with the wrong digest stayed in the cache"

log "the right expected-sha256 installs"
expect_exit 0 dfuctl start -o expected-sha256="$(sha256_of "$WWW/other.bin")" "serial:$T/dev" "$HTTPS_URL/other.bin"
expect_job 4 succeeded success
[ "$(primary_of dev)" = "1.3.0 true" ] || fail "device runs $(primary_of dev)"

# the verify step judges these made-up signatures: only their way here is checked
log "the signature beside the URL, or at signature-url, is kept with the job"
mkimage -o "$WWW/signed.bin" --version 1.4.0 --size 10000 --seed 4
head -c 72 /dev/urandom >"$WWW/signed.bin.sig"
head -c 64 /dev/urandom >"$WWW/elsewhere.sig"
beside=$(submit "serial:$T/dev" "$HTTPS_URL/signed.bin")
wait_job_done 30 "$beside"
cmp -s "$CACHE_DIRECTORY/signatures/$beside.sig" "$WWW/signed.bin.sig" || fail "<url>.sig was not kept"
elsewhere=$(submit "serial:$T/dev" "$HTTPS_URL/signed.bin" -o signature-url="$HTTPS_URL/elsewhere.sig")
wait_job_done 30 "$elsewhere"
cmp -s "$CACHE_DIRECTORY/signatures/$elsewhere.sig" "$WWW/elsewhere.sig" || fail "signature-url was not used"

log "a 404 is refused at once, without retries"
expect_exit 1 dfuctl start "serial:$T/dev" "$HTTPS_URL/missing.bin"
missing=$((elsewhere + 1))
expect_job "$missing" failed fetch-refused
[ "$("$DFUCTL" status --json "$missing" | jq -r '.DeviceError["http-status"]')" = 404 ] ||
	fail "no http-status in DeviceError: $("$DFUCTL" status --json "$missing" | jq -c .DeviceError)"
dfuctl status -v "$missing" | grep -q "download 1 failed" && fail "a 404 was retried"
grep -q "hint:" <<<"$OUT" || fail "no hint printed: $OUT"

log "plain http is refused unless AllowPlainHttp"
expect_exit 1 dfuctl start "serial:$T/dev" "http://127.0.0.1:1/app.bin"
grep -q "plain http" <<<"$OUT" || fail "no reason given: $OUT"

log "a URL whose manifest nests 200000 deep: malformed, and the daemon lives on"
deep_manifest_zip "$WWW/deep.zip"
deep_job=$(submit "serial:$T/dev" "$HTTPS_URL/deep.zip")
wait_job_done 30 "$deep_job"
expect_job "$deep_job" failed malformed-manifest
dfud_alive

log "a local bundle sends the signature beside it"
mkimage -o "$T/local.bin" --version 1.5.0 --size 10000 --seed 3
head -c 40 /dev/urandom >"$T/local.bin.sig"
local_job=$(submit "serial:$T/dev" "$T/local.bin")
wait_job_done 30 "$local_job"
cmp -s "$CACHE_DIRECTORY/signatures/$local_job.sig" "$T/local.bin.sig" || fail "the local signature was not sent"

stop_lighttpd
[ "$(lighttpd_count "GET /app.bin ")" = 1 ] || fail "app.bin was fetched $(lighttpd_count "GET /app.bin ") times"
