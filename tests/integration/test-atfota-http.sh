#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nRF91 modules that really download the URL they are given, from a server
# on loopback: the image's own version runs afterwards, a missing file and a
# cut connection fail the download (the next attempt resumes where the cut
# left it), and an image of the wrong kind for the op is refused: by the
# daemon from the file's first bytes when it reaches the server, else by the
# module after its download.
source "$(dirname "$0")/lib.sh"

# start_modem NAME [dfu-sim-at options...]: a module on $T/NAME that fetches URLs from the test server
start_modem() {
	local name=$1
	shift
	start_at_modem "$name" --http --ca-file "$CA_FILE" --lineage sm --running-version 1.0.0 "$@"
}

make_ca
EXTRA_CONFIG="[http]
CAFile=$CA_FILE"
write_atfota_config 5
start_dfud
mkimage -o "$WWW/app_update.bin" --version 2.1.0 --size 60000 --seed 3
size=$(stat -c %s "$WWW/app_update.bin")

log "the module downloads the image from the server; its own version runs afterwards"
start_pyhttpd --rate 200000
start_modem app
expect_exit 0 dfuctl start -o sec-tag=42 -o expected-version=2.1.0 "serial:$T/app?protocol=atfota" "$PY_URL/app_update.bin"
expect_modem app version 2.1.0
expect_modem app downloads 1
[ "$(pyhttpd_count "GET /app_update.bin 200")" = 1 ] || fail "the module fetched $(cat "$T/pyhttpd.log")"
[ -z "$(find "$CACHE_DIRECTORY" -type f)" ] || fail "the daemon stored something"
stop_pyhttpd

log "a file the server does not have: the download fails"
start_pyhttpd
start_modem missing
missing=$(submit "serial:$T/missing?protocol=atfota" "$PY_URL/nothing.bin" -o sec-tag=42 -o max-attempts=1)
wait_job_done 20 "$missing"
expect_job "$missing" failed fetch-failed
# the daemon's look at the first bytes, then the module's download
[ "$(pyhttpd_count "GET /nothing.bin 404")" = 2 ] || fail "no 404: $(cat "$T/pyhttpd.log")"
grep -q "the daemon cannot read .*nothing.bin.*checks the image itself" "$T/dfud.log" ||
	fail "the daemon did not say that the module checks the image"
stop_pyhttpd

log "the server cuts the connection half way: the next attempt resumes from there"
start_pyhttpd --cut 30000
start_modem cut
cut=$(submit "serial:$T/cut?protocol=atfota" "$PY_URL/app_update.bin" -o sec-tag=42)
wait_job_done 30 "$cut"
expect_job "$cut" succeeded success
expect_modem cut version 2.1.0
expect_modem cut downloads 1
[ "$(pyhttpd_count "range=bytes=30000-")" = 1 ] || fail "the resume did not start at 30000: $(cat "$T/pyhttpd.log")"
stop_pyhttpd

log "an application image for a modem delta update: the daemon refuses it from its first bytes, before any download"
start_pyhttpd
start_modem kind
kind=$(submit "serial:$T/kind?protocol=atfota" "$PY_URL/app_update.bin" -o sec-tag=42 -o fota-op=2)
wait_job_done 20 "$kind"
expect_job "$kind" failed image-kind-mismatch
expect_modem kind starts 0
expect_modem kind version 1.0.0
[ "$(pyhttpd_count "GET /app_update.bin 206 range=bytes=0-31")" = 1 ] && [ "$(grep -c . "$T/pyhttpd.log")" = 1 ] ||
	fail "more than the first bytes were fetched: $(cat "$T/pyhttpd.log")"
stop_pyhttpd

log "a server the daemon cannot read (it lacks the server's CA): the module refuses the image after its download"
end_dfud 10 || fail "dfud did not stop cleanly"
EXTRA_CONFIG=${EXTRA_CONFIG/CAFile=$CA_FILE/} write_config
start_dfud
start_pyhttpd
start_modem kindca
kind=$(submit "serial:$T/kindca?protocol=atfota" "$PY_URL/app_update.bin" -o sec-tag=42 -o fota-op=2)
wait_job_done 20 "$kind"
expect_job "$kind" failed unsupported-bundle
expect_modem kindca starts 1
expect_modem kindca version 1.0.0
grep -q "the daemon cannot read https://.*checks the image itself" "$T/dfud.log" ||
	fail "the daemon did not say that the module checks the image"
stop_pyhttpd
end_dfud 10 || fail "dfud did not stop cleanly"
