#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The hawkBit DDI test server against a DDI client written elsewhere (SWUpdate's
# suricatta) and against the rules of the DDI API checked by hand with curl.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hawkbit-lib.sh"

start_ddi_server --gateway-token gwtoken --sleep 00:00:01
auth=(-H "Authorization: GatewayToken gwtoken")
base=$DDI_URL/DEFAULT/controller/v1

# --- the API's rules ---
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
[ "$(code "$base/node-a")" = 401 ] || fail "a poll without a token was not refused"
[ "$(code -H 'Authorization: GatewayToken wrong' "$base/node-a")" = 401 ] || fail "a wrong token was not refused"
[ "$(code "${auth[@]}" "$base/node-a")" = 200 ] || fail "the first poll did not create the target"
jq -e '.config.polling.sleep == "00:00:01" and (._links.configData.href | endswith("/node-a/configData"))' "$T/body" >/dev/null ||
	fail "first contact does not ask for configData: $(cat "$T/body")"
etag=$(curl -s -D - -o /dev/null "${auth[@]}" "$base/node-a" | tr -d '\r' | sed -n 's/^ETag: //Ip')
[ "$(code "${auth[@]}" -H "If-None-Match: $etag" "$base/node-a")" = 304 ] || fail "the poll's ETag is not honoured"
[ "$(code "${auth[@]}" -X PUT -H 'Content-Type: application/json' -d '{"mode":"merge","data":{"k":"v"}}' "$base/node-a/configData")" = 200 ] ||
	fail "configData refused"
[ "$(ddi_state '.targets["node-a"].attributes.k')" = v ] || fail "configData not kept"

head -c 3000 /dev/urandom >"$T/fw.bin"
ddi_create "$T/fw.bin" node-a
aid=$ACTIONS
code "${auth[@]}" "$base/node-a" >/dev/null
dep=$(jq -r '._links.deploymentBase.href' "$T/body")
[[ $dep == */deploymentBase/$aid\?c=* ]] || fail "no deploymentBase link: $(cat "$T/body")"
[ "$(code "${auth[@]}" "$dep")" = 200 ] || fail "deploymentBase not served"
art=$(jq -r '.deployment.chunks[0].artifacts[0]._links["download-http"].href' "$T/body")
[ "$(jq -r '.deployment.chunks[0].artifacts[0].hashes.sha256' "$T/body")" = "$(sha256_of "$T/fw.bin")" ] || fail "wrong sha256"
[ "$(code "${auth[@]}" -H 'Range: bytes=1000-' "$art")" = 206 ] || fail "no 206 for a range"
cmp -s "$T/body" <(tail -c 2000 "$T/fw.bin") || fail "the range is not the file's end"
[ "$(code "${auth[@]}" -H 'Range: bytes=3000-' "$art")" = 416 ] || fail "no 416 past the end"
[ "$(code "${auth[@]}" -H 'Range: bytes=-10' "$art")" = 206 ] && cmp -s "$T/body" <(tail -c 10 "$T/fw.bin") ||
	fail "a suffix range is not the file's end"
[ "$(code "${auth[@]}" -H 'Range: bytes=0-9,100-109' "$art")" = 206 ] || fail "no 206 for two ranges"
[ "$(grep -c "^Content-Range: bytes" "$T/body")" = 2 ] || fail "not two parts in the multipart answer"
[ "$(code "${auth[@]}" -H 'If-Match: "0000"' "$art")" = 412 ] || fail "no 412 for a wrong If-Match"
[ "$(code "${auth[@]}" -H 'Range: bytes=1000-' -H 'If-Range: "0000"' "$art")" = 200 ] || fail "If-Range ignored"
[ "$(code "$art")" = 401 ] || fail "a download without a token was not refused"
# fault knobs: a 5xx, a corrupted byte, a cut body
ddi_ctl POST config '{"faults": {"fail_5xx": 1}}' >/dev/null
[ "$(code "${auth[@]}" "$art")" = 503 ] || fail "no 503 from the fault knob"
[ "$(code "${auth[@]}" "$art")" = 200 ] || fail "the 503 did not stop after one"
ddi_ctl POST config '{"faults": {"corrupt": true}}' >/dev/null
code "${auth[@]}" "$art" >/dev/null
cmp -s "$T/body" "$T/fw.bin" && fail "the corrupt knob changed nothing"
ddi_ctl POST config '{"faults": {"cut_after": 100, "cut_count": 1}}' >/dev/null
code "${auth[@]}" "$art" >/dev/null || true
[ "$(stat -c %s "$T/body")" = 100 ] || fail "the cut knob sent $(stat -c %s "$T/body") bytes"
ddi_ctl POST config '{"faults": {}}' >/dev/null
# artifacts on a "CDN" path that needs no token
ddi_ctl POST config '{"cdn": true}' >/dev/null
code "${auth[@]}" "$dep" >/dev/null
cdn=$(jq -r '.deployment.chunks[0].artifacts[0]._links["download-http"].href' "$T/body")
[[ $cdn == "$DDI_URL/cdn/"* ]] || fail "no CDN link: $cdn"
[ "$(code "$cdn")" = 200 ] && cmp -s "$T/body" "$T/fw.bin" || fail "the CDN download failed"
ddi_ctl POST config '{"cdn": false}' >/dev/null
fb=$base/node-a/deploymentBase/$aid/feedback
post() { code "${auth[@]}" -X POST -H 'Content-Type: application/json' -d "$1" "$fb"; }
[ "$(post '{"status":{"result":{"finished":"none"}}}')" = 400 ] || fail "feedback without execution accepted"
[ "$(post '{"status":{"execution":"proceeding"}}')" = 400 ] || fail "feedback without result.finished accepted"
[ "$(post '{"id":"1","time":"x","status":{"execution":"proceeding","result":{"finished":"none"}}}')" = 200 ] ||
	fail "feedback with legacy keys refused"
[ "$(post '{"status":{"execution":"closed","result":{"finished":"success"},"code":1}}')" = 200 ] || fail "closed refused"
[ "$(post '{"status":{"execution":"proceeding","result":{"finished":"none"}}}')" = 410 ] || fail "no 410 after close"
code "${auth[@]}" "$base/node-a" >/dev/null
jq -e "._links.installedBase.href | endswith(\"/installedBase/$aid\")" "$T/body" >/dev/null ||
	fail "no installedBase link after the action: $(cat "$T/body")"

# --- SWUpdate's suricatta as the client ---
help=$(swupdate -h 2>&1 || true)
if ! grep -q -- '--suricatta' <<<"$help"; then
	log "swupdate with suricatta is not installed: skipping its part"
	exit 77
fi
d=$T/swu
mkdir -p "$d"
head -c 1500 /dev/urandom >"$d/payload.bin"
cat >"$d/sw-description" <<DESC
software = {
	version = "1.0.1";
	hardware-compatibility = [ "1.0" ];
	images: ( {
		filename = "payload.bin";
		type = "raw";
		device = "$d/out.bin";
		sha256 = "$(sha256_of "$d/payload.bin")";
	} );
}
DESC
(
	cd "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=swu-signer \
		-addext keyUsage=digitalSignature -addext extendedKeyUsage=emailProtection
	openssl cms -sign -in sw-description -out sw-description.sig -signer cert.pem -inkey key.pem -outform DER \
		-nosmimecap -binary
) >>"$T/openssl.log" 2>&1 || fail "cannot sign the sw-description"
# an .swu is a cpio archive in the "new ASCII with CRC" format, sw-description first
python3 - "$d" <<'PY'
import sys
d = sys.argv[1]
def entry(name, data, ino):
    fields = (ino, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, sum(data) & 0xffffffff)
    out = ("070702" + "".join("%08X" % v for v in fields)).encode() + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4)
    return out + data + b"\0" * (-len(data) % 4)
blob = b"".join(entry(n, open("%s/%s" % (d, n), "rb").read(), i + 1)
                for i, n in enumerate(["sw-description", "sw-description.sig", "payload.bin"]))
open(d + "/update.swu", "wb").write(blob + entry("TRAILER!!!", b"", 0))
PY
touch "$d/out.bin"
ddi_create "$d/update.swu" swu-node
aid=$ACTIONS
suricatta() {
	timeout "$1" swupdate -v -H board:1.0 -k "$d/cert.pem" -u "-t DEFAULT -u $DDI_URL -i swu-node $2 -p 1 ${3:-}" \
		>>"$T/swupdate.log" 2>&1 || true
}
suricatta 8 "-g wrongtoken"
cmp -s "$d/payload.bin" "$d/out.bin" && fail "suricatta installed with a refused token"
[ "$(ddi_state ".actions[\"$aid\"].feedback | length")" = 0 ] || fail "feedback accepted with a refused token"
suricatta 10 "-g gwtoken"
cmp -s "$d/payload.bin" "$d/out.bin" || fail "suricatta did not install the artifact"
[ "$(ddi_state ".actions[\"$aid\"].feedback[0].execution")" = proceeding ] || fail "no proceeding feedback from suricatta"
# after the "reboot", suricatta confirms the update
suricatta 5 "-g gwtoken" "-c 2"
[ "$(ddi_action_status "$aid")" = FINISHED ] || fail "suricatta's success did not close the action: $(ddi_action_status "$aid")"
grep -q "GET /DEFAULT/controller/v1/swu-node/softwaremodules/.*/artifacts/update.swu 200" "$T/ddi.log" ||
	fail "suricatta did not download the artifact"

# a cancel reaches suricatta, which acknowledges it
ddi_create "$d/update.swu" swu-node
aid=$ACTIONS
ddi_ctl POST "actions/$aid/cancel" >/dev/null
suricatta 5 "-g gwtoken"
[ "$(ddi_action_status "$aid")" = CANCELED ] || fail "suricatta's cancel did not close the action: $(ddi_action_status "$aid")"
log "ok"
