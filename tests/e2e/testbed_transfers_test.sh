#!/usr/bin/env bash
# e2e: curl (HTTP, HTTPS) and dig in a client namespace reach nginx and dnsmasq in a
# server namespace only through xborder-dataplane (inline, net_af_packet). Transfers
# complete byte-identical, and the flow log names each flow's host (http.hostname,
# tls.sni, dns.rrname). Namespaces and processes are always cleaned up.
set -euo pipefail

src=${XB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
export XB_BIN=$build/bin/xborder-dataplane
export XB_TB_NAME=xbe2e$(( $$ % 100 ))
export XB_TB_DIR=/tmp/$XB_TB_NAME
tb="bash $src/scripts/testbed.sh"

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root for network namespaces"
  exit 77
fi
[ -x "$XB_BIN" ] || { echo "FAIL: $XB_BIN not built"; exit 1; }

work=$(mktemp -d /tmp/xb-e2e.XXXXXX)
gw=""
cleanup() {
  [ -n "$gw" ] && kill -KILL "$gw" 2>/dev/null || true
  $tb down >/dev/null 2>&1 || true
  rm -rf "$work" "/var/run/dpdk/$XB_TB_NAME-gw"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# One case per driver: net_af_packet always, net_af_xdp when bpffs can be mounted.
run_case() {
  local drv=$1 xdp=""
  [ "$drv" = af_xdp ] && xdp=--xdp
  echo "== $drv"
  rm -f "$work"/*.bin "$work"/flows.json
  $tb up
  $tb run-gateway $xdp --flow-log "$work/flows.json" >"$work/gw.out" 2>"$work/gw.err" &
  gw=$!
  for _ in $(seq 1 100); do
    grep -q "port 1 " "$work/gw.err" 2>/dev/null && break
    kill -0 "$gw" 2>/dev/null || { cat "$work/gw.err"; fail "$drv: gateway exited"; $tb down; return; }
    sleep 0.1
  done
  sleep 0.5

  # DNS through the gateway.
  ans=$($tb client dig +time=2 +tries=3 @192.0.2.20 www.example.com A +short || true)
  [ "$ans" = 192.0.2.20 ] || fail "$drv: dig www.example.com answered '$ans'"

  # HTTP and HTTPS, the payload byte-identical.
  want=$(sha256sum "$XB_TB_DIR/www/big.bin" | cut -d' ' -f1)
  $tb client curl -sS -m 30 --resolve www.example.com:80:192.0.2.20 \
    -o "$work/http.bin" http://www.example.com/big.bin || fail "$drv: curl http"
  $tb client curl -sS -m 30 --cacert "$XB_TB_DIR/server.crt" --resolve www.example.com:443:192.0.2.20 \
    -o "$work/https.bin" https://www.example.com/big.bin || fail "$drv: curl https"
  for f in http https; do
    got=$(sha256sum "$work/$f.bin" 2>/dev/null | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "$drv: $f transfer differs from the server's big.bin"
  done
  page=$($tb client curl -sS -m 10 --resolve www.example.com:80:192.0.2.20 http://www.example.com/ || true)
  [ "$page" = "xborder testbed: www.example.com" ] || fail "$drv: index page: '$page'"

  # Stop the gateway: SIGTERM flushes every open flow, exit 0.
  kill -TERM "$gw"
  rc=0
  wait "$gw" || rc=$?
  gw=""
  [ "$rc" = 0 ] || fail "$drv: gateway exit status $rc: $(tail -2 "$work/gw.err")"
  grep -q "dropped 0 packets" "$work/gw.out" || fail "$drv: gateway dropped packets: $(tail -1 "$work/gw.out")"

  python3 - "$work/flows.json" "$((4 * 1024 * 1024))" <<'PY' || { echo "FAIL: $drv: flow log"; fails=$((fails + 1)); }
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
big = int(sys.argv[2])
def find(pred):
    return [f for f in flows if pred(f)]
checks = {
    "DNS flow with dns.rrname www.example.com":
        find(lambda f: f.get("dns", {}).get("rrname") == "www.example.com"
             and "DNS" in (f.get("ndpi", {}).get("protocol", ""), f.get("ndpi", {}).get("master", ""))),
    "HTTP flow with http.hostname www.example.com and the payload":
        find(lambda f: f.get("http", {}).get("hostname") == "www.example.com"
             and f["flow"]["bytes_toclient"] >= big),
    "TLS flow with tls.sni www.example.com and the payload":
        find(lambda f: f.get("tls", {}).get("sni") == "www.example.com"
             and f["flow"]["bytes_toclient"] >= big),
}
bad = 0
for what, found in checks.items():
    print(("ok: " if found else "FAIL: missing ") + what)
    bad += not found
print(f"{len(flows)} flows in the log")
sys.exit(1 if bad else 0)
PY
  $tb down
}

run_case af_packet
if grep -qs ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf 2>/dev/null; then
  run_case af_xdp
else
  echo "note: no bpffs, net_af_xdp case not run (optional)"
fi

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "e2e testbed: all transfers complete and logged"
