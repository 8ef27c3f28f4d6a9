#!/usr/bin/env bash
# Installs every Debian bookworm package xborder needs to build, test and run,
# and prepares hugepages when the kernel offers them. Idempotent: when everything
# is already there it prints nothing and exits 0.
#
#   scripts/setup.sh            packages + hugepages
#   scripts/setup.sh --no-huge  packages only
set -euo pipefail

want_huge=1
for a in "$@"; do
  case "$a" in
    --no-huge) want_huge=0 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$a' (try --help)" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git xxd python3 python3-yaml
  clang libclang-rt-14-dev valgrind
  # dataplane
  dpdk dpdk-dev libdpdk-dev libndpi-dev libndpi-bin libpcap-dev libbpf-dev libxdp-dev
  # rules, control plane, evidence
  libhyperscan-dev libyaml-cpp-dev protobuf-compiler libprotobuf-dev libgrpc++-dev
  protobuf-compiler-grpc libsqlite3-dev libssl-dev openssl libabsl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  time  # /usr/bin/time: peak RSS for scripts/bench/dataplane.sh (memory per flow)
  # testbed: real clients and servers in network namespaces
  iproute2 curl dnsutils nginx-light dnsmasq-base tshark ethtool procps
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup.sh: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once, quietly.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup.sh: packages installed"
fi

# Hugepages: 2 MiB pages for DPDK mempools. Without them the dataplane falls back to
# --no-huge (slower, but identical behaviour), so failure here is a notice, not an error.
if [ "$want_huge" = 1 ] && [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
  want=${XB_HUGEPAGES:-512}
  have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
  if [ "$have" -lt "$want" ]; then
    echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
    have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
    [ "$have" -ge "$want" ] || echo "setup.sh: notice: only $have hugepages available; the dataplane will use --no-huge"
  fi
  if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null \
      || echo "setup.sh: notice: cannot mount hugetlbfs; the dataplane will use --no-huge"
  fi
fi
exit 0
