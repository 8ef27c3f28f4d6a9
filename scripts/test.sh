#!/usr/bin/env bash
# Runs the whole xborder test suite from a clean checkout, as root on Debian bookworm.
#
#   scripts/test.sh                 build (-Werror), unit + integration + e2e tests,
#                                   and a bounded slice of every fuzz target
#   scripts/test.sh --long          also the long soak / fuzz / stress runs
#   scripts/test.sh -R REGEX        only the ctest tests matching REGEX (no fuzz slice)
#
# Build trees: build/ci (g++ 12, -Werror) and build/fuzz (clang, libFuzzer).
# Tests that read ../shared (the corpus and vectors) skip only when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

long=0; regex=""
while [ $# -gt 0 ]; do
  case "$1" in
    --long) long=1 ;;
    -R) regex="$2"; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

jobs=$(nproc)
bash scripts/setup.sh

echo "== build (build/ci)"
cmake -S . -B build/ci -G Ninja -DXB_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/ci -j"$jobs"

labels=(-LE long)
[ "$long" = 1 ] && labels=()
export XB_LONG=$long

echo "== tests (build/ci)"
if [ -n "$regex" ]; then
  ctest --test-dir build/ci --output-on-failure -j"$jobs" -R "$regex" "${labels[@]}"
  exit 0
fi
ctest --test-dir build/ci --output-on-failure -j"$jobs" "${labels[@]}"

echo "== fuzz (build/fuzz, clang + libFuzzer)"
fuzz_seconds=20
[ "$long" = 1 ] && fuzz_seconds=600
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DXB_FUZZ=ON -DXB_BUILD_TESTS=OFF \
  -DXB_FUZZ_SECONDS="$fuzz_seconds" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if cmake --build build/fuzz --target help | grep -q fuzz_all; then
  cmake --build build/fuzz -j"$jobs" --target fuzz_all
  ctest --test-dir build/fuzz --output-on-failure -j"$jobs" -L fuzz
fi
echo "== all tests passed"
