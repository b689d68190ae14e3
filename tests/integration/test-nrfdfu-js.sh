#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nordic's own client, pc-nrf-dfu-js, updates dfu-sim's Secure DFU bootloader
# model over a pty: the model speaks the protocol as a real bootloader does.
# The package comes from npm into the build tree at test time.
source "$(dirname "$0")/lib.sh"

if ! pc_nrf_dfu_js; then
	log "skipped: $NRFDFU_JS_MISSING"
	exit 77
fi

python3 -c 'import random, sys; r = random.Random(9); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(15000)))' >"$T/app.bin"
"$MKIMAGE" nrf5 -o "$T/app.zip" --application "$T/app.bin"
start_sim nrf --protocol nrfdfu --baud 0

"${NRFDFU_JS[@]}" "$T/nrf" "$T/app.zip" \
	>"$T/client.log" 2>&1 || fail "pc-nrf-dfu-js failed: $(cat "$T/client.log")"
stop_sims
[ "$(sim_state nrf .images.application.sha256)" = "$(sha256sum "$T/app.bin" | cut -d' ' -f1)" ] ||
	fail "the device does not run the package's application: $(cat "$T/nrf.json")"
[ "$(sim_state nrf .counters.bytes_written)" = 15000 ] || fail "wrote $(sim_state nrf .counters.bytes_written) bytes"
