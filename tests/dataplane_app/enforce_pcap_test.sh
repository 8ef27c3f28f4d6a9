#!/usr/bin/env bash
# Integration (issue 5): xborder-dataplane enforces the sample negative list on net_pcap
# vdevs (no namespaces, no ../shared needed). The capture is the dry run's
# (tests/dryrun/make-dryrun-pcap.py: waybill POSTs with checksum-valid resident IDs, a
# TLS flow, a plain GET and a POST of a document marked 绝密★ that GEN-01 prohibits),
# all fed on the inside port so the order of every packet is fixed.
#  1. inline: the prohibited POST is blocked from the decision on, both ways (the
#     outside capture lacks the POST and everything after it), a RST leaves on each
#     port, every other frame is forwarded, the flow log carries the verdict, and the
#     evidence log exports a bundle xborder-verify accepts;
#  2. tap: nothing is forwarded, the same flow is marked as an alert, no RST;
#  3. reload while replaying (infinite rx): `xborder-dataplane-ctl reload` switches to
#     another version (reply cites its hash), a bad file is refused with the reason and
#     the previous version stays; SIGHUP reloads the configured file;
#  4. start-up refusals: no evidence log, a missing ruleset file.
set -euo pipefail

src=${XB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
B=$build/bin
for b in xborder-dataplane xborder-dataplane-ctl xborder-rulec xborder-evidence xborder-verify; do
  [ -x "$B/$b" ] || { echo "FAIL: $B/$b not built"; exit 1; }
done

work=$(mktemp -d /tmp/xb-enforce-pcap.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
  rm -rf /var/run/dpdk/xbt-enf-$$-* 2>/dev/null || true
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
die() { echo "FAIL: $*"; exit 1; }

python3 "$src/tests/dryrun/make-dryrun-pcap.py" "$work/in.pcap" >/dev/null
python3 - "$work/empty.pcap" <<'EOF'
import struct, sys
open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
EOF
list=$src/rules/examples/sample-negative-list.yaml
"$B/xborder-rulec" "$list" -o "$work/a.pb" || die "rulec sample list"
# Version B: the same list under another version string (another hash, same rules).
sed -e 's/^  version: "2025.1-sample"/  version: "enforce-test-b"/' "$list" >"$work/b.yaml"
cp "$src/rules/examples/geo-sample.csv" "$work/"
"$B/xborder-rulec" "$work/b.yaml" -o "$work/b.pb" || die "rulec list b"
hash_a=$("$B/xborder-rulec" "$list" --check --print-hash)
hash_b=$("$B/xborder-rulec" "$work/b.yaml" --check --print-hash)
[ "$hash_a" != "$hash_b" ] || die "versions a and b have the same hash"
printf 'not a ruleset' >"$work/bad.pb"
printf 'flows:\n  capacity: 65536\ncounters:\n  merge_interval_ms: 100\n' >"$work/small.yaml"

run_id=0
# dp OUTDIR RX0 [our options...]: port 0 (inside) replays RX0, port 1 gets nothing.
dp() {
  local out=$1 rx0=$2
  shift 2
  run_id=$((run_id + 1))
  mkdir -p "$out"
  "$B/xborder-evidence" init --log "$out/ev" --origin "enforce-test.example/$run_id" >/dev/null
  timeout 120 "$B/xborder-dataplane" -l 0-1 --no-huge --no-pci --file-prefix "xbt-enf-$$-$run_id" \
    --log-level 'lib.eal:warning' \
    --vdev "net_pcap0,rx_pcap=$rx0,tx_pcap=$out/to-inside.pcap" \
    --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$out/to-outside.pcap" \
    -- --config "$work/small.yaml" --flow-log "$out/flows.json" --ruleset "$work/a.pb" \
    --evidence-log "$out/ev" --control-socket "$out/ctl.sock" "$@" \
    >"$out/stdout" 2>"$out/stderr"
}

# Frames of a capture as (src, sport, dst, dport, tcp flags, payload) per line of JSON.
frames_py='
import json, struct, sys
def frames(path):
    d = open(path, "rb").read()
    off = 24
    while off + 16 <= len(d):
        caplen = struct.unpack("<I", d[off + 8:off + 12])[0]
        yield d[off + 16:off + 16 + caplen]
        off += 16 + caplen
def tcp(f):
    o = 12
    while f[o:o + 2] in (b"\x81\x00", b"\x88\xa8"):
        o += 4
    if f[o:o + 2] != b"\x08\x00":
        return None
    ip = f[o + 2:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 6:
        return None
    tot = struct.unpack("!H", ip[2:4])[0]
    t = ip[ihl:tot]
    doff = (t[12] >> 4) * 4
    src = ".".join(map(str, ip[12:16])); dst = ".".join(map(str, ip[16:20]))
    sp, dp_ = struct.unpack("!HH", t[:4])
    return dict(src=src, sport=sp, dst=dst, dport=dp_, flags=t[13],
                seq=struct.unpack("!I", t[4:8])[0], payload=t[doff:].decode("latin-1"))
'

# verify_bundle OUTDIR [TYPE=N ...]: export the whole log, verify it with xborder-verify,
# and check the number of records of each named type (from its --json counts); TYPE=+
# only requires at least one.
verify_bundle() {
  local out=$1
  shift
  "$B/xborder-evidence" checkpoint --log "$out/ev" --tsa-url none >/dev/null || return 1
  "$B/xborder-evidence" export --log "$out/ev" --out "$out/bundle.tar" --quiet >/dev/null || return 1
  "$B/xborder-evidence" trust --log "$out/ev" --out "$out/trust.json" || return 1
  "$B/xborder-verify" "$out/bundle.tar" --trust "$out/trust.json" --json >"$out/verify.json" \
    2>"$out/verify.txt" || { tail -3 "$out/verify.txt"; return 1; }
  python3 - "$out/verify.json" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
types = {c["key"]: int(c["count"]) for c in d["counts"] if c["dimension"] == "type"}
bad = []
for arg in sys.argv[2:]:
    t, n = arg.split("=")
    have = types.get(t, 0)
    if (n == "+" and have == 0) or (n != "+" and have != int(n)):
        bad.append(f"{t}: {have} records, expected {n}")
print(d["verdict"], types, "; ".join(bad))
sys.exit(1 if d["verdict"] != "VERIFIED" or bad else 0)
PY
}

# 1. Inline.
out=$work/inline
printf 'flows:\n  capacity: 65536\ncounters:\n  merge_interval_ms: 100\n  snapshot: %s\n' \
  "$out/counters.bin" >"$work/snap.yaml"
if ! dp "$out" "$work/in.pcap" --exit-on-idle 500 --config "$work/snap.yaml"; then
  die "inline run: exit status ($(tail -2 "$out/stderr"))"
fi
python3 - "$out" "$work/in.pcap" <<EOF || fail "inline: forwarding / drops / RSTs"
$frames_py
out, inp = sys.argv[1], sys.argv[2]
E = ("198.18.2.20", 51005, "192.0.2.201", 80)   # the prohibited POST (GEN-01)
def key(t):
    return (t["src"], t["sport"], t["dst"], t["dport"])
def of_e(t):
    return t is not None and (key(t) == E or key(t) == (E[2], E[3], E[0], E[1]))
sent = list(frames(inp))
outside = list(frames(out + "/to-outside.pcap"))
inside = list(frames(out + "/to-inside.pcap"))
bad = []
# Every frame of the other flows crossed, byte for byte.
others = [f for f in sent if not of_e(tcp(f))]
from collections import Counter
missing = Counter(others) - Counter(outside)
if missing:
    bad.append(f"{sum(missing.values())} frames of unblocked flows missing outside")
# Flow e: the handshake crossed, the POST and everything after it did not.
e_in = [tcp(f) for f in sent if of_e(tcp(f))]
post_at = next(i for i, t in enumerate(e_in) if t["payload"].startswith("POST"))
e_out = [tcp(f) for f in outside if of_e(tcp(f))]
fwd = [t for t in e_out if not t["flags"] & 4]
if len(fwd) != post_at:
    bad.append(f"flow e: {len(fwd)} frames forwarded, expected the {post_at} before the POST")
if any(t["payload"] for t in fwd):
    bad.append("flow e: payload crossed the gateway")
post = e_in[post_at]
rst_out = [t for t in e_out if t["flags"] & 4]
if len(rst_out) != 1 or key(rst_out[0]) != E or rst_out[0]["seq"] != post["seq"]:
    bad.append(f"outside RST toward the server: {rst_out}")
rst_in = [tcp(f) for f in inside if of_e(tcp(f)) and tcp(f)["flags"] & 4]
if len(rst_in) != 1 or key(rst_in[0]) != (E[2], E[3], E[0], E[1]):
    bad.append(f"inside RST toward the client: {rst_in}")
# Nothing else goes back inside (all input came from the inside port).
if len(inside) != len(rst_in):
    bad.append(f"{len(inside) - len(rst_in)} unexpected frames sent inside")
print("; ".join(bad) or f"inline: {len(outside)} frames outside, RST both ways")
sys.exit(1 if bad else 0)
EOF
python3 - "$out/flows.json" "$hash_a" <<'EOF' || fail "inline: flow log verdict fields"
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
e = [f for f in flows if f.get("dest_ip") == "192.0.2.201" or f.get("dst_ip") == "192.0.2.201"]
if len(e) != 1:
    sys.exit(f"flow e: {len(e)} records")
v = e[0].get("verdict", {})
line = json.dumps(e[0])
ok = v.get("action") == "block" and v.get("entry_id") == "GEN-01" and sys.argv[2] in line
print("flow e verdict:", v)
sys.exit(0 if ok else 1)
EOF
grep -q "rst sent 2 failed 0" "$out/stdout" || fail "inline: console lacks 'rst sent 2 failed 0'"
grep -q "dropped [0-9]* packets in [0-9.]* s; injected 2 resets;" "$out/stdout" || fail "inline: summary lacks 2 resets"
grep -q "decisions log [0-9]* alert 0 hold 0 block 1 |" "$out/stdout" || fail "inline: decisions line"
# The dataplane signs a checkpoint itself at stop (over every record it wrote).
grep -q "| log size [1-9][0-9]* checkpoints [1-9]" "$out/stdout" || fail "inline: no checkpoint signed by the dataplane"
[ -n "$(ls "$out/ev/checkpoints")" ] || fail "inline: no checkpoint file"
# Start and stop, one activation, FLOW records (the block among them).
if verify_bundle "$out" APPLIANCE=2 RULESET_ACTIVATION=1 FLOW=+; then
  pass "inline: evidence bundle verifies"
else
  fail "inline: evidence bundle does not verify or lacks records"
fi
[ -s "$out/counters.bin" ] || fail "inline: counters snapshot not written"
[ -s "$out/ev/keys/hmac.key" ] || fail "inline: hmac key not created beside the log keys"
[ "$fails" = 0 ] && pass "inline: blocked both ways with RSTs, others forwarded"

# 1b. Inline with two workers (single-queue vdevs: software hash hand-off, and tx of
# the peer port owned by one worker, so RSTs may cross the tx hand-off ring). Three
# lcores (main + 2 workers) on however many CPUs the machine has.
out=$work/inline2
run_id=$((run_id + 1))
mkdir -p "$out"
"$B/xborder-evidence" init --log "$out/ev" --origin "enforce-test.example/two" >/dev/null
if timeout 120 "$B/xborder-dataplane" --lcores "0@0,1@1,2@0" --no-huge --no-pci --file-prefix "xbt-enf-$$-$run_id" \
    --log-level 'lib.eal:warning' \
    --vdev "net_pcap0,rx_pcap=$work/in.pcap,tx_pcap=$out/to-inside.pcap" \
    --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$out/to-outside.pcap" \
    -- --config "$work/small.yaml" --flow-log "$out/flows.json" --ruleset "$work/a.pb" \
    --evidence-log "$out/ev" --control-socket none --exit-on-idle 500 >"$out/stdout" 2>"$out/stderr"; then
  python3 - "$out" <<PY2 && pass "inline, two workers: RST both ways" || fail "inline, two workers: RSTs"
$frames_py
out = sys.argv[1]
E = ("198.18.2.20", 51005, "192.0.2.201", 80)
def rsts(path, want):
    return [t for t in map(tcp, frames(path)) if t and t["flags"] & 4
            and (t["src"], t["sport"], t["dst"], t["dport"]) == want]
a = rsts(out + "/to-outside.pcap", E)
b = rsts(out + "/to-inside.pcap", (E[2], E[3], E[0], E[1]))
print(f"two workers: {len(a)} RST outside, {len(b)} RST inside")
sys.exit(0 if len(a) == 1 and len(b) == 1 else 1)
PY2
else
  fail "inline, two workers: exit status ($(tail -2 "$out/stderr"))"
fi

# 2. Tap.
out=$work/tap
if ! dp "$out" "$work/in.pcap" --exit-on-idle 500 --mode tap; then
  die "tap run: exit status ($(tail -2 "$out/stderr"))"
fi
n_in=$(python3 "$src/tests/dataplane_app/pcap_frames.py" count "$out/to-inside.pcap")
n_out=$(python3 "$src/tests/dataplane_app/pcap_frames.py" count "$out/to-outside.pcap")
[ "$n_in" = 0 ] && [ "$n_out" = 0 ] || fail "tap: forwarded $n_in inside, $n_out outside"
python3 - "$out/flows.json" <<'EOF' || fail "tap: flow e not marked as an alert"
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
e = [f for f in flows if "192.0.2.201" in (f.get("dest_ip"), f.get("dst_ip"))]
v = e[0].get("verdict", {}) if len(e) == 1 else {}
print("tap flow e verdict:", v)
sys.exit(0 if v.get("action") == "alert" and v.get("entry_id") == "GEN-01" else 1)
EOF
grep -q "rst sent 0 failed 0" "$out/stdout" || fail "tap: RSTs sent"
grep -q "decisions log [0-9]* alert 0 hold 0 block 1 |" "$out/stdout" || fail "tap: decisions line (the level decided)"
verify_bundle "$out" APPLIANCE=2 RULESET_ACTIVATION=1 FLOW=+ || fail "tap: evidence bundle does not verify"
pass "tap: nothing forwarded, block reported as alert"

# 3. Reload while replaying. net_pcap's infinite_rx repeats the capture until stopped;
# without its FIN frames every flow stays open, so each is judged again under the new
# version at its next packet, and the records written at shutdown cite the version in
# force then. Forwarded frames go to /dev/null (gigabytes otherwise).
out=$work/reload
prom_port=$((20000 + $$ % 20000))
run_id=$((run_id + 1))
mkdir -p "$out"
python3 - "$work/in.pcap" "$work/nofin.pcap" <<EOF
$frames_py
d = open(sys.argv[1], "rb").read()
keep, off = [d[:24]], 24
while off + 16 <= len(d):
    caplen = struct.unpack("<I", d[off + 8:off + 12])[0]
    rec = d[off:off + 16 + caplen]
    t = tcp(rec[16:])
    if t is None or not t["flags"] & 1:
        keep.append(rec)
    off += 16 + caplen
open(sys.argv[2], "wb").write(b"".join(keep))
EOF
"$B/xborder-evidence" init --log "$out/ev" --origin "enforce-test.example/reload" >/dev/null
"$B/xborder-dataplane" -l 0-1 --no-huge --no-pci --file-prefix "xbt-enf-$$-$run_id" \
  --log-level 'lib.eal:warning' \
  --vdev "net_pcap0,rx_pcap=$work/nofin.pcap,tx_pcap=/dev/null,infinite_rx=1" \
  --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=/dev/null" \
  -- --config "$work/small.yaml" --flow-log "$out/flows.json" --ruleset "$work/a.pb" \
  --evidence-log "$out/ev" --control-socket "$out/ctl.sock" --duration 60 \
  --prometheus "$prom_port" >"$out/stdout" 2>"$out/stderr" &
pid=$!
pids+=("$pid")
ctl() { "$B/xborder-dataplane-ctl" --socket "$out/ctl.sock" "$@"; }
for _ in $(seq 1 300); do [ -S "$out/ctl.sock" ] && break; sleep 0.1; done
st=$(ctl status) || die "reload: no status ($(tail -2 "$out/stderr"))"
case "$st" in "OK version $hash_a swaps 0 failed 0") ;; *) fail "reload: status '$st'" ;; esac
sleep 0.5
r=$(ctl reload "$work/b.pb") || fail "reload b: exit status"
case "$r" in "OK version $hash_b switch_ms "*" workers 1") pass "reload: $r" ;; *) fail "reload b: '$r'" ;; esac
set +e
r=$(ctl reload "$work/bad.pb"); rc=$?
set -e
[ "$rc" = 1 ] || fail "reload bad: exit $rc"
case "$r" in "ERROR $work/bad.pb: "*) pass "reload bad refused: $r" ;; *) fail "reload bad: '$r'" ;; esac
st=$(ctl status)
case "$st" in "OK version $hash_b swaps 1 failed 1") ;; *) fail "after bad reload: '$st'" ;; esac
kill -HUP "$pid"   # the configured file: back to a
for _ in $(seq 1 100); do
  st=$(ctl status)
  case "$st" in "OK version $hash_a swaps 2 "*) break ;; esac
  sleep 0.1
done
case "$st" in "OK version $hash_a swaps 2 failed 1") pass "SIGHUP reloads the configured ruleset" ;;
  *) fail "after SIGHUP: '$st'" ;; esac
r=$(ctl reload "$work/b.pb") || fail "reload b again: exit status"
sleep 0.5
metrics=$(curl -s "http://127.0.0.1:$prom_port/metrics" || true)
for m in "xborder_ruleset_swaps_total 3" "xborder_ruleset_load_failures_total 1" \
         "xborder_ruleset_info{version=\"$hash_b\"" 'xborder_rst_sent_total{worker="0",lcore="1"} 2' \
         "xborder_evidence_writer_healthy 1"; do
  grep -qF "$m" <<<"$metrics" || fail "prometheus lacks '$m'"
done
kill -TERM "$pid"
wait "$pid" || fail "reload run: exit status ($(tail -2 "$out/stderr"))"
grep -q "ruleset $hash_b .* active on 1 worker(s) [0-9.]* ms after publication (control-socket" "$out/stderr" \
  || fail "reload: no switch-time log line"
# No packet lost to the swaps: every drop is a verdict drop (the blocked flow).
grep -q "drops: verdict [0-9]* tx-full 0 handoff-ring-full 0 tx-handoff-ring-full 0" "$out/stdout" \
  || fail "reload: drops other than verdicts: $(grep 'worker 0' "$out/stdout")"
grep -q "swaps 3 failed-loads 1" "$out/stdout" || fail "reload: console swap counters"
# Every flow record written after the last swap cites version b, and the block held.
python3 - "$out/flows.json" "$hash_b" <<'EOF' || fail "reload: flow log versions"
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1])]
judged = [f for f in flows if "verdict" in f]
cites = {f["verdict"].get("ruleset") for f in judged}
blocks = sum(1 for f in judged if f["verdict"]["action"] == "block")
print(f"{len(flows)} flows, {blocks} blocked, versions cited: {cites}")
sys.exit(0 if len(judged) == 5 and cites == {sys.argv[2]} and blocks == 1 else 1)
EOF
# Start + three swaps; start + stop.
verify_bundle "$out" APPLIANCE=2 RULESET_ACTIVATION=4 || fail "reload: evidence bundle does not verify"

# 4. Refusals at start-up: one line, non-zero exit.
set +e
"$B/xborder-dataplane" -l 0-1 --no-huge --no-pci --file-prefix "xbt-enf-$$-refuse" \
  --vdev "net_pcap0,rx_pcap=$work/empty.pcap,tx_pcap=$work/x0.pcap" \
  --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$work/x1.pcap" \
  -- --ruleset "$work/a.pb" --evidence-log "$work/no-such-log" --control-socket none \
  >/dev/null 2>"$work/refuse.err"
rc=$?
set -e
[ "$rc" != 0 ] && grep -q "xborder-evidence init --log $work/no-such-log" "$work/refuse.err" \
  && pass "refuses a missing evidence log" || fail "missing evidence log: rc $rc $(tail -1 "$work/refuse.err")"

if [ "$fails" -ne 0 ]; then
  echo "enforce pcap test: $fails failure(s) (work dir $work kept with KEEP=1)"
  exit 1
fi
echo "enforce pcap test: ok"
