#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One dfud-hawkbit agent representing many nodes against the DDI test server:
# requests per second at a polling interval, the agent's and the daemon's CPU
# and memory, and the time from an action's creation to its dfud job.
#   tests/bench/bench-hawkbit.sh [--nodes N] [--sleep SECONDS] [--measure SECONDS] [--actions N] [BUILD_DIR]
# Target: 1000 nodes at 60 s polling under 2 % of one core and 30 MB for agent and daemon together.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nodes=1000 sleep_s=60 measure=120 actions=100 build=
while [ $# -gt 0 ]; do
	case $1 in
	--nodes) nodes=$2; shift 2 ;;
	--sleep) sleep_s=$2; shift 2 ;;
	--measure) measure=$2; shift 2 ;;
	--actions) actions=$2; shift 2 ;;
	*) build=$1; shift ;;
	esac
done
export DFUD_BUILD_ROOT=$(cd "${build:-$here/../../build}" && pwd)
ninja -C "$DFUD_BUILD_ROOT" bench-tools >/dev/null
source "$here/../integration/lib.sh"
source "$here/../integration/hawkbit-lib.sh"
source "$here/bench-lib.sh"

start_gateway
ddi_ctl POST config "{\"sleep\": \"$(printf '%02d:%02d:%02d' $((sleep_s / 3600)) $((sleep_s / 60 % 60)) $((sleep_s % 60)))\"}" >/dev/null
AGENT_CONFIG="StartJitterSec=$sleep_s
MinSleepSec=1
MaxRequestRate=100"
for i in $(seq -w 1 "$nodes"); do
	# no device behind them: the jobs end at once with link-not-found, which is all the latency needs
	AGENT_CONFIG+="
[Node node$i]
Target=serial:$T/absent-$i"
done
write_agent_config
start_agent

# rss_kb PID: resident set
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# pss_kb PID: the resident set with each shared page split among the processes that map it;
# private_kb PID: the pages only this process has
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
private_kb() { awk '/^Private_(Clean|Dirty):/ { n += $2 } END { print n }' "/proc/$1/smaps_rollup"; }
requests() { curl -sf "$DDI_URL/_control/state" | jq .requests; }

log "warming up: every node's first poll and configData within ${sleep_s} s"
sleep $((sleep_s + 5))
a0=$(cpu_ms "$AGENT_PID") d0=$(cpu_ms "$DFUD_PID") r0=$(requests) t0=$(date +%s.%N)
sleep "$measure"
a1=$(cpu_ms "$AGENT_PID") d1=$(cpu_ms "$DFUD_PID") r1=$(requests) t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
agent_rss=$(rss_kb "$AGENT_PID") dfud_rss=$(rss_kb "$DFUD_PID")
agent_pss=$(pss_kb "$AGENT_PID") dfud_pss=$(pss_kb "$DFUD_PID")
agent_private=$(private_kb "$AGENT_PID") dfud_private=$(private_kb "$DFUD_PID")
both=$(python3 "$here/resident-pages.py" "$AGENT_PID" "$DFUD_PID" || echo 0)

log "creating $actions actions at once"
targets=$(for i in $(seq -w 1 "$actions"); do printf 'gw1-node%0*d\n' ${#nodes} "$((10#$i))"; done)
mkimage -o "$T/app.bin" --version 1.1.0 --size 2000 --seed 1
created=$(date +%s%N)
# shellcheck disable=SC2086
ddi_create "$T/app.bin" $targets
wait_for $((sleep_s * 2 + 30)) "$actions jobs" bash -c "[ \$($DFUCTL list --all --json | jq -s length) -ge $actions ]"
latency=$(dfuctl list --all --json | jq -s --argjson c "$((created / 1000))" \
	'map(.Created - $c) | sort | { mean: (add / length / 1e6), max: (.[-1] / 1e6), median: (.[length / 2 | floor] / 1e6) }')
# the agent's own part: from the poll that brought the deploymentBase link to the job
own=$(curl -sf "$DDI_URL/_control/requests" | jq --slurpfile jobs <(dfuctl list --all --json) '
	[.[] | select(.method == "GET" and (.path | test("/deploymentBase/[0-9]+")))
	 | { target: (.path | split("/")[4]), t }] | group_by(.target) | map(min_by(.t)) as $first |
	[$jobs[] | { target: (.Source | split(" ")[1]), created: (.Created / 1e6) }] as $j |
	[$first[] as $f | $j[] | select(.target == $f.target) | .created - $f.t] | sort |
	{ mean: (add / length), max: .[-1] }')

printf '%-34s %s\n' "nodes" "$nodes"
printf '%-34s %s s\n' "polling interval" "$sleep_s"
printf '%-34s %.2f (expected %.2f)\n' "requests per second" \
	"$(awk -v a="$r0" -v b="$r1" -v s="$secs" 'BEGIN { print (b - a) / s }')" \
	"$(awk -v n="$nodes" -v s="$sleep_s" 'BEGIN { print n / s }')"
printf '%-34s %.2f %%\n' "agent CPU (one core)" "$(awk -v a="$a0" -v b="$a1" -v s="$secs" 'BEGIN { print (b - a) / 10 / s }')"
printf '%-34s %.2f %%\n' "daemon CPU (one core)" "$(awk -v a="$d0" -v b="$d1" -v s="$secs" 'BEGIN { print (b - a) / 10 / s }')"
printf '%-34s %.2f %% (target < 2 %%)\n' "together" \
	"$(awk -v a="$a1" -v b="$a0" -v c="$d1" -v d="$d0" -v s="$secs" 'BEGIN { print (a - b + c - d) / 10 / s }')"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
printf '%-34s %s / %s / %s MB\n' "agent RSS / PSS / private" "$(mb "$agent_rss")" "$(mb "$agent_pss")" "$(mb "$agent_private")"
printf '%-34s %s / %s / %s MB\n' "daemon RSS / PSS / private" "$(mb "$dfud_rss")" "$(mb "$dfud_pss")" "$(mb "$dfud_private")"
printf '%-34s %s / %s / %s MB\n' "sums (RSS counts shared twice)" "$(mb $((agent_rss + dfud_rss)))" \
	"$(mb $((agent_pss + dfud_pss)))" "$(mb $((agent_private + dfud_private)))"
printf '%-34s %s MB (target < 30 MB)\n' "together, each page once" "$(mb "$both")"
printf '%-34s mean %.1f s, median %.1f s, max %.1f s\n' "action created -> job" \
	"$(jq .mean <<<"$latency")" "$(jq .median <<<"$latency")" "$(jq .max <<<"$latency")"
printf '%-34s mean %.3f s, max %.3f s\n' "deploymentBase poll -> job" "$(jq .mean <<<"$own")" "$(jq .max <<<"$own")"
stop_agent
