#!/usr/bin/env bash
# Verification benchmark (issue 4: xborder-verify >= 1,000,000 records/s end to end).
#
#   scripts/bench/verify.sh [--records N] [--runs K] [--build DIR] [--out DIR] [--old DIR]
#
# Writes one bundle of N FLOW records (~330 bytes each, SHA-256 tree, a checkpoint every
# 100,000 records) with ev_verify_bench (XB_BENCH_BUNDLE_OUT), then alternates K times:
#   bench  ev_verify_bench --benchmark_filter=threads:0  (verify::verifyBundle in memory,
#          every core; its own copy of the same bundle, built before timing)
#   cli    xborder-verify BUNDLE --trust BUNDLE.trust.json  (the regulator's command:
#          maps the file, verifies, prints the verdict; must exit 0)
#   old    (with --old DIR) DIR/bin/xborder-verify on the same bundle, for side-by-side
#          ratios (e.g. a build of an earlier commit)
# Per run: wall, user + sys, peak RSS and records/s (wall); then the medians. The CLI
# rows are /usr/bin/time of the whole process; the bench rows are the process CPU and
# wall time of the timed verification only (Google Benchmark counters).
#
#   --records N  records in the bundle (default 1048576)
#   --runs K     rounds (default 5)
#   --build DIR  build tree with bin/ev_verify_bench and bin/xborder-verify
#                (default $XB_BUILD_DIR or build/bench; configured Release and the two
#                targets built if needed)
#   --old DIR    another build tree whose bin/xborder-verify runs beside the new one
#   --out DIR    results (default out/bench/verify): results.md, results.tsv, logs
#   --keep       keep the bundle (OUT/bundle.tar) instead of deleting it at the end
#
# Wall-clock figures need a quiet machine; user + sys (CPU-seconds per million records)
# is what load disturbs least. Exit status: 0 done, 1 a run failed, 2 usage error.
set -euo pipefail
{  # read whole before running

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "verify.sh: $*" >&2; exit 1; }
usage_error() { echo "verify.sh: $* (try --help)" >&2; exit 2; }

records=1048576
runs=5
build=${XB_BUILD_DIR:-$root/build/bench}
old=""
out=$root/out/bench/verify
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    --records) [ $# -ge 2 ] || usage_error "--records needs a number"; records=$2; shift 2 ;;
    --runs) [ $# -ge 2 ] || usage_error "--runs needs a number"; runs=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || usage_error "--build needs a directory"; build=$2; shift 2 ;;
    --old) [ $# -ge 2 ] || usage_error "--old needs a directory"; old=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage_error "--out needs a directory"; out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
[[ "$records" =~ ^[1-9][0-9]*$ ]] || usage_error "--records must be a positive number"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || usage_error "--runs must be a positive number"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
if [ -n "$old" ] && [ ! -x "$old/bin/xborder-verify" ]; then die "--old: no $old/bin/xborder-verify"; fi

if [ ! -x "$build/bin/ev_verify_bench" ] || [ ! -x "$build/bin/xborder-verify" ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null ||
    die "cmake configure of $build failed"
  cmake --build "$build" -j"$(nproc)" --target ev_verify_bench xborder-verify >/dev/null || die "build failed in $build"
fi
mkdir -p "$out"
bundle=$out/bundle.tar
log=$out/log
: >"$log"
cleanup() { [ "$keep" = 1 ] || rm -f "$bundle" "$bundle.trust.json"; }
trap cleanup EXIT

echo "writing a $records-record bundle ..." >&2
XB_BENCH_RECORDS=$records XB_BENCH_BUNDLE_OUT=$bundle "$build/bin/ev_verify_bench" --benchmark_filter=none \
  >>"$log" 2>&1 || die "ev_verify_bench could not write the bundle (see $log)"
[ -s "$bundle" ] || die "no bundle written (see $log)"
bundle_mb=$(( $(stat -c %s "$bundle") / 1000000 ))

tsv=$out/results.tsv
printf 'run\tvariant\twall_s\tcpu_s\trss_kb\trecords_per_s\n' >"$tsv"

# /usr/bin/time of one CLI run: "wall user sys maxrss_kb"; the verdict must be 0.
cli_run() {
  local bin=$1 t rc
  t=$(mktemp)
  set +e
  /usr/bin/time -f '%e %U %S %M' -o "$t" "$bin" "$bundle" --trust "$bundle.trust.json" >>"$log" 2>&1
  rc=$?
  set -e
  [ "$rc" = 0 ] || { rm -f "$t"; die "$bin exited $rc on the bundle (see $log)"; }
  tail -n 1 "$t"
  rm -f "$t"
}

for ((r = 1; r <= runs; r++)); do
  echo "round $r/$runs ..." >&2
  # The library: one timed verification (wall and process CPU from the benchmark's JSON).
  json=$(XB_BENCH_RECORDS=$records "$build/bin/ev_verify_bench" --benchmark_filter='threads:0' \
           --benchmark_format=json 2>>"$log") || die "ev_verify_bench failed (see $log)"
  read -r wall cpu < <(python3 -c '
import json, sys
b = [x for x in json.loads(sys.stdin.read())["benchmarks"] if x.get("run_type") == "iteration"][0]
if b.get("error_occurred"): sys.exit("bench error: " + b.get("error_message", ""))
print(b["real_time"] / 1000.0, b["process_cpu_s"])' <<<"$json") || die "ev_verify_bench reported an error (see $log)"
  # Peak RSS of the benchmark process holds two copies of the bundle: not reported.
  printf '%s\tbench\t%s\t%s\t-\t%s\n' "$r" "$wall" "$cpu" \
    "$(python3 -c "print(round($records / $wall))")" >>"$tsv"
  for variant in cli old; do
    bin=$build/bin/xborder-verify
    if [ "$variant" = old ]; then
      [ -n "$old" ] || continue
      bin=$old/bin/xborder-verify
    fi
    read -r wall user sys rss <<<"$(cli_run "$bin")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$variant" "$wall" \
      "$(python3 -c "print(round($user + $sys, 2))")" "$rss" \
      "$(python3 -c "print(round($records / max($wall, 0.001)))")" >>"$tsv"
  done
done

python3 - "$tsv" "$records" "$bundle_mb" "$runs" "$(uptime | sed 's/.*load average: //')" >"$out/results.md" <<'EOF'
import statistics, sys
tsv, records, mb, runs, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rows = [l.rstrip("\n").split("\t") for l in open(tsv)][1:]
names = {"bench": "ev_verify_bench (threads:0, in memory)", "cli": "xborder-verify (new)", "old": "xborder-verify (--old)"}
print(f"# Verification benchmark: {records:,} records, {mb} MB bundle, {runs} round(s)\n")
print(f"Load average at the end: {load}\n")
print("| round | variant | wall s | CPU s (user+sys) | CPU s per M records | peak RSS MB | records/s |")
print("|---|---|---|---|---|---|---|")
for r, v, wall, cpu, rss, rate in rows:
    rss_mb = "-" if rss == "-" else f"{int(rss) / 1024:.0f}"
    print(f"| {r} | {names[v]} | {float(wall):.2f} | {float(cpu):.2f} | {float(cpu) / records * 1e6:.2f} | {rss_mb} | {int(rate):,} |")
print("\n| variant | median wall s | median CPU s | CPU s per M records | median records/s |")
print("|---|---|---|---|---|")
med = {}
for v in ["bench", "cli", "old"]:
    sel = [x for x in rows if x[1] == v]
    if not sel:
        continue
    w = statistics.median(float(x[2]) for x in sel)
    c = statistics.median(float(x[3]) for x in sel)
    med[v] = (w, c)
    print(f"| {names[v]} | {w:.2f} | {c:.2f} | {c / records * 1e6:.2f} | {records / w:,.0f} |")
if "old" in med:
    print(f"\nnew/old: {med['old'][0] / med['cli'][0]:.2f}x less wall time, "
          f"{med['old'][1] / med['cli'][1]:.2f}x less CPU (medians)")
target = "met" if records / med["cli"][0] >= 1e6 else "not met"
print(f"\nTarget >= 1,000,000 records/s for xborder-verify (median wall): **{target}** "
      f"({records / med['cli'][0]:,.0f}/s).")
EOF
cat "$out/results.md"
}
