#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A daemon with many stored jobs answers while it loads them, takes new jobs
# meanwhile without reusing an id, runs nothing until all are in, and writes
# no stored job again that loading does not change.
source "$(dirname "$0")/lib.sh"

if ! grep -q DFUD_TEST_LOAD_GATE "$DFUD"; then
	log "dfud was built without -Dtest_hooks=true"
	exit 77
fi

write_config
printf '[daemon]\nMaxFinishedJobs=10000\n' >>"$DFUD_CONFIG"
start_sim dev
device="serial:$T/dev?framing=console"
mkimage -o "$T/app.bin" --version 2.0.0 --size 4096 --seed 1
bundle=$(cache_bundle "$T/app.bin")
store_jobs 1 3 queued "$device" "$bundle"
store_jobs 4 1000 succeeded serial:/dev/ttyGONE
inode() { stat -c %i "$STATE_DIRECTORY/jobs/$1.json"; }
queued_inode=$(inode 2)
finished_inode=$(inode 700)

# the hook holds the loading after its first chunk while the gate exists
export DFUD_TEST_LOAD_GATE=$T/load-gate
touch "$DFUD_TEST_LOAD_GATE"
start_dfud
[ "$(manager_prop Loading)" = "b true" ] || fail "Loading is $(manager_prop Loading) while the gate holds"
expect_exit 0 dfuctl status
grep -q 'loading the stored jobs' <<<"$OUT" || fail "dfuctl status does not say it loads: $OUT"
shown=$(dfuctl list -a --json | wc -l)
((shown > 0 && shown < 1000)) || fail "$shown jobs listed while loading, expected some of the 1000"

# a job submitted while loading takes the next id and waits, as do the stored ones
new=$(submit "$device" "$T/app.bin")
[ "$new" = 1001 ] || fail "the job submitted while loading is $new, expected 1001"
sleep 0.5
[ "$(job_prop 1 State)" = queued ] || fail "job 1 is $(job_prop 1 State) while loading"
[ "$(manager_prop ActiveJobs)" = "u 0" ] || fail "jobs run while loading: $(manager_prop ActiveJobs)"
[ "$(inode 2)" = "$queued_inode" ] || fail "loading rewrote queued job 2, which it did not change"

rm "$DFUD_TEST_LOAD_GATE"
wait_for 20 "the stored jobs to load" sh -c "[ \"\$(busctl --address='$DBUS_SESSION_BUS_ADDRESS' get-property org.dfud1 /org/dfud1 org.dfud1.Manager Loading)\" = 'b false' ]"
[ "$(dfuctl list -a --json | wc -l)" = 1001 ] || fail "not every job is listed once loaded"
[ "$(inode 700)" = "$finished_inode" ] || fail "loading rewrote finished job 700"
wait_job_done 60 "$new"
expect_job 1 succeeded success
expect_job 3 succeeded up-to-date
expect_job "$new" succeeded up-to-date
