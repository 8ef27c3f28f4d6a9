#!/usr/bin/env bash
# xborder-detect end to end: help, counts, keyed hashes stable under one key, database
# save/load, and one-line errors with a non-zero exit.
set -euo pipefail
bin="$XB_BUILD_DIR/bin/xborder-detect"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" --help | grep -q 'usage: xborder-detect' || fail "--help"
"$bin" --list | grep -q '^bank_card .*sensitive=yes' || fail "--list"

printf '{"身份证":"11010519491231002X","mobile":"13812345678","card_no":"6222021234567890128"}' > "$tmp/a.json"
printf 'order 13812345678 shipped' > "$tmp/b.txt"
printf '0123456789abcdef0123456789abcdef' > "$tmp/key"

out=$("$bin" --today 20251123 --key-file "$tmp/key" --chunk 7 "$tmp/a.json" "$tmp/b.txt")
a=$(sed -n 1p <<<"$out")
b=$(sed -n 2p <<<"$out")
grep -q '"cn_resident_id":1,"cn_mobile":1,"bank_card":1' <<<"$a" || fail "counts: $a"
grep -q '"sensitive_hits":1,"non_sensitive_hits":2' <<<"$a" || fail "classes: $a"
grep -q '"cn_mobile":0' <<<"$b" || fail "mobile without context must not count: $b"
grep -q '11010519491231002X' <<<"$out" && fail "raw identifier in output"

# Same key, same hashes; the serialized database gives the same result.
"$bin" --save-db "$tmp/db.bin" || fail "--save-db"
[ -s "$tmp/db.bin" ] || fail "empty database file"
again=$("$bin" --today 20251123 --key-file "$tmp/key" --load-db "$tmp/db.bin" "$tmp/a.json")
[ "$again" = "$a" ] || fail "load-db result differs: $again"

# Errors: one line on stderr, non-zero exit.
for args in "--bogus" "--detectors ssn $tmp/a.json" "$tmp/missing" "--chunk 0 $tmp/a.json" \
            "--detectors vin --load-db $tmp/db.bin $tmp/a.json" ""; do
  set +e
  err=$("$bin" $args 2>&1 >/dev/null)
  rc=$?
  set -e
  [ $rc -ne 0 ] || fail "exit 0 for: $args"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "not one line for: $args: $err"
done
echo "detect_cli_test: ok"
