#!/usr/bin/env bash
# The README's run command works: scripts/demo.sh, on this build, enforces the sample list
# (a block with resets both ways, a hold, a flow covered by its filing), and the bundle it
# exports verifies with xborder-verify. Needs no ../shared.
set -euo pipefail
src=${XB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
out=$(mktemp -d /tmp/xb-demo-test.XXXXXX)
trap 'rm -rf "$out"' EXIT
cd "$src"
if ! XB_DEMO_BUILD=$build XB_DEMO_OUT=$out/demo XB_DEMO_NO_SETUP=1 bash scripts/demo.sh >"$out/log" 2>&1; then
  tail -30 "$out/log"
  echo "FAIL: scripts/demo.sh exited non-zero"
  exit 1
fi
fails=0
want() {
  if grep -qE "$1" "$out/log"; then echo "ok: $2"; else echo "FAIL: $2 (no line matching: $1)"; fails=$((fails + 1)); fi
}
want '192\.0\.2\.201:80 +http +T-RETAIL +block +GEN-01 ' "the 绝密★ document is blocked under GEN-01"
want '203\.0\.113\.10:80 +http +T-BIOTECH +log +PHARMA-01 +FIL-2025-0001 ' "the trial data is covered by FIL-2025-0001"
want '203\.0\.113\.10:80 +http +T-BIOTECH +hold +PHARMA-03 ' "genomic reads are held (PHARMA-03)"
want '192\.0\.2\.10:52006 .* hold .*unknown-tenant' "a host no tenant claims is held"
want '^OK: [0-9]+ frames of allowed flows crossed byte for byte; 3 blocked or held flows stopped' "what crossed"
want '^VERIFIED \([0-9]+ records, [0-9]+ checkpoints?\)' "xborder-verify verifies the exported bundle"
[ -s "$out/demo/report/report.en.html" ] && [ -s "$out/demo/report/report.zh.html" ] && echo "ok: reports written" \
  || { echo "FAIL: no report"; fails=$((fails + 1)); }
[ "$fails" = 0 ] || { cat "$out/log"; exit 1; }
