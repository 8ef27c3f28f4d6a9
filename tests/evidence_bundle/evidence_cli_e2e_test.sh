#!/usr/bin/env bash
# End to end through the two binaries: init -> append JSON lines -> checkpoint with a
# local openssl-ts TSA -> export -> verify (+ report) -> tamper -> verify fails; an
# incremental export verified against the regulator's last-seen checkpoint; an SM3
# log with SM2 signatures; usage errors and --help.
set -euo pipefail
B=${XB_BUILD_DIR:?}/bin
S=${XB_SOURCE_DIR:?}
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $* (in $T)" >&2; exit 1; }
expect_rc() {  # want cmd...
  local want=$1; shift
  set +e; "$@" > out.txt 2> err.txt; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, want $want"; }
}

bash "$S/tests/evidence_crypto/make_test_tsa.sh" "$T/tsa" > /dev/null
TSA="openssl ts -reply -queryfile \"\$XB_TSQ\" -config $T/tsa/tsa.cnf -out \"\$XB_TSR\" 2>/dev/null"

BASE=$(( $(date +%s) - 1000 ))
records() {  # first count [no-time]
  for i in $(seq "$1" $(($1 + $2 - 1))); do
    case $((i % 4)) in
      0) c=SG ;; 1) c=DE ;; 2) c=US ;; *) c=JP ;;
    esac
    d=allow-filing; [ $((i % 5)) = 0 ] && d=block
    t=acme; [ $((i % 2)) = 0 ] && t=globex
    tm=",\"observedUnixNanos\":\"$((BASE + i))000000000\""; [ -n "${3:-}" ] && tm=""
    echo "{\"type\":\"FLOW\",\"tenant\":\"$t\"$tm,\"flow\":{\"dstCountry\":\"$c\",\"dataCategory\":\"PI-HEALTH\",\"policyDecision\":\"$d\",\"ruleId\":\"R-$i\"}}"
  done
}

# --- SHA-256 log with Ed25519 + SM2 signatures and RFC 3161 anchors
$B/xborder-evidence init --log log --origin evidence.example/appliance-01 --sign ed25519+sm2 > init.txt
grep -q '^vkey evidence.example/appliance-01+' init.txt || fail "init printed no vkey"
[ "$(stat -c %a log/keys/log-ed25519.pem)" = 600 ] || fail "key file is not 0600"
records 0 30 | $B/xborder-evidence append --log log > idx.txt
[ "$(head -1 idx.txt)" = 0 ] && [ "$(tail -1 idx.txt)" = 29 ] || fail "append did not ack 0..29"
$B/xborder-evidence checkpoint --log log --tsa-reply-cmd "$TSA" --tsa-roots tsa/ca.crt > cp1.txt
grep -q '^checkpoint 30 ' cp1.txt || fail "checkpoint 30 missing: $(cat cp1.txt)"
grep -q '^timestamp ' cp1.txt || fail "no timestamp"
[ -s log/anchors/30.tsr ] || fail "token not kept"
cp log/checkpoint since30.note
records 30 10 now | $B/xborder-evidence append --log log > /dev/null   # anchor took index 30
$B/xborder-evidence checkpoint --log log --tsa-reply-cmd "$TSA" > cp2.txt
grep -q '^checkpoint 41 ' cp2.txt || fail "checkpoint 41 missing: $(cat cp2.txt)"
$B/xborder-evidence trust --log log --tsa-roots tsa/ca.crt > trust.json
grep -q '"require_tsa": true' trust.json || fail "trust policy"

$B/xborder-evidence export --log log --out full.tar --created-at 2026-11-23T01:00:00Z > exp.txt
grep -q '^range 0 41$' exp.txt || fail "export range: $(cat exp.txt)"
expect_rc 0 $B/xborder-verify full.tar --trust trust.json --report report
grep -q VERIFIED out.txt || fail "no VERIFIED line"
for f in report/report.zh.html report/report.en.html; do [ -s $f ] || fail "$f missing"; done
grep -q '核验通过' report/report.zh.html || fail "zh verdict"
# 41 records: 40 FLOW + 1 ANCHOR; per-country counts (10 each) and decisions (8 block).
grep -q '<td>dst_country</td><td>SG</td><td>10</td>' report/report.en.html || fail "country count"
grep -q '<td>policy_decision</td><td>block</td><td>8</td>' report/report.en.html || fail "decision count"
grep -q '<td>tenant</td><td>acme</td><td>20</td>' report/report.en.html || fail "tenant count"
grep -q '<td>type</td><td>ANCHOR</td><td>1</td>' report/report.en.html || fail "anchor count"
grep -q 'Test TSA' report/report.en.html || fail "TSA name in checkpoint table"
expect_rc 0 $B/xborder-verify full.tar --trust trust.json --json
grep -q '"exit_code": 0' out.txt || fail "json exit code"
grep -q '"detail": "1 ANCHOR record(s) embed valid RFC 3161 tokens"' out.txt || fail "anchor records not checked"
expect_rc 0 $B/xborder-verify full.tar --trust trust.json --since since30.note

# The export is logged (chain of custody) as record 42 (41 is the second anchor).
$B/xborder-evidence checkpoint --log log --tsa-reply-cmd "$TSA" > /dev/null
$B/xborder-evidence export --log log --out inc.tar --from 30 --since-checkpoint since30.note > inc.txt
grep -q '^range 30 43$' inc.txt || fail "incremental range: $(cat inc.txt)"
expect_rc 0 $B/xborder-verify inc.tar --trust trust.json --since since30.note --json
grep -q '"type": "EXPORT"' out.txt || grep -q '"key": "EXPORT"' out.txt || fail "EXPORT record not counted"

# Time-range export: records observed in [t+5, t+9).
$B/xborder-evidence export --log log --out time.tar --since $((BASE + 5)) --until $((BASE + 9)) > time.txt
grep -q '^range 5 30$' time.txt || fail "time range: $(cat time.txt)"
expect_rc 0 $B/xborder-verify time.tar --trust trust.json

# Tamper: flip one byte inside the records file of the tar -> exit 1, names the file.
python3 - <<'PY'
import tarfile
data = bytearray(open("full.tar", "rb").read())
with tarfile.open("full.tar") as t:
    m = [m for m in t.getmembers() if m.name.endswith(".frames")][0]
    data[m.offset_data + 40] ^= 1
open("bad.tar", "wb").write(bytes(data))
PY
expect_rc 1 $B/xborder-verify bad.tar --trust trust.json
grep -q 'records/0-41.frames' out.txt || fail "tamper location: $(cat out.txt)"
# Wrong trust (another log's keys) -> 1; trust without the TSA root -> token unverifiable/fails.
$B/xborder-evidence init --log other --origin evidence.example/appliance-01 > /dev/null
$B/xborder-evidence trust --log other > other-trust.json
expect_rc 1 $B/xborder-verify full.tar --trust other-trust.json
grep -q 'MANIFEST.sig' out.txt || fail "wrong-key location"

# --- SM3 log
$B/xborder-evidence init --log sm3log --origin evidence.example/appliance-02 --hash sm3 --sign ed25519+sm2 > /dev/null
records 0 12 | $B/xborder-evidence append --log sm3log > /dev/null
$B/xborder-evidence checkpoint --log sm3log > /dev/null
$B/xborder-evidence trust --log sm3log > sm3trust.json
grep -q '"hash": "sm3"' sm3trust.json || fail "sm3 trust"
$B/xborder-evidence export --log sm3log --out sm3.tar > /dev/null
expect_rc 0 $B/xborder-verify sm3.tar --trust sm3trust.json
expect_rc 1 $B/xborder-verify sm3.tar --trust trust.json   # other origin and hash

# --- usage
expect_rc 3 $B/xborder-verify full.tar
expect_rc 3 $B/xborder-verify missing.tar --trust trust.json
expect_rc 3 $B/xborder-verify full.tar --trust trust.json --bogus
expect_rc 0 $B/xborder-verify --help
for c in init append checkpoint export trust; do expect_rc 0 $B/xborder-evidence $c --help; done
expect_rc 0 $B/xborder-evidence --help
expect_rc 2 $B/xborder-evidence frobnicate
expect_rc 2 $B/xborder-evidence export --log log
expect_rc 2 $B/xborder-evidence checkpoint --log log --tsa-url http://tsa.example
echo "evidence CLI e2e: ok"
