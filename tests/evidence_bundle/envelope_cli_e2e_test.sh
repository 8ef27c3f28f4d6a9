#!/usr/bin/env bash
# Sealed snippets through the two binaries: init --regulator-key (X25519 and, on an SM3
# log, SM2) -> append with "sealed_snippets" -> checkpoint -> export -> verify with and
# without the regulator key, with a wrong key, and the append refusals.
set -euo pipefail
B=${XB_BUILD_DIR:?}/bin
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $* (in $T)" >&2; exit 1; }
expect_rc() {  # want cmd...
  local want=$1; shift
  set +e; "$@" > out.txt 2> err.txt < "${STDIN:-/dev/null}"; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, want $want"; }
}
lines() {
  echo '{"type":"FLOW","tenant":"acme","flow":{"dstCountry":"SG","policyDecision":"block"},"sealed_snippets":[{"field":"payload","data_b64":"R0VUIC9leHBvcnQ="},{"field":"hdr","data_b64":"SG9zdDogeA=="}]}'
  echo '{"type":"FLOW","tenant":"acme","flow":{"dstCountry":"US","policyDecision":"log"}}'
  echo '{"sealed_snippets":[{"field":"payload","data_b64":"eA=="}],"type":"FLOW","flow":{"dstCountry":"JP"}}'
}

run_profile() {  # name keytype init-args...
  local name=$1 kt=$2; shift 2
  mkdir "$name"; cd "$name"
  openssl genpkey -algorithm "$kt" -out reg.pem 2>/dev/null; chmod 600 reg.pem
  openssl pkey -in reg.pem -pubout -out reg.pub.pem
  openssl genpkey -algorithm "$kt" -out other.pem 2>/dev/null; chmod 600 other.pem
  $B/xborder-evidence init --log log --origin evidence.example/env --regulator-key reg.pub.pem "$@" > /dev/null
  lines | $B/xborder-evidence append --log log > idx.txt
  [ "$(tr '\n' ' ' < idx.txt)" = "0 1 2 " ] || fail "$name: append acks"
  [ "$(ls log/envelopes | tr '\n' ' ')" = "0-hdr.env 0-payload.env 2-payload.env " ] || fail "$name: envelope files"
  $B/xborder-evidence checkpoint --log log --tsa-url none > /dev/null
  $B/xborder-evidence export --log log --out b.tar --from 0 --to 3 > /dev/null
  $B/xborder-evidence trust --log log --out trust.json
  [ "$(tar tf b.tar | grep -c '/envelopes/')" = 3 ] || fail "$name: bundle lacks envelopes"
  expect_rc 0 $B/xborder-verify b.tar --trust trust.json
  grep -q VERIFIED out.txt || fail "$name: not verified"
  expect_rc 0 $B/xborder-verify b.tar --trust trust.json --regulator-key reg.pem --json
  grep -q '3 envelope(s) opened' out.txt || fail "$name: envelopes not opened"
  expect_rc 1 $B/xborder-verify b.tar --trust trust.json --regulator-key other.pem
  grep -q 'does not open with the given regulator key' out.txt || fail "$name: wrong key not explained"
  cd ..
}

run_profile hpke X25519
run_profile gm SM2 --hash sm3 --sign ed25519+sm2

# Refusals: an SM2 key on a SHA-256/Ed25519 log, snippets without a regulator key,
# a bad field name, a group-readable regulator private key.
openssl genpkey -algorithm SM2 -out sm2.pem 2>/dev/null; openssl pkey -in sm2.pem -pubout -out sm2.pub.pem
expect_rc 2 $B/xborder-evidence init --log bad --regulator-key sm2.pub.pem
grep -q 'GM profile' err.txt || fail "SM2 key on a SHA-256 log accepted"
$B/xborder-evidence init --log nokey --origin evidence.example/nokey > /dev/null
lines > in.jsonl
STDIN=in.jsonl expect_rc 1 $B/xborder-evidence append --log nokey
grep -q 'line 1: sealed_snippets but no regulator key' err.txt || fail "snippets without a key accepted"
echo '{"type":"FLOW","flow":{},"sealed_snippets":[{"field":"../x","data_b64":"eA=="}]}' > bad.jsonl
STDIN=bad.jsonl expect_rc 1 $B/xborder-evidence append --log hpke/log
grep -q 'must match' err.txt || fail "bad field accepted"
[ ! -e hpke/log/envelopes/3-..x.env ] || fail "bad field wrote a file"
chmod 640 hpke/reg.pem
expect_rc 3 $B/xborder-verify hpke/b.tar --trust hpke/trust.json --regulator-key hpke/reg.pem
$B/xborder-verify --help | grep -q -- --regulator-key || fail "verify --help lacks --regulator-key"
echo PASS
