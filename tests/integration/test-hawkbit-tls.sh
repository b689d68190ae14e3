#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dfud-hawkbit against a DDI server behind TLS that wants a client certificate:
# the agent takes the CA and the certificate from dfud.conf's [http] section, as
# the daemon's own downloads do; an agent without the certificate gets nowhere.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hawkbit-lib.sh"

make_ca
make_client_cert
DDI_SCHEME=https start_ddi_server --gateway-token gwtoken --sleep 00:00:01 \
	--tls "$T/tls/server.pem" "$T/tls/server.key" --client-ca "$CA_FILE"
DDI_CURL=(--cacert "$CA_FILE" --cert "$CLIENT_CERT" --key "$CLIENT_KEY")
EXTRA_CONFIG="[http]
CAFile=$CA_FILE
ClientCertificate=$CLIENT_CERT
ClientKey=$CLIENT_KEY
Headers=Authorization: GatewayToken gwtoken" write_config
start_dfud
start_sim dev --baud 0

AGENT_PLAIN_HTTP=false AGENT_CONFIG="StartJitterSec=0.2
[Node dev]
Target=serial:$T/dev" write_agent_config
start_agent
A_PID=$AGENT_PID
# the same node seen by an agent that has the CA but no client certificate
AGENT=nocert AGENT_PLAIN_HTTP=false AGENT_DFUD_CONFIG=$T/none.conf AGENT_CONFIG="StartJitterSec=0.2
GatewayId=nocert
CAFile=$CA_FILE
RetrySec=0.5
[Node dev]
Target=serial:$T/dev" write_agent_config
AGENT=nocert start_agent
B_PID=$AGENT_PID

mkimage -o "$T/app.bin" --version 1.4.0 --size 5000 --seed 5
ddi_create "$T/app.bin" gw1-dev
aid=$ACTIONS
wait_for 30 "the update over TLS" bash -c "[ \"\$(curl -sf ${DDI_CURL[*]} $DDI_URL/_control/state |
	jq -r '.actions[\"$aid\"].status')\" = FINISHED ]"
[ "$(primary_of dev)" = "1.4.0 true" ] || fail "dev runs $(primary_of dev)"
[ "$(ddi_state '.targets["gw1-dev"].attributes.node')" = dev ] || fail "no facts over TLS"
[ "$(ddi_state '.targets["nocert-dev"]')" = null ] || fail "a poll without a client certificate got through"
grep -q "nocert-dev: poll answered 0" "$T/nocert.log" || fail "the refused handshake was not logged"

stop_agent "$B_PID"
stop_agent "$A_PID"
log "ok"
