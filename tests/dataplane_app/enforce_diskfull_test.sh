#!/usr/bin/env bash
# Integration (issues 4 and 5): the evidence disk fills up under xborder-dataplane, and
# frees up again. The evidence log lives on a small tmpfs (made with 16 KiB segments so a
# few dozen records fill one); a filler file takes the rest, so the log stops intake when
# it needs its next segment. Traffic is paced through a FIFO (net_pcap rx_pcap) by
# diskfull_drive.py, which steps on the app's Prometheus counters:
#   fill  -> the writer turns unhealthy (intake stopped);
#   full  -> decisions made meanwhile (fail-open: forwarded, records lost and counted;
#            fail-closed: flows whose verdict needs a record are blocked);
#   free  -> the filler is deleted; the app reopens the log by itself;
#   after -> decisions are recorded again.
# Both fail policies run, a third run stops the app right after space is back, and a
# fourth exits while the disk is still full (its losses go to the loss ledger; the next
# start records them). Asserted: clean exit (no crash, no hang), the stop and the
# reopen logged, xborder_evidence_log_reopens_total >= 1, the exported bundle verifies,
# its disk-full GAP records count exactly the records lost and span the full phase,
# records after the reopen exist, events = written + lost (console), what crossed the
# gateway in each phase, and fail-closed blocks (counter, flow log, no payload out).
set -euo pipefail

src=${XB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
B=$build/bin
here=$src/tests/dataplane_app
e2e=$src/tests/e2e_enforce
for b in xborder-dataplane xborder-rulec xborder-evidence xborder-verify; do
  [ -x "$B/$b" ] || { echo "FAIL: $B/$b not built"; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root to mount a tmpfs"
  exit 77
fi

work=$(mktemp -d /tmp/xb-diskfull.XXXXXX)
pids=()
mounts=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
  rm -rf /var/run/dpdk/xbt-dfull-$$-* 2>/dev/null || true
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
die() { echo "FAIL: $*"; exit 1; }

python3 "$e2e/make_test_list.py" "$src/rules/examples/sample-negative-list.yaml" "$work/list" >/dev/null \
  || die "make_test_list.py"
"$B/xborder-rulec" "$work/list/e2e-list.yaml" -o "$work/list.pb" >/dev/null || die "rulec test list"
python3 "$e2e/e2e_tool.py" pcap-header "$work/empty.pcap"

# prepare_disk NAME: a 1 MiB tmpfs in $work/NAME/disk with an evidence log, then full.
prepare_disk() {
  local name=$1 out=$work/$1
  local disk=$out/disk
  mkdir -p "$disk"
  mount -t tmpfs -o size=1m,mode=0700 "xb-diskfull-$$" "$disk" || die "$name: mount tmpfs"
  mounts+=("$disk")
  "$B/xborder-evidence" init --log "$disk/ev" --origin "diskfull-test.example/$name" \
    --segment-bytes 16384 >/dev/null || die "$name: evidence init"
  # The app creates this key at its first start: make it now, while there is room.
  head -c 32 /dev/urandom >"$disk/ev/keys/hmac.key"
  chmod 600 "$disk/ev/keys/hmac.key"
  # So is the loss ledger (zero-filled, its full size allocated).
  head -c 4096 /dev/zero >"$disk/ev/dataplane-losses.ledger"
}

fill_disk() {
  local name=$1 disk=$work/$1/disk
  # Fill what is left (dd stops at ENOSPC).
  dd if=/dev/zero of="$disk/filler" bs=4096 2>/dev/null || true
  [ "$(stat -f -c %a "$disk")" = 0 ] || die "$name: tmpfs not full after the filler"
}

# start_app NAME POLICY RX TAG: xborder-dataplane on $work/NAME/disk/ev reading RX, in
# the background (pid in $app_pid, Prometheus port in $app_prom, output in NAME/TAG.*).
start_app() {
  local name=$1 policy=$2 rx=$3 tag=$4 out=$work/$1
  # burst_size 1: a larger rx burst would wait on the FIFO until it is full.
  printf 'flows:\n  capacity: 65536\nworkers:\n  burst_size: 1\ncounters:\n  merge_interval_ms: 100\nevidence:\n  fail_policy: %s\n' \
    "$policy" >"$out/config.yaml"
  app_prom=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$B/xborder-dataplane" -l 0-1 --no-huge --no-pci --file-prefix "xbt-dfull-$$-$name-$tag" \
    --log-level 'lib.eal:warning' \
    --vdev "net_pcap0,rx_pcap=$rx,tx_pcap=$out/$tag.to-inside.pcap" \
    --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$out/$tag.to-outside.pcap" \
    -- --config "$out/config.yaml" --flow-log "$out/$tag.flows.json" --ruleset "$work/list.pb" \
    --evidence-log "$out/disk/ev" --control-socket none --prometheus "$app_prom" --duration 150 \
    >"$out/$tag.stdout" 2>"$out/$tag.stderr" &
  app_pid=$!
  pids+=("$app_pid")
}

# stop_app NAME PID: SIGTERM, then the exit must come within 30 s with status 0.
stop_app() {
  local name=$1 pid=$2 rc=0
  kill -TERM "$pid" 2>/dev/null || true  # gone already: the exit status below tells
  # Bounded: a hang at stop is a failure, not a stuck test.
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    die "$name: the dataplane did not stop within 30 s of SIGTERM"
  fi
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || die "$name: dataplane exit status $rc"
}

# export_bundle NAME: checkpoint, export, trust, verify (exit 0), records as JSON lines.
export_bundle() {
  local name=$1 out=$work/$1
  local disk=$out/disk
  "$B/xborder-evidence" checkpoint --log "$disk/ev" --tsa-url none >/dev/null || fail "$name: checkpoint"
  "$B/xborder-evidence" export --log "$disk/ev" --out "$out/bundle.tar" --quiet >/dev/null || fail "$name: export"
  "$B/xborder-evidence" trust --log "$disk/ev" --out "$out/trust.json" || fail "$name: trust"
  if "$B/xborder-verify" "$out/bundle.tar" --trust "$out/trust.json" >"$out/verify.txt" 2>&1; then
    pass "$name: bundle verifies"
  else
    fail "$name: xborder-verify: $(tail -2 "$out/verify.txt")"
  fi
  python3 "$e2e/e2e_tool.py" evidence "$out/bundle.tar" >"$out/records.jsonl" || fail "$name: bundle records"
}

# run NAME POLICY [driver options]: one full-disk sequence with evidence.fail_policy
# POLICY in $work/NAME.
run() {
  local name=$1 policy=$2 out=$work/$1
  shift 2
  local disk=$out/disk
  prepare_disk "$name"
  fill_disk "$name"
  mkfifo "$out/rx.fifo"
  start_app "$name" "$policy" "$out/rx.fifo" app
  local pid=$app_pid prom=$app_prom
  # The checks read these names.
  ln -s app.stdout "$out/stdout"; ln -s app.stderr "$out/stderr"; ln -s app.flows.json "$out/flows.json"
  ln -s app.to-outside.pcap "$out/to-outside.pcap"
  if ! timeout 120 python3 "$here/diskfull_drive.py" "$out/rx.fifo" "$prom" "$disk/filler" "$out/drive.json" \
      --phase-flows 8 --gap-ms 10 --timeout 40 "$@" 2>"$out/drive.err"; then
    cat "$out/drive.err"
    tail -5 "$out/stderr"
    die "$name: traffic driver"
  fi
  stop_app "$name" "$pid"

  grep -q "xborder evidence: intake stopped in $disk/ev" "$out/stderr" || fail "$name: the store's stop not logged"
  grep -q "xborder-dataplane: evidence writer stopped (.*): fail-$policy: .*retrying every 5 s" "$out/stderr" \
    || fail "$name: the dataplane's stop line not logged"
  grep -q "xborder-dataplane: evidence log $disk/ev reopened after intake stopped" "$out/stderr" \
    || fail "$name: the reopen not logged"
  if grep -q "still refused records at exit" "$out/stderr"; then fail "$name: losses left unrecorded at exit"; fi

  # The exported bundle (written off the tmpfs) verifies.
  export_bundle "$name"

  python3 "$here/diskfull_check.py" "$policy" "$out" || fail "$name: checks (see above)"
}

run open open
run closed closed
# Space comes back and the app is stopped at once (an operator who cleans up, then
# restarts the service): the log is reopened at stop, so the loss is still recorded.
run stop open --stop-after-free 1
if grep -q "stopping (SIGTERM).*" "$work/stop/stderr" &&
   sed -n '/stopping (SIGTERM)/,$p' "$work/stop/stderr" | grep -q "reopened after intake stopped"; then
  echo "info: stop: the log was reopened at stop"
else
  echo "info: stop: the log was reopened by the 5 s retry before the stop"
fi

# The app exits while the disk is still full: the losses go to the loss ledger, and the
# next start (space back) writes them as GAP records and clears the ledger.
exit_full() {
  local name=exitfull out=$work/exitfull
  local disk=$out/disk
  prepare_disk "$name"
  fill_disk "$name"
  mkfifo "$out/rx.fifo"
  start_app "$name" open "$out/rx.fifo" first
  if ! timeout 120 python3 "$here/diskfull_drive.py" "$out/rx.fifo" "$app_prom" "$disk/filler" "$out/drive.json" \
      --phase-flows 8 --gap-ms 10 --timeout 40 --stop-while-full 1 2>"$out/drive.err"; then
    cat "$out/drive.err"
    die "$name: traffic driver"
  fi
  stop_app "$name" "$app_pid"
  local line
  line=$(grep "still refused records at exit" "$out/first.stderr" || true)
  echo "info: $name: ${line#xborder-dataplane: }"
  [[ "$line" == *"GAP record(s) kept in the loss ledger $disk/ev/dataplane-losses.ledger"* ]] \
    || fail "$name: the exit did not keep its losses in the loss ledger"
  # Space back; a short second run with no traffic.
  rm -f "$disk/filler"
  start_app "$name" open "$work/empty.pcap" second
  # Up once it says its ruleset is active (the ledger is read before that line).
  for _ in $(seq 1 600); do
    grep -q "ruleset .* active" "$out/second.stderr" 2>/dev/null && break
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  stop_app "$name" "$app_pid"
  grep -q "GAP record(s) of a previous run's losses from $disk/ev/dataplane-losses.ledger: written" \
    "$out/second.stderr" || fail "$name: the second start did not write the ledger's GAP records"
  python3 -c 'import sys; sys.exit(open(sys.argv[1], "rb").read() != bytes(4096))' "$disk/ev/dataplane-losses.ledger" \
    || fail "$name: the loss ledger is not cleared after its records were written"
  export_bundle "$name"
  python3 - "$out" <<'PY' || fail "$name: the previous run's losses in the bundle"
import json, os, re, sys
out = sys.argv[1]
first = open(os.path.join(out, "first.stdout")).read()
lost_disk = int(re.findall(r"lost-disk (\d+)", first)[-1])
err = open(os.path.join(out, "first.stderr")).read()
m = re.search(r"(\d+) decision event\(s\) and (\d+) control record\(s\) lost", err)
events, control = int(m.group(1)), int(m.group(2))
recs = [json.loads(l) for l in open(os.path.join(out, "records.jsonl"))]
prev = [r["gap"] for r in recs if r.get("type") == "GAP" and r["gap"].get("source", "").startswith("previous run")]
ev = sum(g.get("lost_count", 0) for g in prev if "control records" not in g["source"])
ctl = sum(g.get("lost_count", 0) for g in prev if "control records" in g["source"])
print(f"info: exitfull: first run lost {lost_disk} events at the disk ({events} + {control} control per its exit line); "
      f"the next start wrote {len(prev)} GAP record(s) covering {ev} events and {ctl} control records")
ok = prev and lost_disk > 0 and ev == lost_disk == events and ctl == control and control >= 1
# No other disk-full GAP: the first run never took records again.
ok = ok and not [r for r in recs if r.get("type") == "GAP" and r["gap"].get("source", "").startswith("disk-full")]
sys.exit(0 if ok else 1)
PY
}
exit_full

if [ "$fails" -ne 0 ]; then
  echo "enforce diskfull test: $fails failure(s) (work dir $work kept with KEEP=1)"
  exit 1
fi
echo "enforce diskfull test: ok"
