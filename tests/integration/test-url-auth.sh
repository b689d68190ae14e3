#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The [http] settings for a server that wants more than a URL: a client
# certificate (mutual TLS), request headers (an access token), and a proxy
# that the download must go through.
source "$(dirname "$0")/lib.sh"

make_ca
make_client_cert
# the server admits only clients with a certificate from the test CA, and
# only requests that carry the token; its log shows the headers it saw
start_lighttpd "server.modules += (\"mod_access\")
ssl.ca-file = \"$CA_FILE\"
ssl.verifyclient.activate = \"enable\"
ssl.verifyclient.enforce = \"enable\"
accesslog.format = \"%r %>s auth=[%{Authorization}i] gateway=[%{X-Gateway}i]\"
\$REQUEST_HEADER[\"Authorization\"] != \"Bearer t0k3n\" {
	url.access-deny = (\"\")
}"
start_sim dev --baud 0 --running-version 1.0.0
mkimage -o "$WWW/app.bin" --version 1.1.0 --size 20000 --seed 1
mkimage -o "$WWW/proxied.bin" --version 1.2.0 --size 20000 --seed 2

HEADERS="Headers=Authorization: Bearer t0k3n; X-Gateway: 7"
CERT="ClientCertificate=$CLIENT_CERT
ClientKey=$CLIENT_KEY"

# restart_dfud [KEY=VALUE-LINES]: the daemon anew with this [http] section
restart_dfud() {
	[ -z "$DFUD_PID" ] || stop_dfud
	MAX_ATTEMPTS=1 EXTRA_CONFIG="[http]
CAFile=$CA_FILE
$1" write_config
	start_dfud
}

log "without a client certificate the TLS handshake is refused"
restart_dfud "$HEADERS"
job=$(submit "serial:$T/dev" "$HTTPS_URL/app.bin")
wait_job_done 20 "$job"
status=$(job_prop "$job" StatusName)
[ "$status" = fetch-failed ] || [ "$status" = fetch-refused ] ||
	fail "job $job ended $status: $(job_prop "$job" Message)"
"$DFUCTL" status --json "$job" | jq -r '.DeviceError["curl-error"] // empty' | grep -qiE 'certificate|alert' ||
	fail "no TLS error in DeviceError: $("$DFUCTL" status --json "$job" | jq -c .DeviceError)"
[ "$(primary_of dev)" = "1.0.0 true" ] || fail "device runs $(primary_of dev)"

log "with the certificate but no token the server answers 403"
restart_dfud "$CERT"
job=$(submit "serial:$T/dev" "$HTTPS_URL/app.bin")
wait_job_done 20 "$job"
expect_job "$job" failed fetch-refused
[ "$("$DFUCTL" status --json "$job" | jq -r '.DeviceError["http-status"]')" = 403 ] ||
	fail "not a 403: $("$DFUCTL" status --json "$job" | jq -c .DeviceError)"

log "with the certificate and the headers the device is updated"
restart_dfud "$CERT
$HEADERS"
expect_exit 0 dfuctl start "serial:$T/dev" "$HTTPS_URL/app.bin"
[ "$(primary_of dev)" = "1.1.0 true" ] || fail "device runs $(primary_of dev)"

log "through a proxy: the download is tunnelled, the token stays with the server"
start_proxy
port=${HTTPS_URL##*:}
# the loopback exemption of the other tests would bypass the proxy
DFUD_WRAPPER="env -u no_proxy -u NO_PROXY" restart_dfud "$CERT
$HEADERS
Proxy=$PROXY_URL"
expect_exit 0 dfuctl start "serial:$T/dev" "$HTTPS_URL/proxied.bin"
[ "$(primary_of dev)" = "1.2.0 true" ] || fail "device runs $(primary_of dev)"
[ "$(proxy_count "CONNECT 127.0.0.1:$port ")" -ge 1 ] || fail "the proxy saw no CONNECT: $(cat "$T/proxy.log")"
[ "$(proxy_count "Authorization")" = 0 ] || fail "the token was sent to the proxy: $(cat "$T/proxy.log")"

stop_lighttpd
[ "$(lighttpd_count "GET /app.bin HTTP/1.1 200 auth=[Bearer t0k3n] gateway=[7]")" = 1 ] ||
	fail "the headers did not reach the server: $(cat "$T/lighttpd-access.log")"
[ "$(lighttpd_count "GET /proxied.bin HTTP/1.1 200 auth=[Bearer t0k3n] gateway=[7]")" = 1 ] ||
	fail "the proxied download did not reach the server: $(cat "$T/lighttpd-access.log")"
