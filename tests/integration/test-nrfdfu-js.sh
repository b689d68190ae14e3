#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nordic's own client, pc-nrf-dfu-js, updates dfu-sim's Secure DFU bootloader
# model over a pty: the model speaks the protocol as a real bootloader does.
# The package comes from npm into the build tree at test time.
source "$(dirname "$0")/lib.sh"

NPM_DIR=${DFUD_BUILD_ROOT:?}/npm-cache/pc-nrf-dfu-js
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	log "skipped: node or npm is not installed"
	exit 77
fi
if [ ! -f "$NPM_DIR/node_modules/pc-nrf-dfu-js/package.json" ] || [ ! -f "$NPM_DIR/node_modules/debug/package.json" ]; then
	mkdir -p "$NPM_DIR"
	# serialport is a peer dependency the pty stand-in replaces
	if ! (cd "$NPM_DIR" && npm install --no-save --no-audit --no-fund --legacy-peer-deps \
		pc-nrf-dfu-js@0.2.12 debug@4 >"$T/npm.log" 2>&1); then
		log "skipped: pc-nrf-dfu-js could not be installed from npm ($(tail -n1 "$T/npm.log"))"
		exit 77
	fi
fi

# pc-nrf-dfu-js loads serialport for its USB transport, unused here: the pty
# stand-in of nrfdfu-js-client.js carries the bytes, so a stub spares the
# native build
mkdir -p "$T/stub/serialport"
echo 'module.exports = function SerialPort() { throw new Error("serialport stub: not for use"); };' \
	>"$T/stub/serialport/index.js"

python3 -c 'import random, sys; r = random.Random(9); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(15000)))' >"$T/app.bin"
"$MKIMAGE" nrf5 -o "$T/app.zip" --application "$T/app.bin"
start_sim nrf --protocol nrfdfu --baud 0

NODE_PATH=$NPM_DIR/node_modules:$T/stub node "$DFUD_SOURCE_ROOT/tests/integration/nrfdfu-js-client.js" "$T/nrf" "$T/app.zip" \
	>"$T/client.log" 2>&1 || fail "pc-nrf-dfu-js failed: $(cat "$T/client.log")"
stop_sims
[ "$(sim_state nrf .images.application.sha256)" = "$(sha256sum "$T/app.bin" | cut -d' ' -f1)" ] ||
	fail "the device does not run the package's application: $(cat "$T/nrf.json")"
[ "$(sim_state nrf .counters.bytes_written)" = 15000 ] || fail "wrote $(sim_state nrf .counters.bytes_written) bytes"
