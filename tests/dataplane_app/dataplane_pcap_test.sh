#!/usr/bin/env bash
# Integration: xborder-dataplane on net_pcap vdevs over captures of the shared corpus.
#  - inline mode forwards exactly what it received, per direction (each port gets its
#    own rx capture; the tx capture of the other port must hold the same frames);
#  - the same with two workers (software hash hand-off on single-queue vdevs);
#  - tap mode forwards nothing but still logs flows;
#  - --exit-on-idle ends every run by itself; SIGTERM flushes open flows and exits 0;
#  - the Prometheus endpoint answers with the counters.
# Every run uses --no-huge --no-pci and its own --file-prefix, so tests run in parallel.
set -euo pipefail

src=${XB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
shared=${XB_SHARED_DIR:-$src/../shared}
bin=$build/bin/xborder-dataplane
frames="python3 $src/tests/dataplane_app/pcap_frames.py"
corpus=$shared/corpus/pcap

if [ ! -d "$shared" ]; then
  echo "SKIP: ../shared is absent ($shared): no capture corpus"
  exit 0
fi
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }

work=$(mktemp -d /tmp/xb-dpapp-pcap.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work" /var/run/dpdk/xbt-pcap-$$-* 2>/dev/null || true
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

python3 - "$work/empty.pcap" <<'EOF'
import struct, sys
open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
EOF

# A small flow table: start-up is faster and the corpus captures need few flows.
printf 'flows:\n  capacity: 65536\n' >"$work/small.yaml"
run_id=0
# dp LCORES RX0 RX1 OUTDIR [our options...]: one run, both ports with their own capture.
dp() {
  local lcores=$1 rx0=$2 rx1=$3 out=$4
  shift 4
  run_id=$((run_id + 1))
  mkdir -p "$out"
  timeout 120 "$bin" --lcores "$lcores" --no-huge --no-pci --file-prefix "xbt-pcap-$$-$run_id" \
    --log-level 'lib.eal:warning' \
    --vdev "net_pcap0,rx_pcap=$rx0,tx_pcap=$out/to-inside.pcap" \
    --vdev "net_pcap1,rx_pcap=$rx1,tx_pcap=$out/to-outside.pcap" \
    -- --config "$work/small.yaml" --flow-log "$out/flows.json" --exit-on-idle 300 "$@" \
    >"$out/stdout" 2>"$out/stderr"
}

check_jsonl() {  # every line of the flow log is one JSON object
  python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    json.loads(line); n += 1
print(n)' "$1"
}

# A representative set: VLAN/QinQ/MPLS/PPPoE, IPv6, fragments, tunnels, malformed, pcapng.
set1=(ndpi-dns.pcap zeek-pppoe-over-qinq.pcap zeek-mixed-vlan-mpls.pcap ndpi-http_ipv6.pcap
      ndpi-dns_fragmented.pcap zeek-ipv4_fragmented-4.pcap zeek-tunnels_gre-sample.pcap
      ndpi-vxlan.pcap ndpi-badpackets.pcap ndpi-sites.pcapng ndpi-4in6tunnel.pcap
      suri-ipv4-truncated.pcap)

# 1. Inline, one worker, both directions: A enters on port 0 (inside), B on port 1.
i=0
while [ $i -lt ${#set1[@]} ]; do
  a=$corpus/${set1[$i]}
  b=$corpus/${set1[$((i + 1))]}
  out=$work/inline-$i
  if ! dp 0-1 "$a" "$b" "$out"; then
    fail "inline ${set1[$i]} + ${set1[$((i + 1))]}: exit status $? ($(tail -1 "$out/stderr"))"
  else
    r1=$($frames same "$a" -- "$out/to-outside.pcap") || fail "inline ${set1[$i]} -> outside: $r1"
    r2=$($frames same "$b" -- "$out/to-inside.pcap") || fail "inline ${set1[$((i + 1))]} -> inside: $r2"
    n=$(check_jsonl "$out/flows.json") || fail "flow log of ${set1[$i]} is not JSON lines"
    pass "inline ${set1[$i]} ($r1) / ${set1[$((i + 1))]} ($r2), $n flows"
  fi
  i=$((i + 2))
done

# 2. Two workers: ports without RSS use the software hash hand-off. Same frames out,
#    and the same flows as one worker (a broken symmetric hash splits flows).
a=$corpus/ndpi-sites.pcapng
b=$corpus/zeek-dns-edns-ecs.pcap
dp 0-1 "$a" "$b" "$work/w1" || fail "one-worker reference run"
# Three lcores (main + 2 workers) on however many CPUs the machine has.
if dp '0@0,1@1,2@0' "$a" "$b" "$work/w2"; then
  r1=$($frames same "$a" -- "$work/w2/to-outside.pcap") || fail "2 workers -> outside: $r1"
  r2=$($frames same "$b" -- "$work/w2/to-inside.pcap") || fail "2 workers -> inside: $r2"
  grep -q "software hash hand-off" "$work/w2/stderr" || fail "2 workers: hand-off not used"
  n1=$(check_jsonl "$work/w1/flows.json")
  n2=$(check_jsonl "$work/w2/flows.json")
  [ "$n1" = "$n2" ] || fail "2 workers logged $n2 flows, 1 worker $n1"
  w1flows=$(grep -c 'worker 1 (lcore 2)' "$work/w2/stdout" || true)
  [ "$w1flows" -ge 1 ] || fail "2 workers: no line for worker 1"
  pass "two workers: $r1 / $r2, $n2 flows (one worker: $n1)"
else
  fail "two workers run: $(tail -1 "$work/w2/stderr")"
fi

# 3. Tap mode: nothing forwarded, flows still logged.
if dp 0-1 "$corpus/ndpi-sites.pcapng" "$work/empty.pcap" "$work/tap" --mode tap; then
  n0=$($frames count "$work/tap/to-inside.pcap")
  n1=$($frames count "$work/tap/to-outside.pcap")
  nf=$(check_jsonl "$work/tap/flows.json")
  [ "$n0" = 0 ] && [ "$n1" = 0 ] || fail "tap mode forwarded $n0 + $n1 frames"
  [ "$nf" -gt 10 ] || fail "tap mode logged only $nf flows"
  pass "tap: forwarded 0, logged $nf flows"
else
  fail "tap run: $(tail -1 "$work/tap/stderr")"
fi

# 3b. Exit-on-idle counts from when the workers start, not from EAL start: with no
#     traffic at all the run lasts at least MS.
if dp 0-1 "$work/empty.pcap" "$work/empty.pcap" "$work/idle" --exit-on-idle 800; then
  secs=$(sed -n 's/.*packets in \([0-9.]*\) s;.*/\1/p' "$work/idle/stdout")
  python3 -c "import sys; sys.exit(0 if float('$secs') >= 0.8 else 1)" ||
    fail "exit-on-idle 800 ms stopped after $secs s"
  pass "exit-on-idle: stopped after $secs s without traffic"
else
  fail "idle run: $(tail -1 "$work/idle/stderr")"
fi

# 4. SIGTERM on an endless replay (infinite_rx): flush every open flow, exit 0.
#    The Prometheus endpoint answers meanwhile.
port=$((20000 + $$ % 20000))
out=$work/sigterm
mkdir -p "$out"
run_id=$((run_id + 1))
"$bin" -l 0-1 --no-huge --no-pci --file-prefix "xbt-pcap-$$-$run_id" --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$corpus/zeek-dns-edns-ecs.pcap,infinite_rx=1" \
  --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$out/to-outside.pcap" \
  -- --config "$work/small.yaml" --flow-log "$out/flows.json" --prometheus "$port" \
  >"$out/stdout" 2>"$out/stderr" &
pid=$!
pids+=("$pid")
metrics=""
for _ in $(seq 1 50); do
  sleep 0.2
  if metrics=$(curl -sf "http://127.0.0.1:$port/metrics"); then break; fi
done
rxm=$(printf '%s\n' "$metrics" | awk '/^xborder_port_rx_packets_total\{port="net_pcap0"/ {print $2}')
if [ -n "$rxm" ] && [ "$rxm" -gt 0 ]; then
  for m in xborder_queue_rx_packets_total xborder_queue_drops_total xborder_worker_flows_active \
           xborder_port_rx_missed_total xborder_port_rx_nombuf_total xborder_flow_log_lines_total; do
    printf '%s\n' "$metrics" | grep -q "^$m" || fail "prometheus: $m missing"
  done
  # Valid exposition: one TYPE line per metric, no label given twice in a sample.
  printf '%s\n' "$metrics" | python3 -c '
import re, sys
types, bad = set(), 0
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        name = line.split()[2]
        bad += name in types
        types.add(name)
    elif line:
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([0-9]+)$", line)
        if not m:
            print("bad sample:", line); bad += 1; continue
        keys = re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", m.group(3) or "")
        if len(keys) != len(set(keys)):
            print("label twice:", line); bad += 1
sys.exit(1 if bad else 0)' || fail "prometheus: invalid exposition"
  pass "prometheus: net_pcap0 rx $rxm packets"
else
  fail "prometheus endpoint on $port did not answer with rx counters"
fi
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")" = 404 ] ||
  fail "prometheus: unknown path is not 404"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
if [ "$rc" = 0 ]; then
  nf=$(check_jsonl "$out/flows.json")
  grep -q "stopping (SIGTERM)" "$out/stderr" || fail "SIGTERM: no stop message"
  [ "$nf" -gt 10 ] || fail "SIGTERM: only $nf flows flushed"
  pass "SIGTERM: exit 0, $nf flows flushed"
else
  fail "SIGTERM: exit status $rc ($(tail -2 "$out/stderr"))"
fi

# 5. Errors: one line naming the problem, non-zero status.
rc=0
"$bin" -l 0-1 --no-huge --no-pci --file-prefix "xbt-pcap-$$-err" --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$work/empty.pcap" --vdev "net_pcap1,rx_pcap=$work/empty.pcap" \
  -- --mode bridge >"$work/err.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "unknown mode 'bridge'" "$work/err.out" || fail "bad --mode: status $rc"
printf 'ports:\n  - inside: net_pcap0\n    outside: net_pcap7\n' >"$work/bad.yaml"
rc=0
"$bin" -l 0-1 --no-huge --no-pci --file-prefix "xbt-pcap-$$-err2" --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$work/empty.pcap" --vdev "net_pcap1,rx_pcap=$work/empty.pcap" \
  -- --config "$work/bad.yaml" >"$work/err2.out" 2>&1 || rc=$?
grep -q "bad.yaml:3:14: ports\[0\].outside: unknown port 'net_pcap7'" "$work/err2.out" && [ "$rc" = 2 ] ||
  fail "unknown port: status $rc, $(tail -1 "$work/err2.out")"
pass "errors: bad mode and unknown port rejected with status 2"

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all dataplane pcap checks passed"
