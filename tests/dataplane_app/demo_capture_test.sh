#!/usr/bin/env bash
# Integration (no ../shared needed): the demo capture generator writes valid frames, and
# xborder-dataplane forwards all of them inline and classifies each synthetic flow.
set -euo pipefail
src=${XB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
bin=$build/bin/xborder-dataplane
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
work=$(mktemp -d /tmp/xb-demo-cap.XXXXXX)
trap 'rm -rf "$work" /var/run/dpdk/xbt-demo-$$' EXIT

python3 "$src/scripts/demo/make-demo-pcap.py" "$work/demo.pcap"
python3 "$src/scripts/demo/make-demo-pcap.py" "$work/again.pcap" >/dev/null
cmp -s "$work/demo.pcap" "$work/again.pcap" || { echo "FAIL: generator is not deterministic"; exit 1; }
python3 - "$work/empty.pcap" <<'PY'
import struct, sys
open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
PY
"$bin" -l 0-1 --no-huge --no-pci --file-prefix "xbt-demo-$$" --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$work/demo.pcap,tx_pcap=$work/to-inside.pcap" \
  --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$work/to-outside.pcap" \
  -- --config "$src/dataplane/examples/demo.yaml" --flow-log "$work/flows.json" --exit-on-idle 300 \
  >"$work/out" 2>"$work/err" || { tail -3 "$work/err"; echo "FAIL: dataplane exit status"; exit 1; }
python3 "$src/tests/dataplane_app/pcap_frames.py" same "$work/demo.pcap" -- "$work/to-outside.pcap"
python3 - "$work/flows.json" <<'PY'
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
def has(pred):
    return any(pred(f) for f in flows)
want = {
    "HTTP www.example.com": lambda f: f.get("ndpi", {}).get("protocol") == "HTTP"
        and f.get("http", {}).get("hostname") == "www.example.com",
    "TLS SNI secure.example.com": lambda f: f.get("ndpi", {}).get("protocol") == "TLS"
        and f.get("tls", {}).get("sni") == "secure.example.com",
    "DNS www.example.com": lambda f: f.get("dns", {}).get("rrname") == "www.example.com",
    "DNS secure.example.com": lambda f: f.get("dns", {}).get("rrname") == "secure.example.com",
    "SSH": lambda f: f.get("ndpi", {}).get("protocol") == "SSH",
    "NTP": lambda f: f.get("ndpi", {}).get("protocol") == "NTP",
    "ICMP": lambda f: f.get("ndpi", {}).get("protocol") == "ICMP",
}
bad = [w for w, p in want.items() if not has(p)]
print(f"{len(flows)} flows; missing: {bad or 'none'}")
sys.exit(1 if bad or len(flows) != 7 else 0)
PY
echo "demo capture: ok"
