#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nRF91 modules updated with AT#XFOTA: the module downloads the URL itself,
# so the daemon fetches nothing; a stalled download is stopped and resumed;
# the module's failures end in their status codes.
source "$(dirname "$0")/lib.sh"

URL=https://updates.example/app_update.bin

# start_modem NAME [dfu-sim-at options...]: a simulated module linked at $T/NAME whose download
# moves on by a tenth every 20 ms
start_modem() {
	local name=$1
	shift
	start_at_modem "$name" --step-ms 20 --step-percent 10 "$@"
}

write_atfota_config 1.5
start_dfud

log "an application update from a URL: the module downloads it, the daemon does not"
start_modem app --lineage sm --running-version 1.0.0 --new-version 1.1.0
expect_exit 0 dfuctl start -o sec-tag=42 "serial:$T/app?protocol=atfota" "$URL"
expect_job 1 succeeded success
expect_modem app version 1.1.0
expect_modem app starts 1
[ "$(job_prop 1 Percentage)" = 100 ] || fail "the job ended at $(job_prop 1 Percentage) %"
[ -z "$(find "$CACHE_DIRECTORY" -type f)" ] || fail "the daemon stored something: $(find "$CACHE_DIRECTORY" -type f)"
dfuctl status -v 1 | grep -q 'AT#XFOTA=1,"https://updates.example/app_update.bin",42' ||
	fail "the start command is not in the job's history"

log "https without sec-tag, or atfota options on an SMP target, are refused at submission"
expect_exit 1 dfuctl start "serial:$T/app?protocol=atfota" "$URL"
grep -q 'sec-tag' <<<"$OUT" || fail "the refusal does not name sec-tag: $OUT"
expect_exit 1 dfuctl start -o sec-tag=1 "serial:$T/app" "$URL"
grep -q 'atfota targets only' <<<"$OUT" || fail "the refusal does not say why: $OUT"
expect_modem app starts 1

log "a stalled download is stopped and resumed with the same command"
start_modem stall --stall-at 40
expect_exit 0 dfuctl start -o sec-tag=42 "serial:$T/stall?protocol=atfota" "$URL"
expect_job 2 succeeded success
expect_modem stall stops 1
expect_modem stall starts 2
expect_modem stall version 2.0.0

log "an image the module rejects fails the job with image-rejected and the raw notification"
start_modem bad --download-error 2
expect_exit 1 dfuctl start -o sec-tag=42 "serial:$T/bad?protocol=atfota" "$URL"
bad=3
expect_job "$bad" failed image-rejected
[ "$("$DFUCTL" status --json "$bad" | jq -c '.DeviceError')" = '{"fota-info":2,"fota-stage":1,"fota-status":1}' ] ||
	fail "DeviceError is $("$DFUCTL" status --json "$bad" | jq -c .DeviceError)"
expect_modem bad version 1.0.0

log "a failed download is retried and resumes"
start_modem flaky --download-error 1
expect_exit 0 dfuctl start -o sec-tag=42 "serial:$T/flaky?protocol=atfota" "$URL"
expect_job 4 succeeded success
[ "$(job_prop 4 Attempt)" = 2 ] || fail "the job took $(job_prop 4 Attempt) attempts"
expect_modem flaky starts 2

log "dfuctl abort stops the module's download"
start_modem slow --step-ms 200 --step-percent 5
slow=$(submit "serial:$T/slow?protocol=atfota" "$URL" -o sec-tag=42)
wait_for 10 "the module to download" bash -c "[ \$(jq .percent $T/slow.json) -ge 10 ]"
expect_exit 0 dfuctl abort "$slow"
wait_job_done 10 "$slow"
expect_job "$slow" cancelled cancelled
wait_for 5 "the module to stop" bash -c "[ \$(jq .stops $T/slow.json) = 1 ]"

log "a daemon killed during the download follows the module's download, never starting another"
start_modem killed --step-ms 200 --step-percent 5
killed=$(submit "serial:$T/killed?protocol=atfota" "$URL" -o sec-tag=42)
wait_for 10 "the module to download" bash -c "[ \$(jq .percent $T/killed.json) -ge 10 ]"
kill9_dfud
start_dfud
wait_job_done 20 "$killed"
expect_job "$killed" succeeded success
expect_modem killed starts 1
expect_modem killed downloads 1
expect_modem killed version 2.0.0
grep -q "the module is still downloading; following it" "$T/dfud.log" || fail "the restarted daemon did not follow the download"


log "a modem delta image is activated by resetting the modem alone, which is switched on again"
start_modem delta --lineage sm
delta=$(submit "serial:$T/delta?protocol=atfota" "$URL" -o sec-tag=42 -o fota-op=2)
wait_job_done 20 "$delta"
expect_job "$delta" succeeded success
expect_modem delta modem_resets 1
expect_modem delta resets 0
expect_modem delta modem_off false
expect_modem delta version 2.0.0

log "a module that reports success but still runs the old version ends rolled-back, both versions in DeviceError"
start_modem same --lineage sm --new-version 1.0.0
same=$(submit "serial:$T/same?protocol=atfota" "$URL" -o sec-tag=42)
wait_job_done 20 "$same"
expect_job "$same" failed rolled-back
[ "$("$DFUCTL" status --json "$same" | jq -S -c '.DeviceError')" = \
	'{"fota-stage":5,"fota-status":0,"version-after":"#XSMVER: \"1.0.0\"","version-before":"#XSMVER: \"1.0.0\""}' ] ||
	fail "DeviceError is $("$DFUCTL" status --json "$same" | jq -S -c .DeviceError)"

log "expected-version: the version the module must run afterwards decides; one it runs already needs no download"
start_modem want --lineage sm --running-version 1.0.0 --new-version 1.1.0
expect_exit 0 dfuctl start -o sec-tag=42 -o expected-version=1.1.0 "serial:$T/want?protocol=atfota" "$URL"
start_modem other --lineage sm --running-version 1.0.0 --new-version 1.1.0
other=$(submit "serial:$T/other?protocol=atfota" "$URL" -o sec-tag=42 -o expected-version=1.1)
wait_job_done 20 "$other"
expect_job "$other" failed wrong-version
[ "$("$DFUCTL" status --json "$other" | jq -r '.DeviceError["version-expected"]')" = 1.1 ] ||
	fail "DeviceError is $("$DFUCTL" status --json "$other" | jq -S -c .DeviceError)"
start_modem runs --lineage sm --running-version 1.1.0 --new-version 1.1.0
expect_exit 2 dfuctl start -o sec-tag=42 -o expected-version=1.1.0 "serial:$T/runs?protocol=atfota" "$URL"
expect_modem runs starts 0
head -c 64 /dev/zero >"$T/other.bin"
out=$("$DFUCTL" start -o expected-version=1.1.0 "serial:$T/runs" "$T/other.bin" 2>&1) && fail "an SMP job took expected-version"
grep -q "apply to atfota targets only" <<<"$out" || fail "no reason given: $out"

log "Serial Modem powers its UART only while DTR is active: silent until then, and a clear failure when never"
start_modem dtrlate --lineage sm --dtr-active-ms 1500
expect_exit 0 dfuctl start -o sec-tag=42 "serial:$T/dtrlate?protocol=atfota" "$URL"
expect_modem dtrlate starts 1
start_modem dtroff --lineage sm --dtr-inactive
dtroff=$(submit "serial:$T/dtroff?protocol=atfota" "$URL" -o sec-tag=42 -o max-attempts=1)
wait_job_done 40 "$dtroff"
expect_job "$dtroff" failed response-timeout
"$DFUCTL" status "$dtroff" | grep -q "DTR line" || fail "the failure does not name DTR: $("$DFUCTL" status "$dtroff")"

# killed_when_held NAME LINEAGE: dfud dies once the module holds the image; after its restart
# the update ends with that image installed, downloaded once
killed_when_held() {
	local name=$1 job
	start_modem "$name" --lineage "$2"
	end_dfud 10 || fail "dfud did not stop cleanly"
	export DFUD_TEST_CRASH_PHASE=resetting
	start_dfud
	job=$(submit "serial:$T/$name?protocol=atfota" "$URL" -o sec-tag=42)
	wait "$DFUD_PID" && fail "dfud did not die when the module held the image"
	DFUD_PID=
	unset DFUD_TEST_CRASH_PHASE
	expect_modem "$name" pending true
	start_dfud
	wait_job_done 20 "$job"
	expect_job "$job" succeeded success
	expect_modem "$name" downloads 1
	expect_modem "$name" starts 1
	expect_modem "$name" resets 1
	expect_modem "$name" version 2.0.0
}

if grep -q DFUD_TEST_CRASH_PHASE "$DFUD"; then
	# the daemon dies on purpose: no core files from that
	ulimit -c 0
	log "a daemon killed once the module holds the image finishes the update after its restart, with one download"
	killed_when_held held sm
	log "the same on Serial LTE Modem, which would take a second start and download the image again"
	killed_when_held slmheld slm
else
	log "dfud was built without -Dtest_hooks=true: no crash once the module holds the image"
fi

end_dfud 10 || fail "dfud did not stop cleanly"
