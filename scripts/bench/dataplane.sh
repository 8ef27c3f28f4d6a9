#!/usr/bin/env bash
# Dataplane benchmark (issue 2): one worker core, the capture replayed from memory.
#
#   scripts/bench/dataplane.sh [--quick] [--duration S] [--runs N] [--pcap FILE]
#                              [--build DIR] [--out DIR] [--no-callgrind] [--no-memory]
#
# In one invocation, on the same capture, one after the other (interleaved when --runs > 1):
#   testpmd     dpdk-testpmd --forward-mode=io, lcore 1 forwards net_pcap0 <-> net_pcap1
#   (a) forward xborder-dataplane, forward only (no decode)
#   (b) track   xborder-dataplane, + decode and flow table
#   (c) classify xborder-dataplane, + nDPI classification (the product)
#   replay      xborder-replay --in-memory --loop N (no DPDK): every pass shifted past
#               every timeout, so every flow is classified again on every pass
#   ndpiReader  ndpiReader -t -i FILE, one pass, pinned to the same core
# Both DPDK programs read the capture with net_pcap infinite_rx=1 (loaded into mbufs once,
# then looped), -l 0-1 (lcore 1 is the only forwarding core), --no-huge, the same mbuf
# size, and are stopped after S seconds of forwarding.
# Then the noise-free figures, instructions per packet under valgrind --tool=callgrind:
# xborder-replay (our packet path without EAL) per stage and ndpiReader, over the whole
# capture minus a one-packet capture, divided by packets - 1; and testpmd io against
# xborder-dataplane per stage, counted on the DPDK worker lcore alone. Last, memory per
# tracked flow (peak RSS of xborder-replay over synthetic captures of N flows).
#
#   --quick          a few seconds per run on the first 2,000 packets (smoke test)
#   --duration S     seconds of forwarding per DPDK run (default 20; quick 3)
#   --runs N         rounds of the timed runs; medians are reported (default 1)
#   --pcap FILE      capture (default /tmp/bench/corpus-merged.pcap, or OUT/corpus-merged.pcap
#                    merged from ../shared/corpus/pcap when that is absent)
#   --build DIR      build tree with bin/xborder-dataplane and bin/xborder-replay
#                    (default $XB_BUILD_DIR or build/bench, configured and built if needed)
#   --out DIR        results and logs (default out/bench/dataplane)
#   --no-callgrind   skip the callgrind counts;  --no-memory  skip memory per flow
#
# Prints a Markdown table (also in OUT/results.md; raw values in OUT/results.tsv).
# Exit status: 0 done, 1 a run failed (its log is named), 2 usage error.
set -euo pipefail
{  # read whole before running: editing this file during a run cannot derail the run

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${XB_SHARED_DIR:-$root/../shared}

# shellcheck source=scripts/bench/bench_common.sh
. "$here/bench_common.sh"
die() { echo "dataplane.sh: $*" >&2; exit 1; }
usage_error() { echo "dataplane.sh: $* (try --help)" >&2; exit 2; }

quick=0; duration=""; runs=1; pcap=""; build=${XB_BUILD_DIR:-}; out=$root/out/bench/dataplane
do_callgrind=1; do_memory=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --duration) [ $# -ge 2 ] || usage_error "--duration needs seconds"; duration=$2; shift ;;
    --runs) [ $# -ge 2 ] || usage_error "--runs needs a number"; runs=$2; shift ;;
    --pcap) [ $# -ge 2 ] || usage_error "--pcap needs a file"; pcap=$2; shift ;;
    --build) [ $# -ge 2 ] || usage_error "--build needs a directory"; build=$2; shift ;;
    --out) [ $# -ge 2 ] || usage_error "--out needs a directory"; out=$2; shift ;;
    --no-callgrind) do_callgrind=0 ;;
    --no-memory) do_memory=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done
[ -n "$duration" ] || { [ "$quick" = 1 ] && duration=3 || duration=20; }
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 2 ] || usage_error "--duration must be an integer >= 2"
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 1 ] || usage_error "--runs must be an integer >= 1"
for t in dpdk-testpmd ndpiReader editcap capinfos mergecap python3 taskset; do
  command -v "$t" >/dev/null || die "missing $t (run scripts/setup.sh)"
done
[ "$do_callgrind" = 0 ] || command -v valgrind >/dev/null || die "missing valgrind (run scripts/setup.sh)"
[ "$do_memory" = 0 ] || [ -x /usr/bin/time ] || die "missing /usr/bin/time (run scripts/setup.sh)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/logs
rm -rf "$log"; mkdir -p "$log"
: > "$out/results.tsv"
# Raw results, one "key<TAB>value" a line, for the table and for tests.
get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$out/results.tsv"; }

# --- binaries -------------------------------------------------------------------------
if [ -z "$build" ]; then
  build=$root/build/bench
  if [ ! -x "$build/bin/xborder-dataplane" ] || [ ! -x "$build/bin/xborder-replay" ]; then
    note "building xborder-dataplane and xborder-replay in $build"
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc)" --target xborder-dataplane xborder-replay >/dev/null
  fi
fi
app=$build/bin/xborder-dataplane
replay=$build/bin/xborder-replay
[ -x "$app" ] || die "no $app (build the xborder-dataplane target)"
[ -x "$replay" ] || die "no $replay (build the xborder-replay target)"

# --- capture --------------------------------------------------------------------------
if [ -z "$pcap" ]; then
  pcap=/tmp/bench/corpus-merged.pcap
  if [ ! -s "$pcap" ]; then
    [ -d "$shared/corpus/pcap" ] || die "no $pcap and no $shared/corpus/pcap to make it from"
    pcap=$out/corpus-merged.pcap
    note "merging $shared/corpus/pcap into $pcap"
    # As make-bench-pcap.sh does: every capture rewritten as pcap, merged by timestamp.
    tmp=$(mktemp -d)
    for f in "$shared"/corpus/pcap/*; do editcap -F pcap "$f" "$tmp/$(basename "$f").pcap" 2>/dev/null || true; done
    mergecap -F pcap -w "$pcap.tmp" "$tmp"/*.pcap && mv "$pcap.tmp" "$pcap"
    rm -rf "$tmp"
  fi
fi
[ -s "$pcap" ] || die "no capture $pcap"
cap=$out/capture.pcap
if [ "$quick" = 1 ]; then
  editcap -F pcap -r "$pcap" "$cap" 1-2000 >/dev/null
else
  editcap -F pcap "$pcap" "$cap" >/dev/null  # a private copy: the run does not depend on /tmp
fi
editcap -F pcap -r "$cap" "$out/one.pcap" 1 >/dev/null
packets=$(capinfos -M -c -T "$cap" | awk -F'\t' 'NR == 2 { print $2 }')
[ "${packets:-0}" -gt 1 ] || die "$cap holds fewer than 2 packets"
# Largest frame decides the mbuf size: net_pcap's infinite_rx keeps each frame in one mbuf.
maxlen=$(max_frame "$cap")
mbuf_size=$(( (maxlen + 128 + 1023) / 1024 * 1024 ))  # + headroom, rounded up to 1 KiB
[ "$mbuf_size" -ge 2048 ] || mbuf_size=2048
# Each port keeps a copy of every packet in its ring, plus rx/tx descriptors and caches.
mbufs=$(( 2 * packets + 16384 ))
mem_mb=$(( mbufs * (mbuf_size + 256) / 1048576 + 512 ))
put packets "$packets"
put max_frame "$maxlen"
put mbuf_size "$mbuf_size"
put mbufs "$mbufs"
cpu_mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
put cpu_mhz "${cpu_mhz:-0}"
put load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
note "capture $cap: $packets packets, largest frame $maxlen B -> $mbufs mbufs of $mbuf_size B, -m $mem_mb"

eal_args() {  # $1 = file prefix
  echo "-l 0-1 --no-huge -m $mem_mb --no-pci --file-prefix $1" \
       "--vdev net_pcap0,rx_pcap=$cap,infinite_rx=1 --vdev net_pcap1,rx_pcap=$cap,infinite_rx=1"
}


# --- testpmd io ------------------------------------------------------------------------
# testpmd prints Rx-pps per port every second; the rate over both ports is their sum.
# The samples before forwarding starts (0) and the first partial one are dropped.
run_testpmd() {  # $1 = run number; prints packets/s
  local f=$log/testpmd.$1.log
  # shellcheck disable=SC2046
  dpdk-testpmd $(eal_args xbb-tpm$$) -- --forward-mode=io --stats-period 1 --no-lsc-interrupt \
    --total-num-mbufs="$mbufs" --mbuf-size="$mbuf_size" --max-pkt-len="$mbuf_size" -a \
    > "$f" 2>&1 < /dev/null &
  local pid=$! waited=0
  # Loading the capture into mbufs takes a while; count seconds of forwarding only.
  until [ "$(awk '/Rx-pps:/ && $2 > 0' "$f" | wc -l)" -ge $((2 * (duration + 1))) ]; do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; die "testpmd stopped early, see $f"; }
    sleep 0.5; waited=$((waited + 1))
    [ "$waited" -lt $((2 * (duration + 240))) ] || { kill -INT "$pid"; wait "$pid" || true; die "testpmd did not start forwarding, see $f"; }
  done
  kill -INT "$pid"
  wait "$pid" || die "testpmd failed, see $f"
  awk '/Rx-pps:/ { s += $2; if (++n % 2 == 0) { print s; s = 0 } }' "$f" \
    | awk 'started { print } $1 > 0 && !started { started = 1 }' | median
}

# --- ndpiReader --------------------------------------------------------------------------
# One pass over the capture; rate = all packets / ndpiReader's "Packet Processing Time"
# (excludes its start-up and the final report). Same core as the DPDK worker.
run_ndpireader() {  # $1 = run number; prints packets/s
  local f=$log/ndpiReader.$1.log
  taskset -c 1 ndpiReader -t -i "$cap" > "$f" 2>&1 || die "ndpiReader failed, see $f"
  local ms
  ms=$(awk '/Packet Processing Time:/ { print $4; exit }' "$f")
  [ -n "$ms" ] || die "no processing time in $f"
  [ "$ms" -gt 0 ] || ms=1
  echo $(( packets * 1000 / ms ))
}

# --- xborder-dataplane -----------------------------------------------------------------
# Stages: forward (a), track (b), classify (c). The same mbuf buffer size as testpmd
# (data_room excludes the 128-byte headroom that testpmd's --mbuf-size includes) and a
# pool that holds both ports' copies of the capture. The app stops itself after
# --duration S and prints its rate over both ports while packets flowed (the capture is
# loaded before the workers start), as testpmd's per-second samples.
cat > "$out/app.yaml" <<YAML
# Written by scripts/bench/dataplane.sh
mempool:
  size: $mbufs
  data_room: $((mbuf_size - 128))
YAML
run_app() {  # $1 = stage, $2 = run number; prints packets/s and cycles/packet (or "-")
  local stage=$1 f=$log/xborder-dataplane.$1.$2.log
  # shellcheck disable=SC2046
  "$app" $(eal_args "xbb-app$$") -- --config "$out/app.yaml" --mode inline \
    --duration "$duration" --stage "$stage" --flow-log "$log/flows.$stage.$2.json" \
    > "$f" 2>&1 < /dev/null || die "xborder-dataplane ($stage) failed, see $f"
  local pps
  # "... packets in T s; P packets/s over the A s between first and last packet" (older
  # builds: "... in T s (P packets/s)"): P is the rate while packets flowed.
  pps=$(sed -n '/^xborder-dataplane: received /s/.*[ (]\([0-9][0-9]*\) packets\/s.*/\1/p' "$f" | tail -1)
  [ -n "$pps" ] || die "no packets/s line in $f"
  echo "$pps -"
}

# --- xborder-replay, in memory, no DPDK ----------------------------------------------------
run_replay() {  # $1 = run number; prints packets/s
  local f=$log/replay.$1.log loops
  loops=$(( 400000 / packets + 1 ))  # about 400,000 packets, a fraction of a second
  taskset -c 1 "$replay" --in-memory --loop "$loops" "$cap" > "$f" 2>&1 \
    || die "xborder-replay failed, see $f"
  local pps
  pps=$(sed -n 's/^xborder-replay: .* s, \([0-9]*\) packets\/s (in memory)$/\1/p' "$f")
  [ -n "$pps" ] || die "no packets/s line in $f"
  echo "$pps"
}

# --- callgrind ---------------------------------------------------------------------------
# Total instructions of one program run, from callgrind's "summary:" line.
callgrind_total() {  # $1 = name, rest = command; prints the instruction count
  local name=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$log/callgrind.$name.out" "$@" \
    > "$log/callgrind.$name.log" 2>&1 || die "callgrind $name failed, see $log/callgrind.$name.log"
  awk '/^summary:/ { print $2 }' "$log/callgrind.$name.out"
}
# Instructions per packet: (whole capture - first packet alone) / (packets - 1). The
# one-packet run carries the start-up (nDPI init, pools) and the exit (report, frees).
callgrind_ipp() {  # $1 = name; rest = command with CAPTURE where the capture goes
  local name=$1; shift
  local full one
  full=$(callgrind_total "$name.full" "${@/CAPTURE/$cap}")
  one=$(callgrind_total "$name.one" "${@/CAPTURE/$out/one.pcap}")
  put "ir_${name}_full" "$full"
  put "ir_${name}_one" "$one"
  put "ipp_$name" "$(( (full - one) / (packets - 1) ))"
}

# --- memory per idle tracked flow --------------------------------------------------------
# The engine preallocates its flow table and its nDPI pool at start (nothing per flow on
# the packet path), so a flow's memory is the cost of its slot plus whatever a live flow
# adds on top. Measured from xborder-replay's peak RSS over synthetic captures:
#   table slot    (RSS, capacity 2C - capacity C) / C            one flow, nDPI pool fixed
#   nDPI slot     (RSS, pool 2P - pool P) / P                     held only while classifying
#   marginal      (RSS, N flows - 1 flow) / (N - 1)               same capacity and pool
peak_rss_kib() {  # $1 = tag, $2 = capture, rest = replay options; prints the peak RSS in KiB
  local f=$log/rss.$1.log
  /usr/bin/time -f 'maxrss_kib %M' "$replay" --quiet "${@:3}" "$2" > "$f" 2>&1 \
    || die "xborder-replay failed on $2, see $f"
  awk '/^maxrss_kib/ { print $2 }' "$f"
}
per_item() { echo $(( ($1 - $2) * 1024 / $3 )); }  # KiB, KiB, items -> bytes per item
measure_memory() {
  local c p n nu
  if [ "$quick" = 1 ]; then c=65536 p=4096 n=20000; else c=1048576 p=65536 n=500000; fi
  nu=$(( p * 9 / 10 ))  # flows still classifying must fit the nDPI pool
  put mem_capacity "$c"; put mem_pool "$p"; put mem_flows "$n"; put mem_flows_udp "$nu"
  python3 "$here/make-flows-pcap.py" --flows 1 --kind dns "$out/flows-1.pcap"
  python3 "$here/make-flows-pcap.py" --flows "$n" --kind dns "$out/flows-dns.pcap"
  python3 "$here/make-flows-pcap.py" --flows "$nu" --kind udp "$out/flows-udp.pcap"
  local base c2 p2 dns udp
  base=$(peak_rss_kib base "$out/flows-1.pcap" --capacity "$c" --ndpi-pool "$p")
  c2=$(peak_rss_kib cap2 "$out/flows-1.pcap" --capacity $((2 * c)) --ndpi-pool "$p")
  p2=$(peak_rss_kib pool2 "$out/flows-1.pcap" --capacity "$c" --ndpi-pool $((2 * p)))
  dns=$(peak_rss_kib dns "$out/flows-dns.pcap" --capacity "$c" --ndpi-pool "$p")
  udp=$(peak_rss_kib udp "$out/flows-udp.pcap" --capacity "$c" --ndpi-pool "$p")
  put rss_base_kib "$base"; put rss_cap2_kib "$c2"; put rss_pool2_kib "$p2"
  put rss_dns_kib "$dns"; put rss_udp_kib "$udp"
  put bytes_table_slot "$(per_item "$c2" "$base" "$c")"
  put bytes_ndpi_slot "$(per_item "$p2" "$base" "$p")"
  put bytes_marginal_dns "$(per_item "$dns" "$base" $((n - 1)))"
  put bytes_marginal_udp "$(per_item "$udp" "$base" $((nu - 1)))"
  put bytes_idle_flow $(( $(get bytes_table_slot) + $(get bytes_marginal_dns) ))
  rm -f "$out"/flows-*.pcap
}

# --- callgrind on the DPDK programs ---------------------------------------------------------
# Instructions per packet of testpmd io and of xborder-dataplane per stage on the worker
# lcore, the figure that decides "(a) >= 80 % of testpmd" without timing noise. On the
# first $dslice packets of the capture (valgrind makes loading big mbufs slow), looped
# for T seconds; callgrind --separate-threads=yes counts each thread apart, and the
# worker lcore is the busiest thread after the main one (thread 1, which does EAL
# start-up and, for us, the engine's allocation). Its count / packets forwarded is the
# per-packet cost of everything the worker does: PMD rx (including net_pcap's copy of
# each packet), our work, tx, and the poll loop.
dpdk_slice() {
  dcap=$out/dpdk-slice.pcap
  editcap -F pcap -r "$cap" "$dcap" "1-$dslice" >/dev/null
  dpackets=$(capinfos -M -c -T "$dcap" | awk -F'\t' 'NR == 2 { print $2 }')
  dmbuf=$(( ($(max_frame "$dcap") + 128 + 1023) / 1024 * 1024 )); [ "$dmbuf" -ge 2048 ] || dmbuf=2048
  dmbufs=$(( 2 * dpackets + 16384 ))
  dmem=$(( dmbufs * (dmbuf + 256) / 1048576 + 512 ))
  printf 'mempool:\n  size: %s\n  data_room: %s\n' "$dmbufs" $((dmbuf - 128)) > "$out/app-slice.yaml"
  put dpdk_slice_packets "$dpackets"
}
dslice_eal() {  # $1 = file prefix
  echo "-l 0-1 --no-huge -m $dmem --no-pci --file-prefix $1" \
       "--vdev net_pcap0,rx_pcap=$dcap,infinite_rx=1 --vdev net_pcap1,rx_pcap=$dcap,infinite_rx=1"
}
worker_ir() {  # $1 = callgrind out prefix; prints the largest count among threads 2..n
  grep -H '^summary:' "$1"-* | grep -v -- "$1-01:" | awk '{ if ($2 > m) m = $2 } END { print m }'
}
cg_testpmd() {  # prints "worker-instructions packets"
  local f=$log/callgrind.testpmd pid waited=0
  : > "$f.log"
  # --stats-period: testpmd flushes its stats, so the first nonzero rate says it forwards.
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$f.out" \
    dpdk-testpmd $(dslice_eal "xbb-cgt$$") -- --forward-mode=io --stats-period 1 \
    --no-lsc-interrupt --total-num-mbufs="$dmbufs" --mbuf-size="$dmbuf" \
    --max-pkt-len=$((dmbuf - 128)) -a < /dev/null > "$f.log" 2>&1 &
  pid=$!
  until awk '/Rx-pps:/ && $2 > 0 { ok = 1 } END { exit !ok }' "$f.log"; do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; die "testpmd under callgrind stopped early, see $f.log"; }
    sleep 0.5; waited=$((waited + 1))
    [ "$waited" -lt 1200 ] || { kill -INT "$pid"; wait "$pid" || true; die "testpmd under callgrind did not start, see $f.log"; }
  done
  sleep "$tcg"
  kill -INT "$pid"
  wait "$pid" || die "testpmd under callgrind failed, see $f.log"
  echo "$(worker_ir "$f.out")" \
       "$(awk '/Accumulated forward statistics/ { a = 1 } a && /RX-packets:/ { print $2; exit }' "$f.log")"
}
cg_app() {  # $1 = stage; prints "worker-instructions packets"
  local f=$log/callgrind.app-$1
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$f.out" \
    "$app" $(dslice_eal "xbb-cga$$") -- --config "$out/app-slice.yaml" --mode inline \
    --duration "$tcg" --stage "$1" --flow-log "$f.flows.json" > "$f.log" 2>&1 < /dev/null \
    || die "xborder-dataplane under callgrind failed, see $f.log"
  echo "$(worker_ir "$f.out")" \
       "$(sed -n 's/^xborder-dataplane: received \([0-9]*\), .*/\1/p' "$f.log" | tail -1)"
}
cg_dpdk() {  # $1 = testpmd or a stage; records ipp_dpdk_$1
  local ir pk
  if [ "$1" = testpmd ]; then read -r ir pk < <(cg_testpmd); else read -r ir pk < <(cg_app "$1"); fi
  [ -n "$ir" ] && [ -n "$pk" ] && [ "$pk" -gt 0 ] || die "callgrind $1: no counts (see $log)"
  put "dpdk_packets_$1" "$pk"
  put "ir_dpdk_$1" "$ir"
  put "ipp_dpdk_$1" "$(( ir / pk ))"
}

# --- the runs ----------------------------------------------------------------------------
stages=(forward track classify)
for r in $(seq 1 "$runs"); do
  note "round $r/$runs: testpmd io"
  put "pps_testpmd.$r" "$(run_testpmd "$r")"
  for s in "${stages[@]}"; do
    note "round $r/$runs: xborder-dataplane --stage $s"
    read -r pps cpp < <(run_app "$s" "$r")
    put "pps_$s.$r" "$pps"
    put "cpp_$s.$r" "$cpp"
  done
  note "round $r/$runs: xborder-replay --in-memory --loop (3 runs, median)"
  put "pps_replay.$r" "$(for i in 1 2 3; do run_replay "$r.$i"; done | median)"
  note "round $r/$runs: ndpiReader (3 passes, median)"
  put "pps_ndpireader.$r" "$(for i in 1 2 3; do run_ndpireader "$r.$i"; done | median)"
done
for k in testpmd "${stages[@]}" replay ndpireader; do
  put "pps_$k" "$(awk -F'\t' -v k="pps_$k." 'index($1, k) == 1 { print $2 }' "$out/results.tsv" | median)"
done
for s in "${stages[@]}"; do
  put "cpp_$s" "$(awk -F'\t' -v k="cpp_$s." 'index($1, k) == 1 && $2 != "-" { print $2 }' "$out/results.tsv" | median)"
done

if [ "$do_callgrind" = 1 ]; then
  note "callgrind: ndpiReader"
  callgrind_ipp ndpireader ndpiReader -t -i CAPTURE
  cg_stages=("${stages[@]}")
  [ "$quick" = 0 ] || cg_stages=(classify)  # each callgrind run costs seconds even on a slice
  for s in "${cg_stages[@]}"; do
    note "callgrind: xborder-replay --stage $s"
    callgrind_ipp "replay_$s" "$replay" --stage "$s" --flow-log /dev/null CAPTURE
  done
  if [ "$quick" = 1 ]; then dslice=2000 tcg=2; dpdk_cg=(testpmd forward); else dslice=10000 tcg=8; dpdk_cg=(testpmd "${stages[@]}"); fi
  dpdk_slice
  for s in "${dpdk_cg[@]}"; do
    note "callgrind: $s on DPDK, $dslice packets looped for $tcg s"
    cg_dpdk "$s"
  done
fi
if [ "$do_memory" = 1 ]; then
  note "memory per idle tracked flow"
  measure_memory
fi
put load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# --- the table ---------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
kpps() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.0f k", a / 1000 }'; }
est_cpp() { awk -v p="$1" -v m="$(get cpu_mhz)" 'BEGIN { if (p == "" || p == 0) print "-"; else printf "~%.0f", m * 1e6 / p }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { if (r == "-") print "-"; else print (r >= t ? "met" : "NOT met") }'; }

tp=$(get pps_testpmd); nd=$(get pps_ndpireader)
{
  echo "### Throughput, one worker core ($(date -u '+%Y-%m-%d %H:%M UTC'), $runs round(s) of ${duration} s)"
  echo
  echo "Capture: $(basename "$pcap") ($(get packets) packets, largest frame $(get max_frame) B; mbufs of $(get mbuf_size) B)." \
       "CPU $(get cpu_mhz) MHz; load average $(get load_before) before, $(get load_after) after."
  echo
  echo "| configuration | packets/s | vs testpmd | vs ndpiReader | cycles/packet |"
  echo "|---|---:|---:|---:|---:|"
  echo "| testpmd io | $(kpps "$tp") | 1.00 | $(ratio "$tp" "$nd") | $(est_cpp "$tp") |"
  for s in "${stages[@]}"; do
    case $s in forward) name="(a) forward only" ;; track) name="(b) + decode, flow table" ;; classify) name="(c) + nDPI" ;; esac
    p=$(get "pps_$s"); c=$(get "cpp_$s"); [ -n "$c" ] || c=$(est_cpp "$p")
    echo "| $name | $(kpps "$p") | $(ratio "$p" "$tp") | $(ratio "$p" "$nd") | $c |"
  done
  p=$(get pps_replay)
  echo "| xborder-replay, in memory, every flow reclassified each pass | $(kpps "$p") | $(ratio "$p" "$tp") | $(ratio "$p" "$nd") | $(est_cpp "$p") |"
  echo "| ndpiReader -t (one pass) | $(kpps "$nd") | $(ratio "$nd" "$tp") | 1.00 | $(est_cpp "$nd") |"
  echo
  ra=$(ratio "$(get pps_forward)" "$tp"); rc=$(ratio "$(get pps_classify)" "$nd")
  echo "Targets on these timings (noisy; (a) is judged on instructions below): (a) >= 0.80 x testpmd: $ra, $(verdict "$ra" 0.80); (c) >= 3 x ndpiReader: $rc, $(verdict "$rc" 3)."
  echo "Cycles/packet marked ~ are estimates: CPU MHz / packets/s (one core busy; the rest is noise from a shared machine)."
  if [ "$do_callgrind" = 1 ]; then
    echo
    echo "### Instructions per packet (valgrind --tool=callgrind; whole capture minus one packet, / (packets - 1))"
    echo
    echo "| program | instructions, capture | instructions, 1 packet | per packet | vs ndpiReader |"
    echo "|---|---:|---:|---:|---:|"
    ni=$(get ipp_ndpireader)
    echo "| ndpiReader -t | $(get ir_ndpireader_full) | $(get ir_ndpireader_one) | $ni | 1.00 |"
    for s in "${cg_stages[@]}"; do
      i=$(get "ipp_replay_$s")
      echo "| xborder-replay --stage $s | $(get "ir_replay_${s}_full") | $(get "ir_replay_${s}_one") | $i | $(ratio "$i" "$ni") |"
    done
  fi
  if [ "$do_callgrind" = 1 ]; then
    echo
    echo "### Instructions per packet on the DPDK worker lcore (valgrind --tool=callgrind --separate-threads=yes; first $(get dpdk_slice_packets) packets looped for $tcg s)"
    echo
    echo "| program | worker instructions | packets | per packet | vs testpmd |"
    echo "|---|---:|---:|---:|---:|"
    ti=$(get ipp_dpdk_testpmd)
    for s in "${dpdk_cg[@]}"; do
      case $s in testpmd) name="testpmd io" ;; forward) name="(a) forward only" ;; track) name="(b) + decode, flow table" ;; classify) name="(c) + nDPI" ;; esac
      i=$(get "ipp_dpdk_$s")
      echo "| $name | $(get "ir_dpdk_$s") | $(get "dpdk_packets_$s") | $i | $(ratio "$i" "$ti") |"
    done
    ri=$(ratio "$ti" "$(get ipp_dpdk_forward)")
    echo
    echo "Target (a) on instructions: testpmd / (a) = $ri (the rate ratio if both ran at the same instructions per cycle), $(verdict "$ri" 0.80)."
  fi
  if [ "$do_memory" = 1 ]; then
    echo
    echo "### Memory per tracked flow (xborder-replay peak RSS; capacity $(get mem_capacity), nDPI pool $(get mem_pool))"
    echo
    echo "| what | how | bytes |"
    echo "|---|---|---:|"
    echo "| flow-table slot, preallocated per unit of capacity | RSS(capacity x2) - RSS(capacity), / capacity | $(get bytes_table_slot) |"
    echo "| added by an idle classified flow (DNS query + answer, nDPI state released) | RSS($(get mem_flows) flows) - RSS(1 flow), / flows | $(get bytes_marginal_dns) |"
    echo "| **idle tracked flow** (slot + added) | | **$(get bytes_idle_flow)** |"
    echo "| nDPI state, preallocated per pool slot (held only while classifying) | RSS(pool x2) - RSS(pool), / pool | $(get bytes_ndpi_slot) |"
    echo "| added by a flow still classifying (one opaque UDP datagram) | RSS($(get mem_flows_udp) flows) - RSS(1 flow), / flows | $(get bytes_marginal_udp) |"
  fi
} > "$out/results.md"
cat "$out/results.md"
exit 0
}
