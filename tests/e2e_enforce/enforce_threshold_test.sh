#!/usr/bin/env bash
# e2e (issue 5): one tenant crosses the 100,000-individual threshold inside
# xborder-dataplane, and the count survives a restart.
#
# usage: enforce_threshold_test.sh [FLOWS [IDS_PER_FLOW [SLOW_AFTER_IDS [SLOW_GAP_MS]]]]
#        (defaults 115 1000 85000 500)
#
# A generator (e2e_tool.py threshold-stream) writes FLOWS POSTs of IDS_PER_FLOW new
# checksum-valid resident IDs each (T-E2E-BULK -> 203.0.113.200, no E2E-EXPORT keyword,
# so GEN-03 judges them; each flow ends with FIN + RST) into a FIFO that net_pcap reads:
# one flow every 40 ms up to SLOW_AFTER_IDS people, then one every SLOW_GAP_MS around the
# crossing. The app merges its counters every 50 ms. Checks (check_runs.py threshold):
#  - every flow has a verified FLOW record; up to the crossing they are "log" (GEN-03
#    exempt tier), from it on "alert" (standard-contract tier), never back;
#  - as each flow's data crosses (its last decision before the final record), the first
#    alert comes at N true individuals, 98,000 <= N <= 102,000 + one flow: the decision
#    reads the HyperLogLog estimate (2% bound at this size) as of the last merge, plus the
#    flow's own identifiers; a flow's identifiers reach the counters mid-flow;
#  - on the final records (each flow judged again at its end), within LAG flows' worth on
#    either side of [98,000, 102,000]: the app sees a flow end tcp_closed (1 s) after its
#    RST, when the next packet wakes the worker (it waits on the FIFO), plus two merge
#    intervals, by which time the flows sent after it count. LAG =
#    ceil((1000 + SLOW_GAP_MS + 100) / SLOW_GAP_MS) + 1 flows (5 by default);
#  - exactly one THRESHOLD record per warning ratio of the 100,000 boundary (50/80/100 %),
#    none repeated after the restart;
#  - restart: the app is stopped and started again with the same counters snapshot; the
#    next flow, carrying only 10 new people (exempt on an empty counter), is judged alert.
# Runs on net_pcap: no root, no namespaces.
set -euo pipefail
. "$(dirname "$0")/e2e_common.sh"
for b in "$bin_dp" "$bin_rulec" "$bin_ev" "$bin_verify"; do
  [ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }
done
flows=${1:-115}
per_flow=${2:-1000}
slow_after=${3:-85000}
slow_gap_ms=${4:-500}
gap_ms=${XB_E2E_FAST_GAP_MS:-40}  # the fast phase (an override only to try other shapes)
merge_ms=50
closed_s=1
lag_flows=$(( (closed_s * 1000 + slow_gap_ms + 2 * merge_ms + slow_gap_ms - 1) / slow_gap_ms + 1 ))

work=$(mktemp -d /tmp/xb-e2e-threshold.XXXXXX)
dp_pid=""
cleanup() {
  [ -n "$dp_pid" ] && kill -KILL "$dp_pid" 2>/dev/null || true
  remove_work
  rm -rf /var/run/dpdk/xbe2e-thr-$$-*
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

hash_a=$(make_ruleset "$work/list") || { fail "test list does not compile"; exit 1; }
evidence_init "$work/evlog"
gateway_config "$work/gw.yaml" inline "$work/list/ruleset.pb" "$work/evlog" "$work"
printf 'workers:\n  burst_size: 1\n' >>"$work/gw.yaml"
sed -i "s/tcp_closed: 2/tcp_closed: $closed_s/" "$work/gw.yaml"
sed -i "s/merge_interval_ms: 100/merge_interval_ms: $merge_ms/" "$work/gw.yaml"
$tool pcap-header "$work/empty.pcap"
# The app's own deadline grows with the stream: the fast phase alone is flows x gap_ms
# (6,400 flows at 40 ms = 256 s for the long variant), plus the slow tail and start-up.
app_timeout=$((120 + 2 * flows * gap_ms / 1000))

# run N STREAM-ARGS...: one app run fed by the generator through a FIFO.
run() {
  local n=$1
  shift
  rm -f "$work/in.fifo"
  mkfifo "$work/in.fifo"
  timeout "$app_timeout" "$bin_dp" --lcores 0-1 --no-huge --no-pci --file-prefix "xbe2e-thr-$$-$n" \
    --log-level 'lib.eal:warning' \
    --vdev "net_pcap0,rx_pcap=$work/in.fifo,tx_pcap=$work/to-inside-$n.pcap" \
    --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$work/to-outside-$n.pcap" \
    -- --config "$work/gw.yaml" --flow-log "$work/flows-$n.json" --exit-on-idle 1500 \
    >"$work/dp-$n.out" 2>"$work/dp-$n.err" &
  dp_pid=$!
  $tool threshold-stream "$work/in.fifo" "$@" >"$work/stream$n.jsonl" || fail "run $n: generator exit $?"
  local rc=0
  wait "$dp_pid" || rc=$?
  dp_pid=""
  [ "$rc" = 0 ] || fail "run $n: xborder-dataplane exit status $rc: $(tail -2 "$work/dp-$n.err")"
  [ -s "$work/counters.snap" ] || fail "run $n: no counters snapshot at $work/counters.snap"
}

run 1 --flows "$flows" --ids-per-flow "$per_flow" --gap-ms "$gap_ms" --slow-after "$slow_after" \
  --slow-gap-ms "$slow_gap_ms"
# The restart: same config, same snapshot, new people (IDs after the first run's).
run 2 --flows 1 --ids-per-flow 10 --first $((flows * per_flow)) --start-port 60000

export_and_verify "$work/evlog" "$work/bundle" || true
python3 "$here/check_runs.py" threshold "$work" "$lag_flows" || fails=$((fails + $?))

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "e2e enforce threshold: the decision changes at the crossing and survives a restart"
