#!/usr/bin/env bash
# xborder-replay's command line: --help, one-line errors with exit 1, and a replay
# of a corpus capture that writes a flow log (when ../shared is there).
set -uo pipefail
bin=${XB_BUILD_DIR:?}/bin/xborder-replay
fail() { echo "FAIL: $*"; exit 1; }

"$bin" --help | grep -q -- "--flow-log" || fail "--help does not list --flow-log"
err=$("$bin" --bogus 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] || fail "unknown option: exit $rc, want 1"
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "unknown option: more than one line: $err"
case "$err" in xborder-replay:*) ;; *) fail "error line lacks the program name: $err" ;; esac
"$bin" /nonexistent.pcap >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing capture must exit 1"
"$bin" >/dev/null 2>&1; [ $? -eq 1 ] || fail "no capture must exit 1"
"$bin" --loop 0 x.pcap >/dev/null 2>&1; [ $? -eq 1 ] || fail "--loop 0 must exit 1"

shared=${XB_SHARED_DIR:-${XB_SOURCE_DIR:?}/../shared}
if [ -d "$shared" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  "$bin" --quiet --capacity 1024 --flow-log "$tmp/f.jsonl" "$shared/corpus/pcap/ndpi-dns.pcap" \
    || fail "replay failed"
  [ -s "$tmp/f.jsonl" ] || fail "empty flow log"
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/f.jsonl" \
    || fail "flow log is not JSON lines"
  grep -q '"protocol":"DNS' "$tmp/f.jsonl" || fail "no DNS flow in ndpi-dns.pcap"
  # --loop replays every pass as new flows.
  one=$("$bin" --quiet --capacity 1024 --flow-log - "$shared/corpus/pcap/ndpi-dns.pcap" | wc -l)
  three=$("$bin" --quiet --capacity 1024 --loop 3 --flow-log - "$shared/corpus/pcap/ndpi-dns.pcap" | wc -l)
  [ "$three" -eq $((3 * one)) ] || fail "--loop 3 gave $three records, want $((3 * one))"
else
  echo "../shared is absent: corpus part skipped"
fi
echo "PASS"
