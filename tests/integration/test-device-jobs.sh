#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The jobs of org.dfud1.Device: a refresh that reads the device without
# changing it and waits for an update of the same device, RefreshDevices,
# reset into a staged image and its confirmation, and both refused when nothing
# is staged.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/devices.d"
# uploads slow enough that a refresh submitted during one has to wait
start_sim dev --baud 0 --running-version 1.0.0 --write-us-per-kb 40000
start_sim other --baud 0 --running-version 2.0.0
cat >"$T/devices.d/site.conf" <<CONF
[Device kitchen-node]
Target=serial:$T/dev
[Device modem]
Target=serial:$T/modem?protocol=atfota
CONF
start_dfud

log "a refresh reads the device and changes nothing"
expect_exit 0 dfuctl info --refresh kitchen-node
grep -q "^Bootloader: *MCUboot" <<<"$OUT" || fail "no bootloader after the refresh: $OUT"
[ "$(running_version kitchen-node)" = 1.0.0 ] || fail "runs $(running_version kitchen-node)"
[ "$(job_prop 1 Kind)" = refresh ] || fail "kind $(job_prop 1 Kind)"
expect_job 1 succeeded success
[ "$(sim_state dev .counters.upload_bytes)" = 0 ] || fail "a refresh uploaded"
[ "$(sim_state dev '.images[0].slots[] | select(.slot == 0) | .version')" = 1.0.0 ] || fail "a refresh changed the device"
expect_exit 1 dfuctl info --refresh modem
grep -q "refresh is not supported on atfota targets" <<<"$OUT" || fail "an atfota device was refreshed: $OUT"

log "a refresh during an update of the same device waits for it"
mkimage -o "$T/app.bin" --version 1.2.0 --size 24000 --seed 1
update=$(submit kitchen-node "$T/app.bin")
wait_for 10 "the upload to start" bash -c "[ \"\$($DFUCTL status --json $update | jq -r .Phase)\" = uploading ]"
expect_exit 0 dfuctl info --refresh --no-wait kitchen-node
refresh=$(head -n1 <<<"$OUT")
refresh=${refresh##*/}
[ "$(job_prop "$refresh" State)" = queued ] || fail "the refresh did not wait: $(job_prop "$refresh" State)"
wait_job_done 30 "$refresh"
expect_job "$update" succeeded success
expect_job "$refresh" succeeded success
[ "$(job_prop "$refresh" Started)" -ge "$(job_prop "$update" Finished)" ] ||
	fail "the refresh started at $(job_prop "$refresh" Started), before the update ended at $(job_prop "$update" Finished)"
[ "$(running_version kitchen-node)" = 1.2.0 ] || fail "after the refresh runs $(running_version kitchen-node)"
[ "$(dev_prop kitchen-node .LastJob)" = "/org/dfud1/job/$refresh" ] || fail "last job $(dev_prop kitchen-node .LastJob)"

log "RefreshDevices refreshes every device that can be"
expect_exit 1 dfuctl start "serial:$T/other" "$T/app.bin"
jobs=$(gdbus call --session --dest org.dfud1 --object-path /org/dfud1 --method org.dfud1.Manager.RefreshDevices)
[ "$(grep -o "/org/dfud1/job/[0-9]*" <<<"$jobs" | wc -l)" = 2 ] || fail "RefreshDevices gave $jobs"
for j in $(grep -o "/org/dfud1/job/[0-9]*" <<<"$jobs"); do
	wait_job_done 20 "${j##*/}"
	expect_job "${j##*/}" succeeded success
done
[ "$(dev_prop "serial:$T/other" .LastStatusName)" = success ] || fail "the device under its URI was not refreshed"

log "confirm and reset want a staged update"
expect_exit 1 dfuctl confirm kitchen-node
grep -q "nothing-staged" <<<"$OUT" || fail "confirm without a staged update: $OUT"
expect_exit 1 dfuctl reset kitchen-node
grep -q "nothing-staged" <<<"$OUT" || fail "reset without a staged update: $OUT"
[ "$(primary_of dev)" = "1.2.0 true" ] || fail "the refused jobs changed the device: $(primary_of dev)"

log "reset boots the staged image for its test, confirm keeps it"
mkimage -o "$T/app2.bin" --version 1.3.0 --size 4000 --seed 2
expect_exit 0 dfuctl start -o confirm=false kitchen-node "$T/app2.bin"
[ "$(dev_prop kitchen-node .Staged)" = true ] || fail "not staged after the upload"
expect_exit 0 dfuctl reset kitchen-node
grep -q "staged" <<<"$OUT" || fail "the reset did not end staged: $OUT"
[ "$(primary_of dev)" = "1.3.0 false" ] || fail "after the reset the device runs $(primary_of dev)"
[ "$(running_version kitchen-node)" = 1.3.0 ] || fail "the inventory says $(running_version kitchen-node)"
expect_exit 0 dfuctl info --refresh kitchen-node
[ "$(dev_prop kitchen-node .Staged)" = true ] || fail "an unconfirmed image is not staged"
expect_exit 0 dfuctl confirm kitchen-node
[ "$(primary_of dev)" = "1.3.0 true" ] || fail "after the confirmation the device runs $(primary_of dev)"
[ "$(dev_prop kitchen-node .Staged)" = false ] || fail "still staged after the confirmation"

log "confirm alone resets into a pending image and confirms it"
mkimage -o "$T/app3.bin" --version 1.4.0 --size 4000 --seed 3
expect_exit 0 dfuctl start -o confirm=false kitchen-node "$T/app3.bin"
expect_exit 0 dfuctl confirm kitchen-node
[ "$(primary_of dev)" = "1.4.0 true" ] || fail "after confirm the device runs $(primary_of dev)"
[ "$(running_version kitchen-node)" = 1.4.0 ] || fail "the inventory says $(running_version kitchen-node)"

log "a reset of an image on trial reverts it"
mkimage -o "$T/app4.bin" --version 1.5.0 --size 4000 --seed 4
expect_exit 0 dfuctl start -o confirm=false kitchen-node "$T/app4.bin"
expect_exit 0 dfuctl reset kitchen-node
[ "$(primary_of dev)" = "1.5.0 false" ] || fail "after the first reset $(primary_of dev)"
expect_exit 0 dfuctl reset kitchen-node
[ "$(primary_of dev)" = "1.4.0 true" ] || fail "after the second reset $(primary_of dev)"
[ "$(running_version kitchen-node)" = 1.4.0 ] || fail "after the revert the inventory says $(running_version kitchen-node)"
[ "$(dev_prop kitchen-node .Staged)" = false ] || fail "staged after the revert"
