#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nordic Secure DFU end to end: an nRF5 package over SLIP to dfu-sim's
# bootloader model, an update cut off mid-object and resumed by the next
# attempt from what the bootloader reports, and a refusal with its code.
source "$(dirname "$0")/lib.sh"

start_dfud
python3 -c 'import random, sys; r = random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(20000)))' >"$T/app.bin"
"$MKIMAGE" nrf5 -o "$T/app.zip" --application "$T/app.bin"
sha=$(sha256sum "$T/app.bin" | cut -d' ' -f1)

log "a full update"
start_sim nrf1 --protocol nrfdfu --baud 0
expect_exit 0 dfuctl start "serial:$T/nrf1?protocol=nrfdfu" "$T/app.zip"
expect_job 1 succeeded success
[ "$(sim_state nrf1 .images.application.sha256)" = "$sha" ] || fail "the application is not installed"
[ "$(sim_state nrf1 .counters.bytes_written)" = 20000 ] || fail "wrote $(sim_state nrf1 .counters.bytes_written) bytes"
[ "$(job_prop 1 BytesDone)" = 20000 ] || fail "BytesDone $(job_prop 1 BytesDone)"

log "the port drops mid-object twice: each next attempt goes on from the bootloader's saved offset"
start_sim nrf2 --protocol nrfdfu --baud 0 --fault hangup-at@9000 --fault hangup-at@16000
expect_exit 0 dfuctl start "serial:$T/nrf2?protocol=nrfdfu" "$T/app.zip"
expect_job 2 succeeded success
[ "$(sim_state nrf2 .images.application.sha256)" = "$sha" ] || fail "the application is not installed"
written=$(sim_state nrf2 .counters.bytes_written)
# after each drop the bootloader reports the end of its last executed object (8192, then
# 12288), older than what was sent; only what it forgot is sent again: 16000 - 12288 bytes
[ "$written" -ge $((20000 + 16000 - 12288)) ] && [ "$written" -lt $((20000 + 16000 - 12288 + 64)) ] ||
	fail "wrote $written bytes for a 20000-byte image"
grep -q "resuming at 8192 of 20000" "$T/dfud.log" || fail "no resume from the first drop in the log"
grep -q "resuming at 12288 of 20000" "$T/dfud.log" || fail "no resume from the second drop in the log"

log "an older application is refused by the bootloader"
start_sim nrf3 --protocol nrfdfu --baud 0 --nrf-app-version 5
expect_exit 1 dfuctl start "serial:$T/nrf3?protocol=nrfdfu" "$T/app.zip"
expect_job 3 failed device-refused-downgrade
[ "$(sim_state nrf3 .counters.bytes_written)" = 0 ] || fail "firmware was sent"
"$DFUCTL" status --json 3 >"$T/job3.json"
grep -q "nrf-extended-error" "$T/job3.json" || fail "no extended error in DeviceError: $(cat "$T/job3.json")"
