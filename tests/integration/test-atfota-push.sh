#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nRF91 modules given a local file: the daemon pushes the image over the
# UART (Serial Modem's AT#XDFUINIT/WRITE/APPLY), then resets and verifies as
# after a download; firmware without those commands, and an image of the
# wrong kind for the op, are refused before anything is pushed.
source "$(dirname "$0")/lib.sh"

# start_modem NAME [dfu-sim-at options...]: a simulated module linked at $T/NAME
start_modem() {
	local name=$1
	shift
	start_at_modem "$name" --running-version 1.0.0 "$@"
}

write_atfota_config 3
start_dfud
mkimage -o "$T/app.bin" --version 2.1.0 --size 60000 --seed 3
size=$(stat -c %s "$T/app.bin")
head -c 20000 /dev/urandom >"$T/delta.bin"

log "an application image from a file is pushed to a Serial Modem, with progress as it goes"
start_modem app --lineage sm --dfu-write-ms 60
app=$(submit "serial:$T/app?protocol=atfota" "$T/app.bin")
wait_for 10 "the push to be under way" bash -c "p=\$($DFUCTL status --json $app | jq .Percentage); [ \"\$p\" -gt 0 ] && [ \"\$p\" -lt 100 ]"
wait_job_done 30 "$app"
expect_job "$app" succeeded success
expect_modem app version 2.1.0
expect_modem app dfu_inits 1
expect_modem app dfu_applies 1
expect_modem app dfu_filled "$size"
expect_modem app starts 0
expect_modem app resets 1
[ "$(job_prop "$app" Percentage)" = 100 ] || fail "the job ended at $(job_prop "$app" Percentage) %"
dfuctl status -v "$app" | grep -q "AT#XDFUINIT=0,$size" || fail "the init is not in the job's history"

log "a modem delta image is pushed and activated by the modem reset"
start_modem delta --lineage sm
expect_exit 0 dfuctl start -o fota-op=2 "serial:$T/delta?protocol=atfota" "$T/delta.bin"
expect_modem delta version 2.0.0
expect_modem delta modem_resets 1
expect_modem delta dfu_filled 20000

log "Serial LTE Modem has no host-pushed DFU: refused before anything is pushed, asking for a URL"
start_modem slm --lineage slm
slm=$(submit "serial:$T/slm?protocol=atfota" "$T/app.bin" -o max-attempts=3)
wait_job_done 20 "$slm"
expect_job "$slm" failed push-not-supported
job_prop "$slm" Message | grep -q URL || fail "the refusal does not ask for a URL: $(job_prop "$slm" Message)"
[ "$(job_prop "$slm" Attempt)" = 1 ] || fail "the refusal was retried"
expect_modem slm starts 0
expect_modem slm version 1.0.0

log "an image of the wrong kind for the op is refused before the module hears of it"
start_modem kind --lineage sm
kind=$(submit "serial:$T/kind?protocol=atfota" "$T/app.bin" -o fota-op=2)
wait_job_done 20 "$kind"
expect_job "$kind" failed image-kind-mismatch
expect_modem kind dfu_inits 0
kind2=$(submit "serial:$T/kind?protocol=atfota" "$T/delta.bin")
wait_job_done 20 "$kind2"
expect_job "$kind2" failed image-kind-mismatch
expect_modem kind dfu_inits 0

log "options of the module's own download do not go with a file"
expect_exit 1 dfuctl start -o sec-tag=42 "serial:$T/kind?protocol=atfota" "$T/app.bin"
grep -q 'not to a file' <<<"$OUT" || fail "the refusal does not say why: $OUT"
expect_exit 1 dfuctl start -o fota-op=3 "serial:$T/kind?protocol=atfota" "$T/delta.bin"
grep -q 'give its URL' <<<"$OUT" || fail "the refusal does not say why: $OUT"

log "dfuctl abort stops a push between two chunks: the image is never applied"
start_modem abort --lineage sm --dfu-write-ms 200
abort=$(submit "serial:$T/abort?protocol=atfota" "$T/app.bin")
wait_for 10 "the push to be under way" bash -c "[ \$(jq .dfu_writes $T/abort.json) -ge 2 ]"
expect_exit 0 dfuctl abort "$abort"
wait_job_done 10 "$abort"
expect_job "$abort" cancelled cancelled
sleep 0.5
expect_modem abort dfu_applies 0
expect_modem abort resets 0
expect_modem abort version 1.0.0

log "a daemon killed during the push pushes again from the start after its restart and succeeds"
start_modem killed --lineage sm --dfu-write-ms 100 --datamode-timeout-ms 300
killed=$(submit "serial:$T/killed?protocol=atfota" "$T/app.bin")
wait_for 10 "the push to be under way" bash -c "[ \$(jq .dfu_writes $T/killed.json) -ge 3 ]"
kill9_dfud
start_dfud
wait_job_done 30 "$killed"
expect_job "$killed" succeeded success
expect_modem killed version 2.1.0
expect_modem killed dfu_inits 2
expect_modem killed dfu_applies 1
expect_modem killed resets 1

end_dfud 10 || fail "dfud did not stop cleanly"
