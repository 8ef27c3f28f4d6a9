#!/usr/bin/env bash
# The main demo: runs the gateway's dataplane on DPDK virtual devices, no NIC needed.
#
#   bash scripts/demo.sh
#
# 1. installs the Debian packages it needs (scripts/setup.sh);
# 2. builds xborder-dataplane (build/release, Ninja, only that target);
# 3. writes a capture of HTTP, DNS, TLS (with SNI), SSH, NTP and ICMP flows between
#    documentation-range addresses (scripts/demo/make-demo-pcap.py) into out/demo/;
# 4. replays it through xborder-dataplane in inline mode on net_pcap: the capture enters
#    the inside port, the outside port writes what was forwarded to out/demo/;
# 5. prints the counters, the flow log (short) and a check that forwarded == received.
# Needs no ../shared. Can be run again: out/demo/ is rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "demo.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

bash scripts/setup.sh

echo "== build (build/release)"
cmake -S . -B "${XB_DEMO_BUILD:-build/release}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "${XB_DEMO_BUILD:-build/release}" -j"$(nproc)" --target xborder-dataplane
bin=${XB_DEMO_BUILD:-build/release}/bin/xborder-dataplane

out=out/demo
mkdir -p "$out"
rm -f "$out"/*.pcap "$out"/flows.json "$out"/counters.txt "$out"/dataplane.log

echo "== capture"
python3 scripts/demo/make-demo-pcap.py "$out/demo.pcap"
python3 - "$out/empty.pcap" <<'EOF'
import struct, sys
open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
EOF

# A main lcore and one worker; on a single-CPU machine both share CPU 0.
if [ "$(nproc)" -ge 2 ]; then lcores="0-1"; else lcores="0@0,1@0"; fi

echo "== replay through xborder-dataplane (inline, net_pcap0 = inside, net_pcap1 = outside)"
set -x
"$bin" --lcores "$lcores" --no-pci --file-prefix "xb-demo-$$" --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$out/demo.pcap,tx_pcap=$out/to-inside.pcap" \
  --vdev "net_pcap1,rx_pcap=$out/empty.pcap,tx_pcap=$out/to-outside.pcap" \
  -- --config dataplane/examples/demo.yaml --flow-log "$out/flows.json" --exit-on-idle 500 \
  >"$out/counters.txt" 2>"$out/dataplane.log"
{ set +x; } 2>/dev/null
rm -rf "/var/run/dpdk/xb-demo-$$"

echo
echo "== counters"
cat "$out/counters.txt"

echo
echo "== flow log ($out/flows.json, one JSON line per flow; short form)"
python3 - "$out/flows.json" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows.sort(key=lambda r: r["flow"]["start"])
print(f"{'proto':5} {'client':21} {'server':21} {'nDPI':14} {'host / sni / query':22} {'pkts':>5} {'bytes':>7}  end")
for r in rows:
    f = r["flow"]
    ep = lambda ip, port: f"{ip}:{port}" if port is not None else ip
    host = (r.get("http", {}).get("hostname") or r.get("tls", {}).get("sni")
            or r.get("dns", {}).get("rrname") or r.get("ndpi", {}).get("host") or "")
    print(f"{r['proto']:5} {ep(r['src_ip'], r.get('src_port')):21} {ep(r['dest_ip'], r.get('dest_port')):21} "
          f"{r.get('ndpi', {}).get('protocol', '?'):14} {host:22} "
          f"{f['pkts_toserver'] + f['pkts_toclient']:5} {f['bytes_toserver'] + f['bytes_toclient']:7}  {f.get('reason', '')}")
print(f"{len(rows)} flows")
EOF

echo
echo "== check"
python3 tests/dataplane_app/pcap_frames.py same "$out/demo.pcap" -- "$out/to-outside.pcap" >/dev/null \
  && same=1 || same=0
rx=$(python3 tests/dataplane_app/pcap_frames.py count "$out/demo.pcap")
fw=$(python3 tests/dataplane_app/pcap_frames.py count "$out/to-outside.pcap")
if [ "$same" = 1 ] && [ "$rx" = "$fw" ]; then
  echo "OK: forwarded == received: $fw of $rx frames left on the outside port, byte for byte"
else
  echo "MISMATCH: received $rx frames, forwarded $fw (byte-identical: $same)"
  exit 1
fi
echo "output in $out/: demo.pcap (input), to-outside.pcap (forwarded), flows.json, counters.txt"
