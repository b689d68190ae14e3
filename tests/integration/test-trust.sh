#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Trusting bundles end to end: the signature policy, the board a device
# declares and the size of its slots are checked before a byte reaches it.
# Keys and signatures are made with the commands of README.md's "Signing
# bundles" section, run as written.
source "$(dirname "$0")/lib.sh"

: "${DFUD_SOURCE_ROOT:?run through meson test}"
KEYS=$T/keys
SIGN=$T/sign
mkdir -p "$KEYS" "$SIGN" "$T/devices.d"

# the indented openssl lines of the README section, in order
mapfile -t DOC < <(sed -n '/^## Signing bundles/,/^## [^S]/p' "$DFUD_SOURCE_ROOT/README.md" |
	sed -n 's/^    \(openssl .*\)$/\1/p')
[ "${#DOC[@]}" = 6 ] || fail "README's Signing bundles section has ${#DOC[@]} openssl commands, expected 6"
doc() { (cd "$SIGN" && eval "${DOC[$1]}") >>"$T/openssl.log" 2>&1 || fail "documented command failed: ${DOC[$1]}"; }

log "key pairs as documented"
for i in 0 1 2 3; do doc $i; done
cp "$SIGN/release-ec.pub.pem" "$KEYS/release-ec.pem"
cp "$SIGN/release-ed.pub.pem" "$KEYS/release-ed.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/rogue.pem" 2>>"$T/openssl.log"

# sign_as WAY BUNDLE: signs BUNDLE with the documented ECDSA (4) or Ed25519 (5) command, giving BUNDLE.sig
sign_as() {
	cp "$2" "$SIGN/dfu_application.zip"
	doc "$1"
	cp "$SIGN/dfu_application.zip.sig" "$2.sig"
}

# bundle NAME VERSION BOARD [SIZE]: a dfu_application.zip for BOARD
bundle() {
	mkimage -o "$T/$1.bin" --version "$2" --size "${4:-20000}" --seed "${2//./}"
	"$MKIMAGE" zip -o "$T/$1.zip" --board "$3" --soc nrf52840 "$T/$1.bin"
}

cat >"$T/devices.d/trust.conf" <<CONF
[Device node]
Target=serial:$T/dev
Board=nrf52840dk

[Device tiny]
Target=serial:$T/tiny
Board=nrf52840dk
CONF

EXTRA_CONFIG="[verify]
Signature=required
KeyDirectory=$KEYS"
write_config
start_dfud
start_sim dev --baud 0 --running-version 1.0.0
start_sim tiny --baud 0 --running-version 1.0.0 --slot-size 32768
n=0

# refused JOB-STATUS WORDS: the last job failed with that status, saying WORDS, and nothing was uploaded
refused() {
	n=$((n + 1))
	expect_job $n failed "$1"
	grep -qi -- "$2" <<<"$(job_prop $n Message)" || fail "job $n says '$(job_prop $n Message)', not '$2'"
	[ "$(sim_state dev .counters.upload_bytes)" = "$UPLOADED" ] || fail "job $n reached the device"
}
history_has() {
	dfuctl status -v "$1" | grep -qF -- "$2" || fail "job $1's history lacks '$2': $(dfuctl status -v "$1")"
}
UPLOADED=0

log "required, no signature: refused, device untouched"
bundle plain 1.1.0 nrf52840dk
expect_exit 1 dfuctl start node "$T/plain.zip"
refused bad-signature "without one"
[ "$(primary_of dev)" = "1.0.0 true" ] || fail "device runs $(primary_of dev)"

log "required, a manifest nesting 200000 deep: refused unsigned and unparsed, malformed when signed"
deep_manifest_zip "$T/deep.zip"
expect_exit 1 dfuctl start node "$T/deep.zip"
refused bad-signature "without one"
sign_as 4 "$T/deep.zip"
expect_exit 1 dfuctl start node "$T/deep.zip"
refused malformed-manifest "manifest.json nests deeper than 32 levels"
history_has $n "verify: bundle signature verified with key $KEYS/release-ec.pem"
dfud_alive

log "required, ECDSA signature: updated, the key is named"
bundle ec 1.1.0 nrf52840dk
sign_as 4 "$T/ec.zip"
expect_exit 0 dfuctl start node "$T/ec.zip"
n=$((n + 1))
expect_job $n succeeded success
history_has $n "verify: bundle signature verified with key $KEYS/release-ec.pem"
history_has $n "verify: board nrf52840dk matches the bundle"
[ "$(primary_of dev)" = "1.1.0 true" ] || fail "device runs $(primary_of dev)"

log "required, Ed25519 signature: updated"
bundle ed 1.2.0 nrf52840dk/nrf52840
sign_as 5 "$T/ed.zip"
expect_exit 0 dfuctl start node "$T/ed.zip"
n=$((n + 1))
expect_job $n succeeded success
history_has $n "verify: bundle signature verified with key $KEYS/release-ed.pem"
[ "$(primary_of dev)" = "1.2.0 true" ] || fail "device runs $(primary_of dev)"
UPLOADED=$(sim_state dev .counters.upload_bytes)

log "a signature by an untrusted key: refused"
bundle rogue 1.3.0 nrf52840dk
openssl dgst -sha256 -sign "$T/rogue.pem" -out "$T/rogue.zip.sig" "$T/rogue.zip"
expect_exit 1 dfuctl start node "$T/rogue.zip"
refused bad-signature "does not verify"

log "a bundle changed after signing: refused"
bundle changed 1.3.0 nrf52840dk
sign_as 4 "$T/changed.zip"
bundle changed 1.3.1 nrf52840dk
expect_exit 1 dfuctl start node "$T/changed.zip"
refused bad-signature "does not verify"

log "a bundle for another board: refused, naming both"
bundle other 1.3.0 nrf5340dk
sign_as 4 "$T/other.zip"
expect_exit 1 dfuctl start node "$T/other.zip"
refused board-mismatch "nrf5340dk.*is a nrf52840dk"
[ "$(job_prop $n StatusCode)" = 156 ] || fail "board mismatch is code $(job_prop $n StatusCode)"

log "an image larger than the device's slot: refused before the upload"
bundle big 1.3.0 nrf52840dk 40000
sign_as 5 "$T/big.zip"
expect_exit 1 dfuctl start tiny "$T/big.zip"
n=$((n + 1))
expect_job $n failed image-too-large
[ "$(job_prop $n StatusCode)" = 157 ] || fail "too large is code $(job_prop $n StatusCode)"
grep -q "slot of 32768 bytes" <<<"$(job_prop $n Message)" || fail "message: $(job_prop $n Message)"
[ "$(sim_state tiny .counters.upload_bytes)" = 0 ] || fail "bytes reached the tiny device"

log "optional, no signature: updated, noted in the history"
stop_dfud
EXTRA_CONFIG="[verify]
Signature=optional
KeyDirectory=$KEYS"
write_config
start_dfud
bundle loose 1.4.0 nrf52840dk
expect_exit 0 dfuctl start node "$T/loose.zip"
n=$((n + 1))
expect_job $n succeeded success
history_has $n "verify: bundle is not signed"
[ "$(primary_of dev)" = "1.4.0 true" ] || fail "device runs $(primary_of dev)"

log "dfuctl inspect agrees with the daemon"
expect_exit 0 dfuctl inspect --keys "$KEYS" "$T/ec.zip"
grep -qF "bundle signature: signed, verified by $KEYS/release-ec.pem" <<<"$OUT" || fail "inspect: $OUT"
expect_exit 1 dfuctl inspect --keys "$KEYS" "$T/rogue.zip"
expect_exit 0 dfuctl inspect --keys "$KEYS" "$T/loose.zip"
grep -q "bundle signature: unsigned" <<<"$OUT" || fail "inspect: $OUT"
expect_exit 1 dfuctl inspect --keys "$KEYS" "$T/deep.zip"
grep -qF "malformed-manifest (152): manifest.json nests deeper than 32 levels" <<<"$OUT" || fail "inspect: $OUT"
openssl dgst -sha256 -sign "$T/rogue.pem" -out "$T/deep.zip.sig" "$T/deep.zip"
expect_exit 1 dfuctl inspect --keys "$KEYS" "$T/deep.zip"
grep -qF "bad-signature (154)" <<<"$OUT" || fail "inspect: $OUT"
