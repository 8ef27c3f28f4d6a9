#!/usr/bin/env bash
# Runs scripts/bench/dataplane.sh --quick on a corpus capture and checks its output:
# every row of the table is present with a positive rate, every raw figure parses.
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

out=$bld/bench-smoke
rm -rf "$out"
bash "$src/scripts/bench/dataplane.sh" --quick --build "$bld" --out "$out" --pcap "$pcap"

fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi; }
tsv=$out/results.tsv
md=$out/results.md
val() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$tsv"; }
positive() { [[ "$(val "$1")" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$(val "$1")" 'BEGIN { exit !(v > 0) }'; }
integer() { [[ "$(val "$1")" =~ ^-?[0-9]+$ ]]; }

check "results.tsv and results.md exist" '[ -s "$tsv" ] && [ -s "$md" ]'
check "the slice holds 2000 packets" '[ "$(val packets)" = 2000 ]'
for k in testpmd forward track classify replay ndpireader; do
  check "pps_$k is a positive number" "positive pps_$k"
done
for k in ndpireader replay_classify dpdk_testpmd dpdk_forward; do
  check "ipp_$k (callgrind) is a positive number" "positive ipp_$k"
done
for k in bytes_table_slot bytes_ndpi_slot bytes_marginal_dns bytes_marginal_udp bytes_idle_flow; do
  check "$k is an integer" "integer $k"
done
# A flow-table slot costs something, and nDPI state is bigger than a flow entry (688 B
# of ndpi_flow_struct alone): a mix-up of the RSS arithmetic would break either.
check "a table slot costs 16..4096 bytes" '[ "$(val bytes_table_slot)" -ge 16 ] && [ "$(val bytes_table_slot)" -le 4096 ]'
check "an nDPI slot costs at least 512 bytes" '[ "$(val bytes_ndpi_slot)" -ge 512 ]'
check "memory table row" 'grep -Eq "^\| \*\*idle tracked flow\*\* \(slot \+ added\) \| \| \*\*-?[0-9]+\*\* \|$" "$md"'
# Table: header, separator, and one row per configuration with 5 cells.
check "throughput table header" 'grep -q "^| configuration | packets/s | vs testpmd | vs ndpiReader | cycles/packet |$" "$md"'
for row in "testpmd io" "(a) forward only" "(b) + decode, flow table" "(c) + nDPI" \
    "xborder-replay, in memory, every flow reclassified each pass" "ndpiReader -t (one pass)"; do
  check "row '$row' has 5 cells and a k packets/s rate" \
    "grep -F \"| $row |\" \"\$md\" | awk -F'|' 'NF == 7 && \$3 ~ /^ [0-9]+ k \$/ { ok = 1 } END { exit !ok }'"
done
check "targets line" 'grep -Eq "^Targets on these timings \(noisy; \(a\) is judged on instructions below\): \(a\) >= 0.80 x testpmd: [0-9.]+, (met|NOT met); \(c\) >= 3 x ndpiReader: [0-9.]+, (met|NOT met)\.$" "$md"'
check "instructions table" 'grep -Eq "^\| xborder-replay --stage classify \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9.]+ \|$" "$md"'
exit $fail
