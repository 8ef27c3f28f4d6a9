#!/usr/bin/env bash
# xborder-evidence export as a stream: the printed sha256 is the file's, the same log
# gives the same bytes, and a failed export leaves neither BUNDLE.tmp nor a changed
# BUNDLE behind.
set -euo pipefail
B=${XB_BUILD_DIR:?}/bin
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $* (in $T)" >&2; exit 1; }
expect_rc() {  # want cmd...
  local want=$1; shift
  set +e; "$@" > out.txt 2> err.txt; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, want $want"; }
}

$B/xborder-evidence init --log log --origin evidence.example/appliance-01 > /dev/null
for i in $(seq 0 39); do
  d=allow-filing; [ $((i % 6)) = 0 ] && d=block
  echo "{\"type\":\"FLOW\",\"tenant\":\"acme\",\"flow\":{\"dstCountry\":\"SG\",\"policyDecision\":\"$d\",\"ruleId\":\"R-$i\"}}"
done | $B/xborder-evidence append --log log > /dev/null
$B/xborder-evidence checkpoint --log log > /dev/null
$B/xborder-evidence trust --log log > trust.json
cp -a log copy

# Streamed: no progress for a short export with --quiet, nothing left in .tmp.
expect_rc 0 $B/xborder-evidence export --log log --out a.tar --created-at 2026-11-23T01:00:00Z --quiet
[ ! -s err.txt ] || fail "stderr not empty: $(cat err.txt)"
[ ! -e a.tar.tmp ] || fail "a.tar.tmp left behind"
grep -q '^range 0 40$' out.txt || fail "range: $(cat out.txt)"
[ "$(sed -n 's/^sha256 //p' out.txt)" = "$(sha256sum a.tar | cut -d' ' -f1)" ] || fail "printed sha256 is not the file's"
[ "$(cat log/exports/last.sha256)" = "$(sha256sum a.tar | cut -d' ' -f1)" ] || fail "exports/last.sha256"
expect_rc 0 $B/xborder-verify a.tar --trust trust.json
grep -q VERIFIED out.txt || fail "streamed bundle does not verify"

# The same log state and --created-at give the same bytes.
expect_rc 0 $B/xborder-evidence export --log copy --out b.tar --created-at 2026-11-23T01:00:00Z
cmp -s a.tar b.tar || fail "two exports of the same log differ"

# A failed export keeps the previous bundle and removes its .tmp.
before=$(sha256sum a.tar)
expect_rc 1 $B/xborder-evidence export --log log --out a.tar --from 0 --to 999
[ "$(wc -l < err.txt)" = 1 ] || fail "error is not one line: $(cat err.txt)"
grep -q 'not covered by a checkpoint' err.txt || fail "reason: $(cat err.txt)"
[ "$(sha256sum a.tar)" = "$before" ] || fail "a failed export changed a.tar"
[ ! -e a.tar.tmp ] || fail "a.tar.tmp left after a failed export"
expect_rc 1 $B/xborder-evidence export --log log --out no/such/dir/x.tar
grep -q 'cannot create no/such/dir/x.tar.tmp' err.txt || fail "reason: $(cat err.txt)"

# --quiet belongs to export only; --help documents the streaming.
expect_rc 2 $B/xborder-evidence checkpoint --log log --quiet
expect_rc 0 $B/xborder-evidence export --help
grep -q 'BUNDLE.tar.tmp' out.txt || fail "export --help"
echo PASS
