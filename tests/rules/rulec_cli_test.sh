#!/usr/bin/env bash
# xborder-rulec as a user meets it: --help, a valid list (silent, deterministic hash),
# a broken list (one file:line:col line per problem, exit 1), usage errors (exit 2),
# an unwritable output (exit 3).
set -u
RULEC="$XB_BUILD_DIR/bin/xborder-rulec"
LIST="$XB_SOURCE_DIR/rules/examples/sample-negative-list.yaml"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$RULEC" --help >"$WORK/help" 2>&1 || fail "--help exited non-zero"
grep -q "usage: xborder-rulec" "$WORK/help" || fail "--help has no usage line"
grep -q "Exit codes" "$WORK/help" || fail "--help does not document exit codes"

"$RULEC" "$LIST" -o "$WORK/a.pb" >"$WORK/out" 2>&1 || fail "valid list rejected: $(cat "$WORK/out")"
[ -s "$WORK/out" ] && fail "valid list printed output: $(cat "$WORK/out")"
[ -s "$WORK/a.pb" ] || fail "no ruleset written"
h1=$("$RULEC" "$LIST" -o "$WORK/b.pb" --print-hash) || fail "--print-hash failed"
[[ "$h1" =~ ^[0-9a-f]{64}$ ]] || fail "hash is not 64 hex digits: $h1"
cmp -s "$WORK/a.pb" "$WORK/b.pb" || fail "two compiles differ"
h2=$(sha256sum "$WORK/a.pb" | cut -d' ' -f1)
[ "$h1" = "$h2" ] || fail "--print-hash ($h1) is not the SHA-256 of the file ($h2)"
h3=$("$RULEC" "$LIST" --check --print-hash) || fail "--check failed"
[ "$h1" = "$h3" ] || fail "--check hash differs"

# A broken list: every problem on its own line, file:line:col: message, exit 1.
sed -e 's/any_of: \[cn_resident_id, bank_card\]/any_of: [cn_resident_idd, bank_card]/' \
    -e 's/"198.51.100.0\/27"/"198.51.100.0\/33"/' \
    -e 's/entries: \["AVIA-01"\]/entries: ["AVIA-99"]/' "$LIST" >"$WORK/broken.yaml"
cp "$XB_SOURCE_DIR/rules/examples/geo-sample.csv" "$WORK/"
"$RULEC" "$WORK/broken.yaml" -o "$WORK/c.pb" 2>"$WORK/err"
rc=$?
[ $rc -eq 1 ] || fail "broken list exit code $rc, want 1"
[ -e "$WORK/c.pb" ] && fail "a broken list wrote an output"
[ "$(wc -l <"$WORK/err")" -eq 3 ] || fail "want 3 problems, got: $(cat "$WORK/err")"
while IFS= read -r line; do
  [[ "$line" =~ ^"$WORK/broken.yaml":[0-9]+:[0-9]+:\ .+ ]] || fail "not file:line:col: message: $line"
done <"$WORK/err"
grep -q 'unknown detector "cn_resident_idd"' "$WORK/err" || fail "unknown detector not reported"
grep -q 'bad CIDR "198.51.100.0/33"' "$WORK/err" || fail "bad CIDR not reported"
grep -q 'unknown entry "AVIA-99"' "$WORK/err" || fail "unknown entry not reported"

# Usage errors: one line, exit 2.
"$RULEC" 2>"$WORK/err"; [ $? -eq 2 ] || fail "no arguments: want exit 2"
[ "$(wc -l <"$WORK/err")" -eq 1 ] || fail "usage error is not one line"
"$RULEC" "$LIST" 2>/dev/null; [ $? -eq 2 ] || fail "no -o/--check: want exit 2"
"$RULEC" "$LIST" --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$RULEC" "$LIST" --check --as-of 2026-13-01 2>/dev/null; [ $? -eq 2 ] || fail "bad --as-of: want exit 2"
"$RULEC" "$WORK/missing.yaml" --check 2>/dev/null; [ $? -eq 1 ] || fail "missing list: want exit 1"

# --as-of reports filings expired by then; --geo replaces the table.
"$RULEC" "$LIST" --check --as-of 2026-05-01 2>"$WORK/err"; [ $? -eq 1 ] || fail "--as-of: want exit 1"
grep -q 'filing "FIL-2025-0005" has expired: 2026-03-31 is before the --as-of date 2026-05-01' "$WORK/err" \
  || fail "--as-of did not report FIL-2025-0005: $(cat "$WORK/err")"
printf '198.18.0.0/16,CN\n' >"$WORK/geo.csv"
h4=$("$RULEC" "$LIST" --check --print-hash --geo "$WORK/geo.csv") || fail "--geo failed"
[ "$h4" != "$h1" ] || fail "--geo did not change the ruleset"

# Unwritable output: exit 3.
"$RULEC" "$LIST" -o "$WORK/no/such/dir/x.pb" 2>/dev/null; [ $? -eq 3 ] || fail "unwritable output: want exit 3"
echo "rulec_cli_test: ok"
