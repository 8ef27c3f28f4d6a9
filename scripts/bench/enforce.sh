#!/usr/bin/env bash
# Enforcement benchmark (issue 5): the packet engine with the negative list, one core,
# the capture replayed from memory, against forwarding only.
#
#   scripts/bench/enforce.sh [--quick | --target] [--runs N] [--entries N] [--pcap FILE]
#                            [--build DIR] [--out DIR] [--duration S] [--no-callgrind] [--no-dpdk]
#                            [--no-replay]
#
# Lists (compiled with xborder-rulec, compile time reported):
#   sample   rules/examples/sample-negative-list.yaml as written. No tenant claims the
#            corpus' addresses, so every flow is `hold` (unknown_tenant_action) at its
#            first packet: inline, the rest of the flow is dropped.
#   corpus   the sample list plus one tenant owning the private ranges (the corpus'
#            clients): flows are judged as that tenant's transfers (tenant, destination,
#            country, SNI/Host, payload detectors) and mostly forwarded.
#   big      as corpus, plus ENTRIES generated tenants, destination endpoints and filings
#            (scripts/bench/make-big-list.py; default 100,000).
# Configurations (xborder-replay, no EAL, pinned to core 1, rounds interleaved):
#   forward  --stage forward: the engine's forward stage, no decode
#   track    --stage track: + decode, flow key, flow table, TCP state
#   classify + nDPI, no list (the issue-2 product)
#   sample / corpus / big   + --ruleset: the rules-backed verdict stage, inline
#   *-slow   the same list with --no-fast-path: the policy is called on every packet
# Each runs in two modes, measured after warm-up passes (--warmup): "new" (--loop: every
# pass shifted past every timeout, so every flow is created, classified and judged again;
# 1 warm-up pass) and "kept" (--loop --keep-flows: packets 1 us apart, so no flow ever
# times out; after 100 warm-up passes every flow has had more packets than nDPI's budget
# (80 TCP / 24 UDP), so it is classified, judged and, unless still inspected, settled:
# the decided-flow path; xborder-replay reports how many packets took the fast path).
# Instructions per packet (valgrind --tool=callgrind --instr-atstart=no, noise-free):
# xborder-replay turns instrumentation on for the measured passes only, so start-up
# (nDPI, list loading) and warm-up are not counted: "kept" = 2 passes after the warm-up
# / (2 x packets), "new" = 1 pass after the warm-up / packets.
# DPDK (unless --no-dpdk): xborder-dataplane on two net_pcap ports with infinite_rx=1
# (the capture loaded into mbufs once, then looped: after the first pass every flow is
# known), --stage forward and each list (if the binary has --ruleset), timed for S s; and
# the worker lcore's instructions per packet under callgrind on a slice of the capture,
# forward only against each list: "forwarding only" of the target.
#
#   --quick          smoke run: a 2,000-packet slice, a 2,000-entry big list, 1 round
#   --target         only what the decided-flow target needs (about 15 min loaded): the
#                    sample list; instruction counts (no timed runs) for xborder-replay
#                    forward, track, classify, sample, sample-slow, and on DPDK for
#                    forward only against no list (known flows forwarded) and the
#                    sample list (decided flows dropped)
#   --runs N         rounds of the timed runs; medians are reported (default 1)
#   --entries N      size of the big list (default 100000; quick 2000)
#   --pcap FILE      capture (default /tmp/bench/corpus-merged.pcap)
#   --build DIR      build tree with bin/xborder-replay, bin/xborder-rulec (and
#                    bin/xborder-dataplane, bin/xborder-evidence for the DPDK rows)
#                    (default $XB_BUILD_DIR or build/bench, built if needed)
#   --out DIR        results and logs (default out/bench/enforce)
#   --duration S     seconds of forwarding per DPDK run (default 8; quick 2)
#   --no-callgrind   skip instruction counts;  --no-dpdk  skip the DPDK rows
#   --no-replay      skip the xborder-replay instruction counts (with --target: the
#                    DPDK rows only, about 8 minutes)
#
# Prints Markdown tables (also in OUT/results.md; raw values in OUT/results.tsv).
# Exit status: 0 done, 1 a run failed (its log is named), 2 usage error.
set -euo pipefail
{  # read whole before running: editing this file during a run cannot derail the run

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# shellcheck source=scripts/bench/bench_common.sh
. "$here/bench_common.sh"
die() { echo "enforce.sh: $*" >&2; exit 1; }
usage_error() { echo "enforce.sh: $* (try --help)" >&2; exit 2; }

quick=0; target=0; runs=1; entries=""; pcap=""; build=${XB_BUILD_DIR:-}; out=$root/out/bench/enforce
duration=""; do_callgrind=1; do_dpdk=1; do_replay=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --target) target=1 ;;
    --runs) [ $# -ge 2 ] || usage_error "--runs needs a number"; runs=$2; shift ;;
    --entries) [ $# -ge 2 ] || usage_error "--entries needs a number"; entries=$2; shift ;;
    --pcap) [ $# -ge 2 ] || usage_error "--pcap needs a file"; pcap=$2; shift ;;
    --build) [ $# -ge 2 ] || usage_error "--build needs a directory"; build=$2; shift ;;
    --out) [ $# -ge 2 ] || usage_error "--out needs a directory"; out=$2; shift ;;
    --duration) [ $# -ge 2 ] || usage_error "--duration needs seconds"; duration=$2; shift ;;
    --no-callgrind) do_callgrind=0 ;;
    --no-dpdk) do_dpdk=0 ;;
    --no-replay) do_replay=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done
[ "$quick" = 0 ] || [ "$target" = 0 ] || usage_error "--quick and --target exclude each other"
[ "$target" = 0 ] || [ "$do_callgrind" = 1 ] || usage_error "--target counts instructions: drop --no-callgrind"
[ -n "$entries" ] || { [ "$quick" = 1 ] && entries=2000 || entries=100000; }
[ -n "$duration" ] || { [ "$quick" = 1 ] && duration=2 || duration=8; }
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 1 ] || usage_error "--runs must be an integer >= 1"
[[ "$entries" =~ ^[0-9]+$ ]] && [ "$entries" -ge 50 ] || usage_error "--entries must be an integer >= 50"
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 1 ] || usage_error "--duration must be an integer >= 1"
for t in editcap capinfos python3 taskset; do
  command -v "$t" >/dev/null || die "missing $t (run scripts/setup.sh)"
done
[ -x /usr/bin/time ] || die "missing /usr/bin/time (run scripts/setup.sh)"
[ "$do_callgrind" = 0 ] || command -v valgrind >/dev/null || die "missing valgrind (run scripts/setup.sh)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/logs
rm -rf "$log"; mkdir -p "$log"
: > "$out/results.tsv"
get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$out/results.tsv"; }

# --- binaries -------------------------------------------------------------------------
if [ -z "$build" ]; then
  build=$root/build/bench
  if [ ! -x "$build/bin/xborder-replay" ] || [ ! -x "$build/bin/xborder-rulec" ]; then
    note "building xborder-replay and xborder-rulec in $build"
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc)" --target xborder-replay xborder-rulec >/dev/null
  fi
fi
replay=$build/bin/xborder-replay
rulec=$build/bin/xborder-rulec
app=$build/bin/xborder-dataplane
evtool=$build/bin/xborder-evidence
[ -x "$replay" ] || die "no $replay (build the xborder-replay target)"
[ -x "$rulec" ] || die "no $rulec (build the xborder-rulec target)"
"$replay" --help | grep -q -- '--ruleset' || die "$replay has no --ruleset (rebuild it)"
dpdk_app=0       # forward-only rows on DPDK
dpdk_rules=0     # list rows on DPDK (the app's --ruleset, issue 5)
if [ "$do_dpdk" = 1 ] && [ -x "$app" ]; then
  dpdk_app=1
  if "$app" --help 2>/dev/null | grep -q -- '--ruleset' && [ -x "$evtool" ]; then dpdk_rules=1; fi
fi
[ "$do_dpdk" = 0 ] || [ "$dpdk_app" = 1 ] || note "no $app: DPDK rows skipped"
[ "$do_dpdk" = 0 ] || [ "$dpdk_app" = 0 ] || [ "$dpdk_rules" = 1 ] || note "xborder-dataplane has no --ruleset (or no xborder-evidence): DPDK list rows skipped"

# --- capture --------------------------------------------------------------------------
[ -n "$pcap" ] || pcap=/tmp/bench/corpus-merged.pcap
[ -s "$pcap" ] || die "no capture $pcap (bash ../shared/corpus/make-bench-pcap.sh -o /tmp/bench)"
cap=$out/capture.pcap
if [ "$quick" = 1 ]; then
  editcap -F pcap -r "$pcap" "$cap" 1-2000 >/dev/null
else
  editcap -F pcap "$pcap" "$cap" >/dev/null
fi
packets=$(capinfos -M -c -T "$cap" | awk -F'\t' 'NR == 2 { print $2 }')
[ "${packets:-0}" -gt 1 ] || die "$cap holds fewer than 2 packets"
put packets "$packets"
put entries "$entries"
cpu_mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
put cpu_mhz "${cpu_mhz:-0}"
put load_before "$(cut -d' ' -f1-3 /proc/loadavg)"

# --- lists ----------------------------------------------------------------------------
sample_yaml=$root/rules/examples/sample-negative-list.yaml
compile() {  # $1 = name, $2 = yaml; writes OUT/$1.pb, records wall and CPU seconds
  local f=$log/rulec.$1.log
  /usr/bin/time -f 'rulec_time %e %U %S' "$rulec" "$2" -o "$out/$1.pb" > "$f" 2>&1 \
    || die "xborder-rulec $2 failed, see $f"
  read -r wall user sys < <(awk '/^rulec_time/ { print $2, $3, $4 }' "$f")
  put "rulec_wall_$1" "$wall"
  put "rulec_cpu_$1" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
  put "ruleset_bytes_$1" "$(stat -c %s "$out/$1.pb")"
}
lists=(sample corpus big)
if [ "$target" = 1 ]; then
  lists=(sample)
  note "compiling the sample list"
  compile sample "$sample_yaml"
else
  note "compiling the lists (big: $entries entries)"
  python3 "$here/make-big-list.py" --entries 0 --claim-corpus -o "$out/corpus.yaml" 2> "$log/gen.corpus.log" \
    || die "make-big-list.py failed, see $log/gen.corpus.log"
  python3 "$here/make-big-list.py" --entries "$entries" --claim-corpus -o "$out/big.yaml" 2> "$log/gen.big.log" \
    || die "make-big-list.py failed, see $log/gen.big.log"
  put big_shape "$(sed -n 's/^make-big-list: [^:]*: //p' "$log/gen.big.log")"
  put big_yaml_bytes "$(stat -c %s "$out/big.yaml")"
  compile sample "$sample_yaml"
  compile corpus "$out/corpus.yaml"
  compile big "$out/big.yaml"
fi

# --- xborder-replay ---------------------------------------------------------------------
cfg_args() {  # $1 = configuration; prints xborder-replay options
  case $1 in
    forward) echo "--stage forward" ;;
    track) echo "--stage track" ;;
    classify) echo "" ;;
    sample|corpus|big) echo "--ruleset $out/$1.pb" ;;
    *-slow) echo "--ruleset $out/${1%-slow}.pb --no-fast-path" ;;
    *) die "unknown configuration $1" ;;
  esac
}
kept_warmup=100
measured=$(( 400000 / packets + 1 ))  # passes measured: about 400,000 packets a run
run_replay() {  # $1 = config, $2 = new|kept, $3 = run tag; prints "pps settled-share"
  local f=$log/replay.$1.$2.$3.log mode="--warmup 1 --loop $((measured + 1))"
  [ "$2" = new ] || mode="--keep-flows --warmup $kept_warmup --loop $((measured + kept_warmup))"
  # shellcheck disable=SC2046,SC2086
  taskset -c 1 "$replay" --in-memory $mode $(cfg_args "$1") "$cap" \
    > "$f" 2>&1 || die "xborder-replay $1 ($2) failed, see $f"
  local pps settled
  pps=$(sed -n 's/^xborder-replay: .* s, \([0-9]*\) packets\/s (in memory.*/\1/p' "$f")
  [ -n "$pps" ] || die "no packets/s line in $f"
  settled=$(awk '/^xborder-replay: fast path: / { printf "%.3f", $4 / $6 }' "$f")
  echo "$pps ${settled:-0.000}"
}
confs=(forward track classify sample corpus big)
kept_only=(sample-slow corpus-slow big-slow)
timed_runs=$runs
if [ "$target" = 1 ]; then confs=(forward track classify sample); kept_only=(sample-slow); timed_runs=0; fi
for r in $(seq 1 "$timed_runs"); do
  for c in "${confs[@]}" "${kept_only[@]}"; do
    for m in new kept; do
      case " ${kept_only[*]} " in *" $c "*) [ "$m" = kept ] || continue ;; esac
      note "round $r/$runs: xborder-replay $c ($m flows)"
      read -r pps settled < <(run_replay "$c" "$m" "$r")
      put "pps_${m}_$c.$r" "$pps"
      put "settled_${m}_$c" "$settled"
    done
  done
done
for c in "${confs[@]}" "${kept_only[@]}"; do
  for m in new kept; do
    v=$(awk -F'\t' -v k="pps_${m}_$c." 'index($1, k) == 1 { print $2 }' "$out/results.tsv" | median)
    [ -z "$v" ] || put "pps_${m}_$c" "$v"
  done
done

# --- callgrind on xborder-replay -----------------------------------------------------------
# Instructions of the measured passes only (xborder-replay starts and stops callgrind's
# instrumentation around them; the out file's "totals:" line).
cg_total() {  # $1 = name, rest = command; prints the instruction count
  local name=$1; shift
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$log/cg.$name.out" "$@" \
    > "$log/cg.$name.log" 2>&1 || die "callgrind $name failed, see $log/cg.$name.log"
  awk '/^totals:/ { print $2 }' "$log/cg.$name.out"
}
cg_replay() {  # $1 = config; records ipp_kept_$1 (and ipp_new_$1 unless *-slow)
  local c=$1 a k n
  a=$(cfg_args "$c")
  # shellcheck disable=SC2086
  k=$(cg_total "$c.kept" "$replay" --in-memory --loop $((kept_warmup + 2)) --warmup "$kept_warmup" --keep-flows --quiet $a "$cap")
  [ -n "$k" ] || die "callgrind $c: no totals in $log/cg.$c.kept.out"
  put "ir_kept_$c" "$k"
  put "ipp_kept_$c" "$(( k / (2 * packets) ))"
  case $c in *-slow) return ;; esac
  # shellcheck disable=SC2086
  n=$(cg_total "$c.new" "$replay" --in-memory --loop 2 --warmup 1 --quiet $a "$cap")
  [ -n "$n" ] || die "callgrind $c: no totals in $log/cg.$c.new.out"
  put "ir_new_$c" "$n"
  put "ipp_new_$c" "$(( n / packets ))"
}
# Each list run recompiles the detectors' Hyperscan database under valgrind (about a
# minute, whatever the capture): --quick counts the sample list only.
cg_replay_confs=("${confs[@]}" "${kept_only[@]}")
[ "$quick" = 0 ] && [ "$target" = 0 ] || cg_replay_confs=(forward track classify sample sample-slow)
[ "$do_replay" = 1 ] || cg_replay_confs=()
if [ "$do_callgrind" = 1 ]; then
  for c in "${cg_replay_confs[@]}"; do
    note "callgrind: xborder-replay $c"
    cg_replay "$c"
  done
fi

# --- DPDK: xborder-dataplane on net_pcap infinite_rx -----------------------------------------
app_setup() {  # $1 = capture, $2 = yaml; sets eal (EAL arguments for that capture)
  local pk mb n mem
  pk=$(capinfos -M -c -T "$1" | awk -F'\t' 'NR == 2 { print $2 }')
  mb=$(( ($(max_frame "$1") + 128 + 1023) / 1024 * 1024 )); [ "$mb" -ge 2048 ] || mb=2048
  n=$(( 2 * pk + 16384 ))
  mem=$(( n * (mb + 256) / 1048576 + 512 ))
  printf 'mempool:\n  size: %s\n  data_room: %s\n' "$n" $((mb - 128)) > "$2"
  eal="-l 0-1 --no-huge -m $mem --no-pci --vdev net_pcap0,rx_pcap=$1,infinite_rx=1 --vdev net_pcap1,rx_pcap=$1,infinite_rx=1"
}
app_args() {  # $1 = config; prints the app's options for it
  case $1 in
    forward) echo "--stage forward" ;;
    classify) echo "" ;;
    sample|corpus|big)
      rm -rf "$out/evidence.$1"
      "$evtool" init --log "$out/evidence.$1" > "$log/evidence-init.$1.log" 2>&1 || return 1
      echo "--ruleset $out/$1.pb --evidence-log $out/evidence.$1" ;;
  esac
}
run_app() {  # $1 = config, $2 = tag; prints packets/s or "-"
  local f=$log/app.$1.$2.log a
  a=$(app_args "$1") || { echo "-"; return; }
  # shellcheck disable=SC2086
  if ! "$app" $eal --file-prefix "xbe$$" -- --config "$out/app.yaml" --mode inline --duration "$duration" \
      $ctl $a --flow-log "$log/app.$1.$2.flows.json" > "$f" 2>&1 < /dev/null; then
    note "xborder-dataplane $1 failed, see $f"; echo "-"; return
  fi
  local pps
  pps=$(sed -n '/^xborder-dataplane: received /s/.*[ (]\([0-9][0-9]*\) packets\/s.*/\1/p' "$f" | tail -1)
  echo "${pps:--}"
}
worker_ir() {  # $1 = callgrind out prefix; prints the largest count among threads 2..n
  grep -H '^summary:' "$1"-* | grep -v -- "$1-01:" | awk '{ if ($2 > m) m = $2 } END { print m }'
}
cg_app_run() {  # $1 = config, $2 = seconds; prints "worker-instructions packets" (or nothing)
  local f=$log/cg.app.$1.$2 a ir pk
  a=$(app_args "$1") || { note "cannot prepare $1 for the app"; return; }
  # shellcheck disable=SC2086
  if ! valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$f.out" \
      "$app" $slice_eal --file-prefix "xbec$$" -- --config "$out/app-slice.yaml" --mode inline \
      --duration "$2" $ctl $a --flow-log "$f.flows.json" > "$f.log" 2>&1 < /dev/null; then
    note "xborder-dataplane $1 under callgrind failed, see $f.log"; return
  fi
  ir=$(worker_ir "$f.out")
  pk=$(sed -n 's/^xborder-dataplane: received \([0-9]*\), .*/\1/p' "$f.log" | tail -1)
  [ -n "$ir" ] && [ -n "$pk" ] && [ "$pk" -gt 0 ] || { note "callgrind $1: no counts (see $f.log)"; return; }
  echo "$ir $pk"
}
# Steady state of the looped slice: the difference of a 2T and a T second run, so
# start-up and the first passes (new flows, classification) cancel out.
cg_app() {  # $1 = config; records ipp_dpdk_$1 (worker lcore instructions / packet received)
  local ir1 pk1 ir2 pk2
  read -r ir1 pk1 < <(cg_app_run "$1" "$tcg"; echo)
  read -r ir2 pk2 < <(cg_app_run "$1" $((2 * tcg)); echo)
  [ -n "$pk1" ] && [ -n "$pk2" ] || { note "callgrind $1: no counts"; return; }
  if [ "$pk2" -le "$((pk1 + pk1 / 4))" ]; then
    # On a loaded machine the longer run may get little more CPU than the shorter one:
    # then the longer run's own ratio (start-up and first passes not taken out).
    note "callgrind $1: the $((2 * tcg)) s run got too few more packets; using its own ratio"
    put "ir_dpdk_$1" "$ir2"; put "dpdk_packets_$1" "$pk2"; put "dpdk_method_$1" "one run"
    put "ipp_dpdk_$1" "$(( ir2 / pk2 ))"
    return
  fi
  put "ir_dpdk_$1" "$((ir2 - ir1))"; put "dpdk_packets_$1" "$((pk2 - pk1))"
  put "ipp_dpdk_$1" "$(( (ir2 - ir1) / (pk2 - pk1) ))"
}
ctl=""  # no control socket: runs must not collide with a running dataplane's
if [ "$dpdk_app" = 1 ] && "$app" --help 2>/dev/null | grep -q -- '--control-socket'; then ctl="--control-socket none"; fi
dpdk_confs=(forward classify)
[ "$dpdk_rules" = 0 ] || dpdk_confs+=(sample corpus big)
if [ "$target" = 1 ]; then dpdk_confs=(forward classify); [ "$dpdk_rules" = 0 ] || dpdk_confs+=(sample); fi
if [ "$dpdk_app" = 1 ]; then
  eal=""; app_setup "$cap" "$out/app.yaml"; full_eal=$eal
  for r in $(seq 1 "$timed_runs"); do
    for c in "${dpdk_confs[@]}"; do
      note "round $r/$runs: xborder-dataplane $c, $duration s"
      eal=$full_eal
      put "pps_dpdk_$c.$r" "$(run_app "$c" "$r")"
    done
  done
  for c in "${dpdk_confs[@]}"; do
    v=$(awk -F'\t' -v k="pps_dpdk_$c." 'index($1, k) == 1 && $2 != "-" { print $2 }' "$out/results.tsv" | median)
    [ -z "$v" ] || put "pps_dpdk_$c" "$v"
  done
  if [ "$do_callgrind" = 1 ]; then
    if [ "$quick" = 1 ]; then dslice=2000 tcg=2; else dslice=10000 tcg=8; fi
    editcap -F pcap -r "$cap" "$out/slice.pcap" "1-$dslice" >/dev/null
    app_setup "$out/slice.pcap" "$out/app-slice.yaml"; slice_eal=$eal
    put dpdk_slice_packets "$(capinfos -M -c -T "$out/slice.pcap" | awk -F'\t' 'NR == 2 { print $2 }')"
    cg_confs=("${dpdk_confs[@]}")
    if [ "$quick" = 1 ]; then  # each list run loads the list under valgrind: about a minute
      cg_confs=(forward)
    elif [ "$target" = 1 ]; then
      cg_confs=(forward classify)
      [ "$dpdk_rules" = 0 ] || cg_confs+=(sample)
    fi
    for c in "${cg_confs[@]}"; do
      note "callgrind: xborder-dataplane $c on DPDK, $dslice packets looped for $tcg and $((2 * tcg)) s"
      cg_app "$c"
    done
  fi
fi
put load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# --- tables ----------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
kpps() { awk -v a="$1" 'BEGIN { if (a == "" || a == "-") print "-"; else printf "%.0f k", a / 1000 }'; }
est_cpp() { awk -v p="$1" -v m="$(get cpu_mhz)" 'BEGIN { if (p == "" || p == "-" || p == 0) print "-"; else printf "~%.0f", m * 1e6 / p }'; }
pct() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.0f %%", a * 100 }'; }
or_dash() { if [ -n "$1" ]; then echo "$1"; else echo "-"; fi; }
name_of() {
  case $1 in
    forward) echo "forward only (--stage forward, no decode)" ;;
    track) echo "+ decode, flow table (--stage track)" ;;
    classify) echo "+ nDPI, no list" ;;
    sample) echo "sample list (every flow held at its first packet)" ;;
    corpus) echo "sample list + corpus tenant" ;;
    big) echo "$entries-entry list + corpus tenant" ;;
    sample-slow) echo "sample list, no fast path" ;;
    corpus-slow) echo "sample list + corpus tenant, no fast path" ;;
    big-slow) echo "$entries-entry list + corpus tenant, no fast path" ;;
  esac
}
cls_new=$(get pps_new_classify); cls_kept=$(get pps_kept_classify)
{
  echo "### Lists ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  if [ "$target" = 0 ]; then
    echo "Big list: $(get big_shape) ($(get big_yaml_bytes) bytes of YAML), on top of the sample list and the corpus tenant."
    echo
  fi
  echo "| list | xborder-rulec wall s | CPU s | ruleset bytes |"
  echo "|---|---:|---:|---:|"
  for l in "${lists[@]}"; do
    echo "| $l | $(get "rulec_wall_$l") | $(get "rulec_cpu_$l") | $(get "ruleset_bytes_$l") |"
  done
  echo
  if [ "$timed_runs" -gt 0 ]; then
  echo "### xborder-replay, in memory, one core ($runs round(s); $measured measured passes of $packets packets a run)"
  echo
  echo "CPU $(get cpu_mhz) MHz; load average $(get load_before) before, $(get load_after) after. Cycles/packet are estimates: CPU MHz / packets/s."
  echo
  echo "| configuration | new flows: packets/s | vs no list | kept flows: packets/s | vs no list | cycles/packet (kept) | fast-path share (kept) |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for c in "${confs[@]}" "${kept_only[@]}"; do
    pn=$(get "pps_new_$c"); pk=$(get "pps_kept_$c")
    echo "| $(name_of "$c") | $(kpps "$pn") | $(ratio "$pn" "$cls_new") | $(kpps "$pk") | $(ratio "$pk" "$cls_kept") | $(est_cpp "$pk") | $(pct "$(get "settled_kept_$c")") |"
  done
  fi
  if [ "$do_callgrind" = 1 ]; then
    echo
    echo "### Instructions per packet, xborder-replay (valgrind --tool=callgrind)"
    echo
    echo "New flows: the pass after 1 warm-up pass / $packets; kept flows (the decided-flow path): 2 passes after $kept_warmup warm-up passes / (2 x $packets)."
    echo
    echo "| configuration | new flows | kept flows | kept vs forward | kept vs track |"
    echo "|---|---:|---:|---:|---:|"
    for c in "${cg_replay_confs[@]}"; do
      k=$(get "ipp_kept_$c")
      echo "| $(name_of "$c") | $(or_dash "$(get "ipp_new_$c")") | $k | $(ratio "$k" "$(get ipp_kept_forward)") | $(ratio "$k" "$(get ipp_kept_track)") |"
    done
  fi
  if [ "$dpdk_app" = 1 ]; then
    echo
    echo "### xborder-dataplane on DPDK (net_pcap infinite_rx, one worker lcore, $duration s a run)"
    echo
    echo "Instructions: worker lcore, callgrind --separate-threads=yes, the first $(or_dash "$(get dpdk_slice_packets)") packets looped; (Ir of a $((2 * ${tcg:-0})) s run - Ir of a ${tcg:-0} s run) / (their packets' difference), so start-up and the first passes cancel out."
    echo
    echo "| configuration | packets/s | vs forward only | worker instructions/packet | vs forward only |"
    echo "|---|---:|---:|---:|---:|"
    for c in "${dpdk_confs[@]}"; do
      p=$(get "pps_dpdk_$c"); i=$(get "ipp_dpdk_$c")
      [ -z "$(get "dpdk_method_$c")" ] || i="$i ($(get "dpdk_method_$c"))"
      echo "| $(name_of "$c") | $(kpps "$p") | $(ratio "$p" "$(get pps_dpdk_forward)") | $(or_dash "$i") | $(ratio "$(get "ipp_dpdk_$c")" "$(get ipp_dpdk_forward)") |"
    done
  fi
  if [ "$do_callgrind" = 1 ]; then
    # The target: a decided flow's packet against forwarding only, on the forwarding core.
    # Forwarding only = xborder-dataplane --stage forward on DPDK (PMD rx + tx + our loop).
    # Without the app's --ruleset, a decided packet on DPDK is estimated as that plus what
    # the engine adds per kept packet over its forward stage (replay, same instructions).
    fwd=$(get ipp_dpdk_forward)
    echo
    echo "### Decided-flow target: instructions per packet against forwarding only"
    echo
    if [ -n "$fwd" ]; then
      echo "Forwarding only = xborder-dataplane --stage forward, worker lcore: $fwd instructions/packet."
      echo
      echo "Only settled packets take the fast path: the share (replay, kept flows) says how much of each row is decided."
      echo
      echo "| list | packet of a known flow | how | fast-path share (replay, kept) | vs forwarding only | target 1.5 |"
      echo "|---|---:|---|---:|---:|---|"
      # classify (no list): known, classified flows are forwarded (their packets pay tx).
      for c in classify sample corpus big; do
        d=$(get "ipp_dpdk_$c"); how="DPDK, measured"
        [ -n "$d" ] || [ -n "$(get "ipp_kept_$c")" ] || continue
        [ -n "$d" ] || [ -n "$(get ipp_kept_forward)" ] || continue
        if [ -z "$d" ]; then
          d=$(( fwd + $(get "ipp_kept_$c") - $(get ipp_kept_forward) )); how="forwarding only + replay (kept $c - kept forward)"
        fi
        r=$(ratio "$d" "$fwd")
        echo "| $(name_of "$c") | $d | $how | $(pct "$(get "settled_kept_$c")") | $r | $(awk -v r="$r" 'BEGIN { print (r != "-" && r < 1.5 ? "met" : "NOT met") }') |"
      done
    else
      echo "(no DPDK forward-only count: run without --no-dpdk to judge the target)"
    fi
  fi
} > "$out/results.md"
cat "$out/results.md"
exit 0
}
