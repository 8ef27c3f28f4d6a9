#!/usr/bin/env bash
# Integration: the flow log of xborder-dataplane agrees with the nDPI 4.2 oracle on the
# application protocol for >= 99% of the flows the oracle lists, over the whole corpus,
# run through the real binary on net_pcap vdevs (tap mode, one vdev per capture).
#
# One process per capture would spend most of its time starting up, so captures are
# batched: a batch holds captures whose flow keys (VLAN, protocol, endpoints) never
# collide, so their flows cannot mix in one flow table; each capture's log is then the
# batch log, and scripts/oracle-compare.py ignores the flows the oracle does not list.
set -euo pipefail

src=${XB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
shared=${XB_SHARED_DIR:-$src/../shared}
bin=$build/bin/xborder-dataplane
oracle=$shared/corpus/expected/ndpi-4.2

if [ ! -d "$shared" ]; then
  echo "SKIP: ../shared is absent ($shared): no capture corpus"
  exit 0
fi
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }

work=$(mktemp -d /tmp/xb-dpapp-oracle.XXXXXX)
trap 'rm -rf "$work" /var/run/dpdk/xbt-oracle-$$-* 2>/dev/null || true' EXIT
mkdir -p "$work/logs"

# Batches of at most 16 captures with disjoint flow keys, one line per batch.
python3 - "$shared/corpus/pcap" "$oracle" "$work/batches" <<'EOF'
import json, os, sys
pcap_dir, oracle, out = sys.argv[1:4]
def keys(name):
    ks = set()
    path = os.path.join(oracle, name + ".jsonl")
    if os.path.exists(path):
        for line in open(path):
            r = json.loads(line)
            a = (r.get("src_ip"), r.get("src_port", 0))
            b = (r.get("dst_ip"), r.get("dst_port", 0))
            ks.add((r.get("vlan", 0), r.get("ip_proto"), tuple(sorted([a, b], key=str))))
    return ks
batches = []
for name in sorted(os.listdir(pcap_dir)):
    k = keys(name)
    for b in batches:
        if len(b["names"]) < 16 and not (b["keys"] & k):
            b["names"].append(name); b["keys"] |= k
            break
    else:
        batches.append({"names": [name], "keys": set(k)})
with open(out, "w") as f:
    for b in batches:
        f.write(" ".join(b["names"]) + "\n")
EOF

n=0
while read -r -a names; do
  n=$((n + 1))
  cfg=$work/batch$n.yaml
  vdevs=()
  {
    echo "mode: tap"
    echo "ports:"
    i=0
    for name in "${names[@]}"; do
      vdevs+=(--vdev "net_pcap$i,rx_pcap=$shared/corpus/pcap/$name")
      echo "  - inside: net_pcap$i"
      i=$((i + 1))
    done
    echo "queues: {rx_descriptors: 256, tx_descriptors: 256}"
    echo "flows:"
    echo "  capacity: 65536"
  } >"$cfg"
  if ! timeout 300 "$bin" -l 0-1 --no-huge -m 256 --no-pci --file-prefix "xbt-oracle-$$-$n" \
      --log-level 'lib.eal:warning' "${vdevs[@]}" \
      -- --config "$cfg" --flow-log "$work/batch$n.json" --exit-on-idle 300 \
      >"$work/batch$n.out" 2>&1; then
    echo "FAIL: batch $n (${names[*]}):"
    tail -5 "$work/batch$n.out"
    exit 1
  fi
  for name in "${names[@]}"; do
    ln -s "$work/batch$n.json" "$work/logs/$name.jsonl"
  done
  echo "batch $n: ${#names[@]} captures, $(wc -l <"$work/batch$n.json") flows logged"
done <"$work/batches"

python3 "$src/scripts/oracle-compare.py" --oracle-dir "$oracle" --flow-log-dir "$work/logs" \
  --min 0.99 --show 20 all
