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
# Both fail policies run, and a third run stops the app right after space is back. Asserted: clean exit (no crash, no hang), the stop and the
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

# run NAME POLICY [driver options]: one full-disk sequence with evidence.fail_policy
# POLICY in $work/NAME.
run() {
  local name=$1 policy=$2 out=$work/$1
  shift 2
  local disk=$out/disk
  mkdir -p "$disk"
  mount -t tmpfs -o size=1m,mode=0700 "xb-diskfull-$$" "$disk" || die "$name: mount tmpfs"
  mounts+=("$disk")
  "$B/xborder-evidence" init --log "$disk/ev" --origin "diskfull-test.example/$name" \
    --segment-bytes 16384 >/dev/null || die "$name: evidence init"
  # The app creates this key at its first start: make it now, while there is room.
  head -c 32 /dev/urandom >"$disk/ev/keys/hmac.key"
  chmod 600 "$disk/ev/keys/hmac.key"
  # Fill what is left (dd stops at ENOSPC).
  dd if=/dev/zero of="$disk/filler" bs=4096 2>/dev/null || true
  [ "$(stat -f -c %a "$disk")" = 0 ] || die "$name: tmpfs not full after the filler"
  # burst_size 1: a larger rx burst would wait on the FIFO until it is full.
  printf 'flows:\n  capacity: 65536\nworkers:\n  burst_size: 1\ncounters:\n  merge_interval_ms: 100\nevidence:\n  fail_policy: %s\n' \
    "$policy" >"$out/config.yaml"
  mkfifo "$out/rx.fifo"
  local prom
  prom=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$B/xborder-dataplane" -l 0-1 --no-huge --no-pci --file-prefix "xbt-dfull-$$-$name" \
    --log-level 'lib.eal:warning' \
    --vdev "net_pcap0,rx_pcap=$out/rx.fifo,tx_pcap=$out/to-inside.pcap" \
    --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=$out/to-outside.pcap" \
    -- --config "$out/config.yaml" --flow-log "$out/flows.json" --ruleset "$work/list.pb" \
    --evidence-log "$disk/ev" --control-socket none --prometheus "$prom" --duration 150 \
    >"$out/stdout" 2>"$out/stderr" &
  local pid=$!
  pids+=("$pid")
  if ! timeout 120 python3 "$here/diskfull_drive.py" "$out/rx.fifo" "$prom" "$disk/filler" "$out/drive.json" \
      --phase-flows 8 --gap-ms 10 --timeout 40 "$@" 2>"$out/drive.err"; then
    cat "$out/drive.err"
    tail -5 "$out/stderr"
    die "$name: traffic driver"
  fi
  kill -TERM "$pid" 2>/dev/null || true  # gone already: the exit status below tells
  local rc=0
  # Bounded: a hang at stop is a failure, not a stuck test.
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    die "$name: the dataplane did not stop within 30 s of SIGTERM"
  fi
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || die "$name: dataplane exit status $rc ($(tail -2 "$out/stderr"))"

  grep -q "xborder evidence: intake stopped in $disk/ev" "$out/stderr" || fail "$name: the store's stop not logged"
  grep -q "xborder-dataplane: evidence writer stopped (.*): fail-$policy: .*retrying every 5 s" "$out/stderr" \
    || fail "$name: the dataplane's stop line not logged"
  grep -q "xborder-dataplane: evidence log $disk/ev reopened after intake stopped" "$out/stderr" \
    || fail "$name: the reopen not logged"
  if grep -q "still refused records at exit" "$out/stderr"; then fail "$name: losses left unrecorded at exit"; fi

  # The exported bundle (written off the tmpfs) verifies.
  "$B/xborder-evidence" checkpoint --log "$disk/ev" --tsa-url none >/dev/null || fail "$name: checkpoint"
  "$B/xborder-evidence" export --log "$disk/ev" --out "$out/bundle.tar" --quiet >/dev/null || fail "$name: export"
  "$B/xborder-evidence" trust --log "$disk/ev" --out "$out/trust.json" || fail "$name: trust"
  if "$B/xborder-verify" "$out/bundle.tar" --trust "$out/trust.json" >"$out/verify.txt" 2>&1; then
    pass "$name: bundle verifies"
  else
    fail "$name: xborder-verify: $(tail -2 "$out/verify.txt")"
  fi
  python3 "$e2e/e2e_tool.py" evidence "$out/bundle.tar" >"$out/records.jsonl" || fail "$name: bundle records"

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

if [ "$fails" -ne 0 ]; then
  echo "enforce diskfull test: $fails failure(s) (work dir $work kept with KEEP=1)"
  exit 1
fi
echo "enforce diskfull test: ok"
