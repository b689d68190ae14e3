#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Malformed bundles end in the 150 range with a message naming the problem,
# before a single byte reaches the device.
source "$(dirname "$0")/lib.sh"

start_dfud
start_sim dev --baud 0

bad() {
	local file=$1 name=$2 words=$3
	start_job 1 "serial:$T/dev" "$file"
	expect_job $n failed "$name"
	[ "$(job_prop $n StatusCode)" -ge 150 ] && [ "$(job_prop $n StatusCode)" -lt 200 ] || fail "code $(job_prop $n StatusCode)"
	grep -qi "$words" <<<"$(job_prop $n Message)" || fail "message '$(job_prop $n Message)' does not say '$words'"
}

mkimage -o "$T/magic.bin" --version 1.1.0 --size 4000 --bad-magic
mkimage -o "$T/hash.bin" --version 1.1.0 --size 4000 --bad-hash
mkimage -o "$T/short.bin" --version 1.1.0 --size 4000 --truncate 3000
head -c 5000 /dev/urandom >"$T/noise.bin"
mkimage -o "$T/good.bin" --version 1.1.0 --size 4000
"$MKIMAGE" zip -o "$T/good.zip" "$T/good.bin:0"
head -c 300 "$T/good.zip" >"$T/cut.zip"
"$MKIMAGE" nrf5 -o "$T/nrf5.zip" --application "$T/good.bin"
deep_manifest_zip "$T/deep.zip"

bad "$T/magic.bin" unsupported-bundle "mcuboot\|format\|recogn"
bad "$T/hash.bin" checksum-mismatch "hash"
bad "$T/short.bin" malformed-image "trunc\|short\|past\|end"
bad "$T/noise.bin" unsupported-bundle "mcuboot\|format\|recogn"
bad "$T/cut.zip" malformed-zip "zip"
bad "$T/nrf5.zip" unsupported-bundle "nordic"
bad "$T/deep.zip" malformed-manifest "manifest.json nests deeper than 32 levels"
dfud_alive

[ "$(sim_state dev .counters.upload_bytes)" = 0 ] || fail "bytes reached the device"
