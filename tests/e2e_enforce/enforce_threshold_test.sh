#!/usr/bin/env bash
# e2e (issue 5): one tenant crosses the 100,000-individual threshold inside
# xborder-dataplane, and the count survives a restart.
#
# A generator (e2e_tool.py threshold-stream) writes 115 POSTs of 1,000 new checksum-valid
# resident IDs each (T-E2E-BULK -> 203.0.113.200, no E2E-EXPORT keyword, so GEN-03 judges
# them) into a FIFO that net_pcap reads, one flow every 40 ms, while the app merges its
# counters every 50 ms. Checks (check_runs.py threshold):
#  - every flow has a verified FLOW record; up to the crossing they are "log" (GEN-03
#    exempt tier), from it on "alert" (standard-contract tier), never back;
#  - the first alert comes at N true individuals with 98,000 <= N <= 102,000 + 4 flows'
#    worth: the decision reads the HyperLogLog estimate (2% bound at this size) as of the
#    last merge, which lags at most two merge intervals (100 ms, 3 flows at 40 ms, plus
#    one for the flow in hand);
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
# usage: enforce_threshold_test.sh [FLOWS [IDS_PER_FLOW [GAP_MS]]]  (defaults 115 1000 40)
flows=${1:-115}
per_flow=${2:-1000}
gap_ms=${3:-40}
merge_ms=50
# Flows written during two merge intervals, plus the flow in hand.
lag_flows=$(( (2 * merge_ms + gap_ms - 1) / gap_ms + 1 ))

work=$(mktemp -d /tmp/xb-e2e-threshold.XXXXXX)
dp_pid=""
cleanup() {
  [ -n "$dp_pid" ] && kill -KILL "$dp_pid" 2>/dev/null || true
  remove_work
  rm -rf /var/run/dpdk/xbe2e-thr-$$-*
}
trap cleanup EXIT

hash_a=$(make_ruleset "$work/list") || { fail "test list does not compile"; exit 1; }
evidence_init "$work/evlog"
gateway_config "$work/gw.yaml" inline "$work/list/ruleset.pb" "$work/evlog" "$work"
printf 'workers:\n  burst_size: 1\n' >>"$work/gw.yaml"
sed -i "s/merge_interval_ms: 100/merge_interval_ms: $merge_ms/" "$work/gw.yaml"
$tool pcap-header "$work/empty.pcap"

# run N STREAM-ARGS...: one app run fed by the generator through a FIFO.
run() {
  local n=$1
  shift
  rm -f "$work/in.fifo"
  mkfifo "$work/in.fifo"
  timeout 120 "$bin_dp" --lcores 0-1 --no-huge --no-pci --file-prefix "xbe2e-thr-$$-$n" \
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

run 1 --flows "$flows" --ids-per-flow "$per_flow" --gap-ms "$gap_ms"
# The restart: same config, same snapshot, new people (IDs after the first run's).
run 2 --flows 1 --ids-per-flow 10 --first $((flows * per_flow)) --start-port 60000

export_and_verify "$work/evlog" "$work/bundle" || true
python3 "$here/check_runs.py" threshold "$work" "$lag_flows" || fails=$((fails + $?))

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "e2e enforce threshold: the decision changes at the crossing and survives a restart"
