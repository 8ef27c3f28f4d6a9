#!/usr/bin/env bash
# Network-namespace testbed: a client namespace and a server namespace joined only
# through the gateway (xborder-dataplane, inline, on net_af_packet vdevs).
#
#   client ns  [c0 192.0.2.10/24] <-veth-> [g0]  gateway  [g1] <-veth-> [s0 192.0.2.20/24]  server ns
#   (inside, the zone)                  root namespace                     (outside, the line)
#
# The gateway is a transparent L2 bridge, so both ends share one subnet (RFC 5737).
# The server namespace runs nginx (HTTP :80, HTTPS :443 with a self-signed certificate
# for www.example.com) and dnsmasq (answers for example.com names).
#
# Tap variant (`up --tap`): g0 and g1 are joined by a Linux bridge, so client and server
# talk without the gateway; tc mirrors what enters g0 to m0 and what enters g1 to m2, and
# the gateway listens on their peers m1 (port 0, inside) and m3 (port 1, outside). What
# the gateway transmits would arrive on m0/m2 (their rx counters show it).
#
# usage:
#   scripts/testbed.sh up [--tap]              create namespaces, links and servers
#   scripts/testbed.sh run-gateway [--xdp] [--tap] [ARGS...]
#                                              run xborder-dataplane over g0/g1 (m1/m3
#                                              with --tap) in the foreground on
#                                              net_af_packet (net_af_xdp with --xdp;
#                                              mounts bpffs if needed); ARGS go after
#                                              `--` (e.g. --flow-log F)
#   scripts/testbed.sh client CMD...           run CMD in the client namespace
#   scripts/testbed.sh server CMD...           run CMD in the server namespace
#   scripts/testbed.sh down                    stop servers, delete namespaces and links
#   scripts/testbed.sh status                  what exists
# environment:
#   XB_TB_NAME   name prefix of namespaces and links (default xbtb; up to 8 chars)
#   XB_TB_DIR    state directory: certificate, configs, pids, web root (/tmp/$XB_TB_NAME)
#   XB_BIN       xborder-dataplane binary (default: build/release, else build/ci)
#   XB_TB_CONFIG gateway config file (default dataplane/examples/testbed.yaml; a tap
#                run needs one with `mode: tap`)
#   XB_TB_PAYLOAD_MB  size of /big.bin on the web server (default 4)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
name=${XB_TB_NAME:-xbtb}
dir=${XB_TB_DIR:-/tmp/$name}
cns=${name}-c
sns=${name}-s
c0=${name}c0; g0=${name}g0; g1=${name}g1; s0=${name}s0
br=${name}br; m0=${name}m0; m1=${name}m1; m2=${name}m2; m3=${name}m3
client_ip=192.0.2.10
server_ip=192.0.2.20

die() { echo "testbed.sh: $*" >&2; exit 1; }

usage() { sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; }

quiet_offloads() {
  # Offloads would hand the gateway GRO-merged super-frames and partial checksums;
  # a bridge must see and forward real frames, as on a wire.
  local ns=$1 dev=$2
  local run=()
  [ -n "$ns" ] && run=(ip netns exec "$ns")
  "${run[@]}" ethtool -K "$dev" rx off tx off tso off gso off gro off >/dev/null 2>&1 || true
  "${run[@]}" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" >/dev/null 2>&1 || true
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
  for t in ip nginx dnsmasq openssl; do command -v "$t" >/dev/null || die "missing $t (scripts/setup.sh)"; done
  if ip netns list | grep -qw "$cns"; then die "already up (scripts/testbed.sh down first)"; fi
  mkdir -p "$dir/www" "$dir/nginx"
  ip netns add "$cns"
  ip netns add "$sns"
  ip link add "$c0" type veth peer name "$g0"
  ip link add "$g1" type veth peer name "$s0"
  ip link set "$c0" netns "$cns"
  ip link set "$s0" netns "$sns"
  for d in "$g0" "$g1"; do
    quiet_offloads "" "$d"
    ip link set "$d" up
  done
  ip -n "$cns" addr add "$client_ip/24" dev "$c0"
  ip -n "$sns" addr add "$server_ip/24" dev "$s0"
  for pair in "$cns:$c0" "$sns:$s0"; do
    quiet_offloads "${pair%%:*}" "${pair#*:}"
    ip -n "${pair%%:*}" link set "${pair#*:}" up
    ip -n "${pair%%:*}" link set lo up
  done

  # Web content: a page and a payload for byte-identical transfer checks.
  echo "xborder testbed: www.example.com" >"$dir/www/index.html"
  head -c "$(( ${XB_TB_PAYLOAD_MB:-4} * 1024 * 1024 ))" /dev/urandom >"$dir/www/big.bin"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=www.example.com" \
    -addext "subjectAltName=DNS:www.example.com" \
    -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1
  cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx;
  proxy_temp_path $dir/nginx;
  fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx;
  scgi_temp_path $dir/nginx;
  default_type application/octet-stream;
  sendfile off;
  server {
    listen $server_ip:80;
    listen $server_ip:443 ssl;
    server_name www.example.com;
    ssl_certificate $dir/server.crt;
    ssl_certificate_key $dir/server.key;
    root $dir/www;
  }
}
EOF
  ip netns exec "$sns" nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" -e "$dir/nginx/error.log" \
    || die "nginx did not start ($dir/nginx/error.log)"
  ip netns exec "$sns" dnsmasq --no-resolv --no-hosts --bind-interfaces \
    --listen-address="$server_ip" --except-interface=lo --port=53 \
    --address=/example.com/"$server_ip" --pid-file="$dir/dnsmasq.pid" \
    --log-facility="$dir/dnsmasq.log" --user=root \
    || die "dnsmasq did not start"
  if [ "${1:-}" = --tap ]; then
    tap_links
    echo "testbed $name up (tap): client $client_ip ($cns/$c0), server $server_ip ($sns/$s0)," \
      "bridged by $br; gateway ports $m1 $m3 see mirrored copies"
  else
    echo "testbed $name up: client $client_ip ($cns/$c0), server $server_ip ($sns/$s0), gateway ports $g0 $g1"
  fi
}

tap_links() {
  command -v tc >/dev/null || die "missing tc (iproute2)"
  ip link add "$br" type bridge
  sysctl -qw "net.ipv6.conf.$br.disable_ipv6=1" >/dev/null 2>&1 || true
  ip link set "$g0" master "$br"
  ip link set "$g1" master "$br"
  ip link set "$br" up
  ip link add "$m0" type veth peer name "$m1"
  ip link add "$m2" type veth peer name "$m3"
  for d in "$m0" "$m1" "$m2" "$m3"; do
    quiet_offloads "" "$d"
    ip link set "$d" up
  done
  # u32 "match everything": this kernel has no matchall classifier.
  local pair
  for pair in "$g0:$m0" "$g1:$m2"; do
    tc qdisc add dev "${pair%%:*}" handle ffff: ingress
    tc filter add dev "${pair%%:*}" parent ffff: protocol all u32 match u32 0 0 \
      action mirred egress mirror dev "${pair#*:}"
  done
}

down() {
  for p in nginx dnsmasq; do
    if [ -f "$dir/$p.pid" ]; then
      kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
      rm -f "$dir/$p.pid"
    fi
  done
  ip netns del "$cns" 2>/dev/null || true
  ip netns del "$sns" 2>/dev/null || true
  ip link del "$g0" 2>/dev/null || true
  ip link del "$g1" 2>/dev/null || true
  ip link del "$m0" 2>/dev/null || true
  ip link del "$m2" 2>/dev/null || true
  ip link del "$br" 2>/dev/null || true
  rm -rf "$dir"
}

status() {
  ip netns list | grep -E "^($cns|$sns)( |$)" || echo "no namespaces"
  ip -br link show "$g0" 2>/dev/null || true
  ip -br link show "$g1" 2>/dev/null || true
  ip -br link show "$br" 2>/dev/null || true
}

run_gateway() {
  local bin=${XB_BIN:-}
  if [ -z "$bin" ]; then
    for b in "$here/build/release/bin/xborder-dataplane" "$here/build/ci/bin/xborder-dataplane"; do
      [ -x "$b" ] && { bin=$b; break; }
    done
  fi
  [ -n "$bin" ] && [ -x "$bin" ] || die "no xborder-dataplane binary (build it, or set XB_BIN)"
  ip link show "$g0" >/dev/null 2>&1 || die "testbed is not up (scripts/testbed.sh up)"
  local lcores="0-1" drv=net_af_packet p0=$g0 p1=$g1
  [ "$(nproc)" -ge 2 ] || lcores="0@0,1@0"
  while [ $# -gt 0 ]; do
    case "$1" in
      --xdp)
        drv=net_af_xdp
        grep -qs ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf ||
          die "--xdp needs bpffs on /sys/fs/bpf" ;;
      --tap)
        ip link show "$m1" >/dev/null 2>&1 || die "the tap links are not up (scripts/testbed.sh up --tap)"
        p0=$m1 p1=$m3 ;;
      *) break ;;
    esac
    shift
  done
  # Inside = port 0 on the client-side end, outside = port 1.
  exec "$bin" --lcores "$lcores" --no-pci --file-prefix "$name-gw" --log-level 'lib.eal:warning' \
    --vdev "${drv}0,iface=$p0" --vdev "${drv}1,iface=$p1" \
    -- --config "${XB_TB_CONFIG:-$here/dataplane/examples/testbed.yaml}" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) up "$@" ;;
  down) down ;;
  status) status ;;
  run-gateway) run_gateway "$@" ;;
  client) exec ip netns exec "$cns" "$@" ;;
  server) exec ip netns exec "$sns" "$@" ;;
  -h|--help|help) usage ;;
  "") usage >&2; exit 2 ;;
  *) echo "testbed.sh: unknown command '$cmd' (try --help)" >&2; exit 2 ;;
esac
