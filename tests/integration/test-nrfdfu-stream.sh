#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A running Nordic DFU job reads its firmware from the cached bundle's image
# file as it sends it: the daemon's memory does not grow with the image.
source "$(dirname "$0")/lib.sh"

# a fixed mmap threshold: glibc would otherwise keep the freed buffers of the
# bundle check on its heap, and the daemon's size would say nothing of the job
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
start_dfud

rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$DFUD_PID/status"; }

# update JOB SIZE BAUD: the daemon's RssAnon in KiB a quarter into the upload of a SIZE image
update() {
	local job=$1 size=$2 baud=$3
	head -c "$size" /dev/urandom >"$T/app$job.bin"
	"$MKIMAGE" nrf5 -o "$T/app$job.zip" --application "$T/app$job.bin"
	start_sim "nrf$job" --protocol nrfdfu --baud "$baud"
	expect_exit 0 dfuctl start --no-wait "serial:$T/nrf$job?protocol=nrfdfu" "$T/app$job.zip"
	wait_for 20 "job $job uploading" bash -c "[ \"\$($DFUCTL status --json $job | jq -r .BytesDone)\" -gt $((size / 4)) ]"
	rss_anon >"$T/rss$job"
	# the firmware comes from an unnamed file the job holds open
	ls -l "/proc/$DFUD_PID/fd" | grep -q "(deleted)" || fail "no image file open in the daemon"
	wait_for 30 "job $job done" bash -c "[ \"\$($DFUCTL status --json $job | jq -r .State)\" = succeeded ]"
	[ "$(sim_state "nrf$job" .images.application.sha256)" = "$(sha256sum "$T/app$job.bin" | cut -d' ' -f1)" ] ||
		fail "job $job: the application is not installed"
}

# both last a few seconds on their lines, so that each is caught mid-upload
update 1 $((96 * 1024)) 400000
update 2 $((768 * 1024)) 3000000
small=$(cat "$T/rss1")
large=$(cat "$T/rss2")
log "RssAnon during the upload: ${small} KiB for a 96 KiB image, ${large} KiB for a 768 KiB one"
# the sanitizers' allocator keeps what is freed for a while: the size says nothing there
if grep -q asan "/proc/$DFUD_PID/maps"; then
	log "memory check skipped under the address sanitizer"
	exit 0
fi
[ $((large - small)) -lt 256 ] || fail "the daemon holds $((large - small)) KiB more for the larger image"
