#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Mesh DFU packages beyond one unsigned image: a node whose device page holds
# a public key gets only packages signed with its key (checked before a byte
# is sent), a package of bootloader and application goes image by image, the
# serial node's firmware IDs reach the device inventory, and bytes lost on
# the UART are recovered from or end in their own code.
source "$(dirname "$0")/lib.sh"

EXTRA_CONFIG=$MESH_CONFIG
write_config
start_dfud

# the key on the nodes' device pages, and another one
openssl ecparam -name prime256v1 -genkey -noout -out "$T/node.key" 2>/dev/null
openssl ec -in "$T/node.key" -pubout -out "$T/node.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$T/other.key" 2>/dev/null
"$MKIMAGE" mesh -o "$T/signed.zip" --size 2048 --application-version 2 --key "$T/node.key"
"$MKIMAGE" mesh -o "$T/wrong.zip" --size 2048 --application-version 2 --key "$T/other.key"
"$MKIMAGE" mesh -o "$T/unsigned.zip" --size 2048 --application-version 2

log "a keyed node: an unsigned package and one signed with another key are refused before a byte"
start_mesh keyed --remote-nodes 2 --public-key "$T/node.pem"
for case in unsigned:mesh-unsigned wrong:mesh-wrong-key; do
	job=$(submit "serial:$T/keyed?protocol=meshdfu&pubkey=$T/node.pem" "$T/${case%%:*}.zip")
	wait_job_done 10 "$job"
	expect_job "$job" failed "${case#*:}"
	log "  ${case#*:}: $(job_prop "$job" Message)"
done
[ "$(sim_state keyed .echoes)" = 0 ] || fail "something was sent to the keyed node"
grep -q "mesh-wrong-key" <<<"$(dfuctl codes)" || fail "dfuctl codes does not explain mesh-wrong-key"

log "a keyed node: the package signed with its key goes through, and every node takes it"
job=$(submit "serial:$T/keyed?protocol=meshdfu&pubkey=$T/node.pem" "$T/signed.zip")
wait_job_done 30 "$job"
expect_job "$job" succeeded success
grep -q "signature verifies with the serial node's key" <<<"$(dfuctl status -v "$job")" ||
	fail "the signature check is not in the history"
expect_all_updated keyed
[ "$(sim_state keyed .unauthorized)" = 0 ] || fail "a node refused the signature"

log "pubkey belongs to meshdfu targets"
expect_exit 1 dfuctl start "serial:$T/keyed?pubkey=$T/node.pem" "$T/signed.zip"
grep -q "pubkey applies to protocol=meshdfu only" <<<"$OUT" || fail "the refusal does not say why: $OUT"

log "a bootloader and an application in one package: the bootloader first, then the application"
"$MKIMAGE" mesh -o "$T/both.zip" --size 2048 --type application,bootloader --application-version 2 \
	--bootloader-id 0x0201
expect_exit 0 dfuctl inspect "$T/both.zip"
start_mesh both --remote-nodes 2
job=$(submit "serial:$T/both?protocol=meshdfu" "$T/both.zip")
wait_job_done 30 "$job"
expect_job "$job" succeeded success
history=$(dfuctl status -v "$job")
grep -n "announcing transaction" <<<"$history" | head -1 | grep -q bootloader || fail "the bootloader did not go first: $history"
grep -q "image 2 of 2 follows" <<<"$history" || fail "no second image: $history"
[[ "$(job_prop "$job" Message)" == "2 images sent; "*"nodes beyond the serial node cannot confirm receipt"* ]] ||
	fail "message: $(job_prop "$job" Message)"
wait_for 5 "every node to run bootloader 2 and application 2" bash -c \
	"[ \"\$(jq '[.serial, .remote[]] | map([.bl_version, .version]) | unique' -c $T/both.json)\" = '[[2,2]]' ]"
[ "$(job_prop "$job" Percentage)" = 100 ] || fail "the job ended at $(job_prop "$job" Percentage) %"

log "the serial node's firmware IDs are in the device inventory"
device="serial:$T/both?protocol=meshdfu"
expect_exit 0 dfuctl devices
grep -q "$T/both" <<<"$OUT" || fail "devices: $OUT"
[ "$(running_version "$device")" = 2 ] || fail "inventory: $(dfuctl info --json "$device")"
[ "$(dev_prop "$device" '.Images[0]["firmware-id"]')" = "company 0x00000059 application 0x0001" ] ||
	fail "inventory: $(dfuctl info --json "$device")"
expect_exit 0 dfuctl info "$device"
grep -q "firmware id company 0x00000059 application 0x0001" <<<"$OUT" || fail "info: $OUT"
grep -q "bootloader id 1 version 2" <<<"$OUT" || fail "info: $OUT"

log "bytes lost on the UART: the node's frame parser is realigned and the transfer completes"
start_mesh lossy --remote-nodes 2 --byte-loss 400
job=$(submit "serial:$T/lossy?protocol=meshdfu" "$T/unsigned.zip")
wait_job_done 60 "$job"
expect_job "$job" succeeded success
grep -q "realigning the node's frame parser" <<<"$(dfuctl status -v "$job")" || fail "no realignment in the history"

log "bytes lost at every turn: the job ends in its own code"
start_mesh hopeless --remote-nodes 2 --byte-loss 10
job=$(submit "serial:$T/hopeless?protocol=meshdfu" "$T/unsigned.zip")
wait_job_done 60 "$job"
expect_job "$job" failed mesh-line-errors
log "  mesh-line-errors: $(job_prop "$job" Message)"

end_dfud 10 || fail "dfud did not stop cleanly"
