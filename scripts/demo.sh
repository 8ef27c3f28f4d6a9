#!/usr/bin/env bash
# The main demo: the gateway enforces the sample negative list on DPDK virtual devices
# (no NIC needed) and a regulator verifies the evidence it wrote, offline.
#
#   bash scripts/demo.sh
#
# 1. installs the Debian packages it needs (scripts/setup.sh) and builds the tools
#    (build/release, Ninja, only the five binaries it runs);
# 2. compiles rules/examples/sample-negative-list.yaml with xborder-rulec;
# 3. writes a capture of a day on the line (scripts/demo/make-story-pcap.py): tenants'
#    DNS, HTTPS and web traffic, a filed loyalty-member sync, waybills with resident IDs,
#    genomic reads, a document marked 绝密★, and a host no tenant claims;
# 4. creates an evidence log (xborder-evidence init) and replays the capture through
#    xborder-dataplane in inline mode on net_pcap: the inside port reads the capture, the
#    outside port writes what crossed, the inside port what came back (TCP resets);
# 5. prints each flow's decision (entry, filing, reason, bytes that crossed before it),
#    checks that blocked flows stopped and everything else crossed byte for byte;
# 6. exports an evidence bundle, prints the trust file a regulator enrols, and verifies
#    the bundle with xborder-verify (report in Chinese and English in out/demo/report/).
# Needs no ../shared. Can be run again: out/demo/ is rewritten.
# Environment (for tests): XB_DEMO_BUILD (build dir, default build/release), XB_DEMO_OUT
# (output dir, default out/demo), XB_DEMO_NO_SETUP=1 (skip the package check).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "demo.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

[ "${XB_DEMO_NO_SETUP:-}" = 1 ] || bash scripts/setup.sh

build=${XB_DEMO_BUILD:-build/release}
echo "== build ($build)"
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target xborder-dataplane xborder-rulec xborder-evidence xborder-verify
B=$build/bin

out=${XB_DEMO_OUT:-out/demo}
rm -rf "$out"
mkdir -p "$out"

echo
echo "== negative list"
"$B/xborder-rulec" rules/examples/sample-negative-list.yaml -o "$out/sample-list.pb"
hash=$("$B/xborder-rulec" rules/examples/sample-negative-list.yaml --check --print-hash)
echo "compiled rules/examples/sample-negative-list.yaml -> $out/sample-list.pb (version $hash)"

echo
echo "== capture"
python3 scripts/demo/make-story-pcap.py "$out/story.pcap"
python3 - "$out/empty.pcap" <<'EOF'
import struct, sys
open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
EOF

echo
echo "== evidence log"
"$B/xborder-evidence" init --log "$out/evidence" --origin "demo.xborder.example/line-1"

# A main lcore and one worker; on a single-CPU machine both share CPU 0.
if [ "$(nproc)" -ge 2 ]; then lcores="0-1"; else lcores="0@0,1@0"; fi

echo
echo "== replay through xborder-dataplane (inline, net_pcap0 = inside, net_pcap1 = outside)"
set -x
"$B/xborder-dataplane" --lcores "$lcores" --no-pci --file-prefix "xb-demo-$$" --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$out/story.pcap,tx_pcap=$out/to-inside.pcap" \
  --vdev "net_pcap1,rx_pcap=$out/empty.pcap,tx_pcap=$out/to-outside.pcap" \
  -- --config dataplane/examples/demo.yaml --flow-log "$out/flows.json" --exit-on-idle 500 \
  --ruleset "$out/sample-list.pb" --evidence-log "$out/evidence" --control-socket none \
  >"$out/counters.txt" 2>"$out/dataplane.log"
{ set +x; } 2>/dev/null
rm -rf "/var/run/dpdk/xb-demo-$$"
tail -n 3 "$out/counters.txt"

echo
echo "== decisions ($out/flows.json: one JSON line per flow)"
python3 scripts/demo/show-decisions.py "$out/flows.json" "$out/story.pcap" "$out/to-outside.pcap" \
  "$out/to-inside.pcap"

echo
echo "== evidence bundle"
"$B/xborder-evidence" checkpoint --log "$out/evidence" --tsa-url none
"$B/xborder-evidence" export --log "$out/evidence" --out "$out/bundle.tar"
"$B/xborder-evidence" trust --log "$out/evidence" --out "$out/trust.json"
echo "trust file a regulator records once, at enrolment: $out/trust.json"

echo
echo "== the regulator's check, offline: xborder-verify"
set +e
"$B/xborder-verify" "$out/bundle.tar" --trust "$out/trust.json" --report "$out/report"
rc=$?
set -e
if [ "$rc" != 0 ]; then
  echo "demo: xborder-verify exited $rc (0 = verified)" >&2
  exit 1
fi
echo
echo "output in $out/: story.pcap (input), to-outside.pcap (what crossed), to-inside.pcap (resets"
echo "back to the zone), flows.json, evidence/ (the log), bundle.tar + trust.json (for the"
echo "regulator), report/ (xborder-verify's report, HTML in Chinese and English)"
