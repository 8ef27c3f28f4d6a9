#!/usr/bin/env bash
# e2e (issue 5): 100 ruleset swaps while traffic flows through xborder-dataplane.
#
# Traffic: e2e_tool.py reload-run writes a paced pcap stream into a FIFO that net_pcap
# reads (port 0), one new flow every 10 ms (a POST with resident IDs and the E2E-EXPORT
# keyword, alternately from the filed tenant: forwarded and recorded as covered, and the
# unfiled one: blocked, RSTs both ways, recorded), while it alternates two compiled
# versions of the test list through `xborder-dataplane-ctl reload`, and once, half way,
# reloads a corrupt file. Checks:
#  - every reload answers OK with the expected version, and switches within 100 ms;
#  - the corrupt file is refused with a reason and the version in force stays;
#  - no packet lost: frames written == rx; rx == forwarded + policy drops; the outside
#    port's output capture holds exactly the forwarded frames plus the RSTs toward the
#    server; no other drop;
#  - one verified FLOW record per flow, no GAP, and each cites a version that was in force
#    at some moment between the flow being written and the record being committed
#    (swap request .. reply times from the timeline); at least a quarter of the flows fall
#    where only one version can be in force, so the check is not vacuous;
#  - one RULESET_ACTIVATION record per successful swap (plus the start), none for the
#    refused file.
# Runs on net_pcap: no root, no namespaces.
set -euo pipefail
. "$(dirname "$0")/e2e_common.sh"
bin_ctl=$build/bin/xborder-dataplane-ctl
for b in "$bin_dp" "$bin_rulec" "$bin_ev" "$bin_verify" "$bin_ctl"; do
  [ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }
done
swaps=${1:-100}

work=$(mktemp -d /tmp/xb-e2e-reload.XXXXXX)
dp_pid=""
cleanup() {
  [ -n "$dp_pid" ] && kill -KILL "$dp_pid" 2>/dev/null || true
  remove_work
  rm -rf "/var/run/dpdk/xbe2e-reload-$$"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

hash_a=$(make_ruleset "$work/a" --version e2e-A) || { fail "list A does not compile"; exit 1; }
hash_b=$(make_ruleset "$work/b" --version e2e-B) || { fail "list B does not compile"; exit 1; }
[ "$hash_a" != "$hash_b" ] || { fail "versions A and B have the same hash"; exit 1; }
head -c 4096 /dev/urandom >"$work/bad.pb"
echo "A $hash_a"
echo "B $hash_b"
evidence_init "$work/evlog"
gateway_config "$work/gw.yaml" inline "$work/a/ruleset.pb" "$work/evlog" "$work"
# One packet per worker loop: a burst would wait on the FIFO until it is full, and the
# decision stamp (taken before the burst) would trail the packets it judges.
printf 'workers:\n  burst_size: 1\n' >>"$work/gw.yaml"
mkfifo "$work/in.fifo"
$tool pcap-header "$work/empty.pcap"

timeout $((120 + swaps)) "$bin_dp" --lcores 0-1 --no-huge --no-pci --file-prefix "xbe2e-reload-$$" --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$work/in.fifo,tx_pcap=$work/to-inside.pcap" \
  --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$work/to-outside.pcap" \
  -- --config "$work/gw.yaml" --flow-log "$work/flows.json" --exit-on-idle 1500 \
  >"$work/dp.out" 2>"$work/dp.err" &
dp_pid=$!
$tool reload-run "$work/in.fifo" "$bin_ctl" "$work/control.sock" "$work/a/ruleset.pb" "$work/b/ruleset.pb" \
  "$work/bad.pb" --swaps "$swaps" --gap-ms 10 --out "$work/timeline.json" || fail "reload-run: exit $?"
rc=0
wait "$dp_pid" || rc=$?
dp_pid=""
[ "$rc" = 0 ] || fail "xborder-dataplane exit status $rc: $(tail -2 "$work/dp.err")"
tail -4 "$work/dp.out" | sed 's/^/  /'

export_and_verify "$work/evlog" "$work/bundle" || true
python3 "$here/check_runs.py" reload "$work" "$hash_a" "$hash_b" "$swaps" || fails=$((fails + $?))

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "e2e enforce reload: $swaps swaps under traffic, nothing lost, every decision cites a version in force"
