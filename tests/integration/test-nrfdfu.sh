#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nordic Secure DFU end to end: an nRF5 package over SLIP to dfu-sim's
# bootloader model, an update cut off mid-object and resumed by the next
# attempt from what the bootloader reports, and a refusal with its code.
source "$(dirname "$0")/lib.sh"

# the simulated USB ports' sysfs entries, where dfud looks a port up by its serial number
export DFUD_TEST_SYSFS=$T/sysfs
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

log "SoftDevice, then the application, with a reset and the port gone between them"
python3 -c 'import random, sys; r = random.Random(8); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(9000)))' >"$T/sd.bin"
"$MKIMAGE" nrf5 -o "$T/sd-app.zip" --softdevice "$T/sd.bin" --application "$T/app.bin"
start_sim nrf4 --protocol nrfdfu --baud 0 --reset-hangup
expect_exit 0 dfuctl start "serial:$T/nrf4?protocol=nrfdfu" "$T/sd-app.zip"
expect_job 4 succeeded success
[ "$(sim_state nrf4 .images.softdevice.sha256)" = "$(sha256sum "$T/sd.bin" | cut -d' ' -f1)" ] ||
	fail "the SoftDevice is not installed"
[ "$(sim_state nrf4 .images.application.sha256)" = "$sha" ] || fail "the application is not installed"
[ "$(sim_state nrf4 .counters.bytes_written)" = 29000 ] || fail "wrote $(sim_state nrf4 .counters.bytes_written) bytes"

log "dfud killed mid-object: the restarted daemon goes on from what the bootloader holds"
start_sim nrf5 --protocol nrfdfu --baud 115200
expect_exit 0 dfuctl start --no-wait "serial:$T/nrf5?protocol=nrfdfu" "$T/app.zip"
wait_for 20 "job 5 uploading" bash -c "[ \"\$($DFUCTL status --json 5 | jq -r .BytesDone)\" -gt 6000 ]"
kill9_dfud
start_dfud
wait_for 30 "job 5 to end" bash -c "[ \"\$($DFUCTL status --json 5 | jq -r .State)\" = succeeded ]"
[ "$(sim_state nrf5 .images.application.sha256)" = "$sha" ] || fail "the application is not installed"
written=$(sim_state nrf5 .counters.bytes_written)
# at most the object cut off is sent again (when the kill left half a frame on the line)
[ "$written" -ge 20000 ] && [ "$written" -lt $((20000 + 4096)) ] || fail "wrote $written bytes after the restart"
log "$(grep -o "resuming at [0-9]* of 20000" "$T/dfud.log" | tail -n1), $written bytes written"

log "a legacy package (dfu_version 0.5) is refused before anything is sent"
python3 - "$T/legacy.zip" <<'PY'
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("manifest.json", json.dumps({"manifest": {"application": {"bin_file": "app.bin",
               "dat_file": "app.dat", "init_packet_data": {"application_version": 4294967295}},
               "dfu_version": 0.5}}))
    z.writestr("app.bin", bytes(1024))
    z.writestr("app.dat", bytes(14))
PY
start_sim nrf6 --protocol nrfdfu --baud 0
expect_exit 1 dfuctl start "serial:$T/nrf6?protocol=nrfdfu" "$T/legacy.zip"
expect_job 6 failed unsupported-bundle
"$DFUCTL" status 6 | grep -q "legacy DFU package" || fail "the message does not say why: $("$DFUCTL" status 6)"
[ "$(sim_state nrf6 .counters.requests)" = 0 ] || fail "the bootloader was sent $(sim_state nrf6 .counters.requests) requests"

log "the port comes back under another name after the reset: found again by its USB serial number"
start_sim nrf7 --protocol nrfdfu --baud 0 --reset-hangup --reenumerate --usb-serial 000683512345 --sysfs "$T/sysfs"
expect_exit 0 dfuctl start "serial:$T/nrf7?protocol=nrfdfu" "$T/sd-app.zip"
expect_job 7 succeeded success
[ ! -e "$T/nrf7" ] || fail "the port came back under its old name"
[ "$(sim_state nrf7 .images.application.sha256)" = "$sha" ] || fail "the application is not installed"
grep -q "serial number 000683512345 is at /dev/pts/" "$T/dfud.log" || fail "the port was not found by its serial number"

log "dfud killed after the port came back under another name: the job kept its serial number"
start_sim nrf8 --protocol nrfdfu --baud 115200 --reset-hangup --reenumerate --usb-serial 000683599999 --sysfs "$T/sysfs"
expect_exit 0 dfuctl start --no-wait "serial:$T/nrf8?protocol=nrfdfu" "$T/sd-app.zip"
# the SoftDevice is in, the port is back as nrf8.2 and the application is on its way
wait_for 30 "job 8 sending the application" bash -c \
	"[ -e '$T/nrf8.2' ] && [ \"\$($DFUCTL status --json 8 | jq -r .BytesDone)\" -gt 12000 ]"
grep -rq '000683599999' "$STATE_DIRECTORY" || fail "the job file does not keep the USB serial number"
kill9_dfud
logged=$(wc -l <"$T/dfud.log")
start_dfud
wait_for 30 "job 8 to end" bash -c "[ \"\$($DFUCTL status --json 8 | jq -r .State)\" = succeeded ]"
[ "$(sim_state nrf8 .images.application.sha256)" = "$sha" ] || fail "the application is not installed"
tail -n +"$((logged + 1))" "$T/dfud.log" | grep -q "serial number 000683599999 is at /dev/pts/" ||
	fail "the restarted daemon did not find the port by its serial number"
