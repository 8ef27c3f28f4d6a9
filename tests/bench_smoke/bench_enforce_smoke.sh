#!/usr/bin/env bash
# Runs scripts/bench/enforce.sh --quick on a corpus capture and checks its output: the
# lists compiled, every configuration has a positive rate and instruction count, the
# tables are well formed, and the fast path is what the "kept" rows measure (the sample
# list holds every flow at its first packet, so nearly every later packet is settled).
# Speed is not asserted.
set -euo pipefail
src=${XB_SOURCE_DIR:?XB_SOURCE_DIR is not set (run through ctest)}
bld=${XB_BUILD_DIR:?XB_BUILD_DIR is not set (run through ctest)}
shared=${XB_SHARED_DIR:-$src/../shared}
pcap=$shared/corpus/pcap/ndpi-skype_no_unknown.pcap  # 2,146 packets: TLS, DNS, UDP, STUN
if [ ! -d "$shared" ]; then
  echo "SKIP: ../shared is absent ($shared): no capture to replay"
  exit 77
fi
[ -s "$pcap" ] || { echo "FAIL: $pcap is missing"; exit 1; }

out=$bld/bench-smoke-enforce
rm -rf "$out"
bash "$src/scripts/bench/enforce.sh" --quick --entries 500 --build "$bld" --out "$out" --pcap "$pcap"

fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }
tsv=$out/results.tsv
md=$out/results.md
val() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$tsv"; }
positive() { [[ "$(val "$1")" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$(val "$1")" 'BEGIN { exit !(v > 0) }'; }

check "results.tsv and results.md exist" '[ -s "$tsv" ] && [ -s "$md" ]'
check "the slice holds 2000 packets" '[ "$(val packets)" = 2000 ]'
for l in sample corpus big; do
  check "ruleset $l compiled" "positive ruleset_bytes_$l"
done
check "the big list is bigger than the sample" '[ "$(val ruleset_bytes_big)" -gt "$(val ruleset_bytes_sample)" ]'
check "big list shape line" '[[ "$(val big_shape)" =~ ^10\ tenants,\ [0-9]+\ destinations,\ 450\ endpoints,\ 40\ filings$ ]]'
for c in forward track classify sample corpus big; do
  check "pps_new_$c positive" "positive pps_new_$c"
  check "pps_kept_$c positive" "positive pps_kept_$c"
done
for c in sample-slow corpus-slow big-slow; do
  check "pps_kept_$c positive" "positive pps_kept_$c"
done
# --quick counts instructions for the sample list only (each list run recompiles the
# detector database under valgrind).
for c in forward track classify sample; do
  check "ipp_new_$c positive" "positive ipp_new_$c"
  check "ipp_kept_$c positive" "positive ipp_kept_$c"
done
check "ipp_kept_sample-slow positive" "positive ipp_kept_sample-slow"
# Every corpus flow is held at its first packet under the sample list: after the first
# of ~200 passes almost every packet takes the fast path; never without it.
check "sample list: >= 90% of kept packets on the fast path" 'awk -v s="$(val settled_kept_sample)" "BEGIN { exit !(s >= 0.90) }"'
check "no fast path: 0% settled" '[ "$(val settled_kept_sample-slow)" = 0.000 ]'
check "fast path costs fewer instructions than the policy on every packet" \
  '[ "$(val ipp_kept_sample)" -lt "$(val ipp_kept_sample-slow)" ]'
check "lists table" 'grep -Eq "^\| big \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \|$" "$md"'
check "replay table header" 'grep -q "^| configuration | new flows: packets/s | vs no list | kept flows: packets/s | vs no list | cycles/packet (kept) | fast-path share (kept) |$" "$md"'
for row in "forward only (--stage forward, no decode)" "sample list (every flow held at its first packet)" \
    "500-entry list + corpus tenant" "500-entry list + corpus tenant, no fast path"; do
  check "row '$row' has 7 cells" "grep -F \"| $row |\" \"\$md\" | head -1 | awk -F'|' 'NF == 9 { ok = 1 } END { exit !ok }'"
done
check "instructions table row" 'grep -Eq "^\| sample list \(every flow held at its first packet\) \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \|$" "$md"'
if [ -n "$(val ipp_dpdk_forward)" ]; then
  check "target table" 'grep -Eq "^\| sample list \(every flow held at its first packet\) \| [0-9]+ \| .* \| [0-9]+ % \| [0-9.]+ \| (met|NOT met) \|$" "$md"'
fi
exit $fail
