#!/usr/bin/env bash
# Replays every corpus capture through xborder-replay (a fresh engine per capture,
# so flows of different captures never mix) and compares the flow logs with the
# nDPI 4.2 oracle (scripts/oracle-compare.py). Fails below 99% agreement.
set -euo pipefail
src=${XB_SOURCE_DIR:?}
build=${XB_BUILD_DIR:?}
shared=${XB_SHARED_DIR:-$src/../shared}
if [ ! -d "$shared" ]; then
  echo "SKIP: ../shared is absent ($shared)"
  exit 77
fi
replay=$build/bin/xborder-replay
out=$build/tests/oracle-flowlogs
rm -rf "$out"
mkdir -p "$out"
n=0
for pcap in "$shared"/corpus/pcap/*; do
  name=$(basename "$pcap")
  # Small tables: the corpus has at most ~2,000 flows per capture.
  "$replay" --quiet --capacity 8192 --ndpi-pool 4096 --flow-log "$out/$name.jsonl" "$pcap"
  n=$((n + 1))
done
echo "replayed $n captures"
python3 "$src/scripts/oracle-compare.py" --oracle-dir "$shared/corpus/expected/ndpi-4.2" \
  --min 0.99 --show 20 --flow-log-dir "$out" all
