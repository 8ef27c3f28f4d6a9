# Sourced by the tests/e2e_enforce scripts: paths, the test list, the testbed with its
# test servers, the gateway, and the evidence export + verification. Not run on its own.
# shellcheck shell=bash

src=${XB_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${XB_BUILD_DIR:-$src/build}
here=$src/tests/e2e_enforce
tool="python3 $here/e2e_tool.py"
bin_dp=$build/bin/xborder-dataplane
bin_rulec=$build/bin/xborder-rulec
bin_ev=$build/bin/xborder-evidence
bin_verify=$build/bin/xborder-verify
sample=$src/rules/examples/sample-negative-list.yaml

# Testbed addresses (RFC 5737 / RFC 2544 ranges). The client namespace carries one
# address per tenant; the server namespace the two test servers.
CLIENT_FILED=198.18.91.10     # T-E2E-FILED, holds FIL-E2E-0001 for DST-E2E-US
CLIENT_UNFILED=198.18.92.10   # T-E2E-UNFILED, no filing
WEB=203.0.113.200             # HTTP :80 (GET files, POST stored and logged)
TLS=203.0.113.201             # HTTPS :443, certificate for blocked.example.net + files.example.com
BLOCKED_SNI=blocked.example.net

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

# need_root_and_binaries: 77 (skip) only when not root; a missing binary is a failure.
need_root_and_binaries() {
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root for network namespaces"
    exit 77
  fi
  local b
  for b in "$bin_dp" "$bin_rulec" "$bin_ev" "$bin_verify"; do
    [ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }
  done
}

# make_ruleset OUTDIR [make_test_list.py options]: the test list, compiled; prints the hash.
make_ruleset() {
  local out=$1
  shift
  python3 "$here/make_test_list.py" "$sample" "$out" "$@" >/dev/null &&
    "$bin_rulec" "$out/e2e-list.yaml" -o "$out/ruleset.pb" --print-hash
}

# evidence_init DIR: a fresh evidence log the gateway writes to.
evidence_init() {
  "$bin_ev" init --log "$1" --origin "e2e.xborder.test/log" >/dev/null
}

# gateway_config FILE MODE RULESET EVLOG WORK: the testbed gateway's config.
gateway_config() {
  cat >"$1" <<EOF
mode: $2
ports:
  - inside: 0
    outside: 1
flows:
  capacity: 65536
  timeouts:
    tcp_closed: 2
log:
  stats_interval: 0
ruleset: $3
evidence:
  log: $4
  fail_policy: closed
  checkpoint_interval: 1
counters:
  snapshot: $5/counters.snap
  merge_interval_ms: 100
control:
  socket: $5/control.sock
EOF
}

# testbed_up [--tap]: the testbed plus the test addresses, routes and servers.
testbed_up() {
  $tb up "$@" >/dev/null
  $tb client ip addr add "$CLIENT_FILED/24" dev "${XB_TB_NAME}c0"
  $tb client ip addr add "$CLIENT_UNFILED/24" dev "${XB_TB_NAME}c0"
  $tb client ip route add 203.0.113.0/24 dev "${XB_TB_NAME}c0"
  $tb server ip addr add "$WEB/24" dev "${XB_TB_NAME}s0"
  $tb server ip addr add "$TLS/32" dev "${XB_TB_NAME}s0"
  $tb server ip route add 198.18.0.0/15 dev "${XB_TB_NAME}s0"
  mkdir -p "$work/www"
  head -c $((4 * 1024 * 1024)) /dev/urandom >"$work/www/big.bin"
  echo "xborder e2e: files.example.com" >"$work/www/index.html"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$BLOCKED_SNI" \
    -addext "subjectAltName=DNS:$BLOCKED_SNI,DNS:files.example.com" \
    -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
  : >"$work/posts.jsonl"
  $tb server $tool serve "$WEB" 80 "$work/www" "$work/posts.jsonl" >"$work/http.log" 2>&1 &
  srv_pids+=($!)
  $tb server $tool serve "$TLS" 443 "$work/www" "$work/posts.jsonl" --tls "$work/tls.crt" "$work/tls.key" \
    >"$work/https.log" 2>&1 &
  srv_pids+=($!)
  local i
  for i in $(seq 1 50); do
    grep -q serving "$work/http.log" && grep -q serving "$work/https.log" && return 0
    sleep 0.1
  done
  fail "test servers did not start: $(cat "$work/http.log" "$work/https.log")"
  return 1
}

# gateway_start CONFIG [run-gateway options]: runs the gateway, waits until both ports are up.
gateway_start() {
  local cfg=$1
  shift
  XB_TB_CONFIG=$cfg $tb run-gateway "$@" --flow-log "$work/flows.json" >"$work/gw.out" 2>"$work/gw.err" &
  gw=$!
  local i
  for i in $(seq 1 600); do
    grep -q "port 1 " "$work/gw.err" 2>/dev/null && { sleep 0.5; return 0; }
    kill -0 "$gw" 2>/dev/null || { gw=""; fail "gateway exited at start: $(tail -3 "$work/gw.err")"; return 1; }
    sleep 0.1
  done
  fail "gateway not up after 60 s: $(tail -3 "$work/gw.err")"
  return 1
}

# gateway_stop: SIGTERM (flushes flows, stops the evidence writer), exit status 0 expected.
gateway_stop() {
  [ -n "$gw" ] || return 0
  kill -TERM "$gw" 2>/dev/null || true
  local rc=0
  wait "$gw" || rc=$?
  gw=""
  [ "$rc" = 0 ] || fail "gateway exit status $rc: $(tail -2 "$work/gw.err")"
}

# export_and_verify LOGDIR OUT: sign a checkpoint over what the gateway wrote, export a
# bundle, verify it with xborder-verify (exit 0 required), and decode its records to
# OUT/records.jsonl. Returns non-zero (after fail) when any step fails.
export_and_verify() {
  local log=$1 out=$2
  mkdir -p "$out"
  "$bin_ev" checkpoint --log "$log" >"$out/checkpoint.out" 2>&1 ||
    { fail "xborder-evidence checkpoint: $(tail -1 "$out/checkpoint.out")"; return 1; }
  "$bin_ev" export --log "$log" --out "$out/bundle.tar" >"$out/export.out" 2>&1 ||
    { fail "xborder-evidence export: $(tail -1 "$out/export.out")"; return 1; }
  "$bin_ev" trust --log "$log" --out "$out/trust.json" >/dev/null 2>&1 ||
    { fail "xborder-evidence trust"; return 1; }
  local rc=0
  "$bin_verify" "$out/bundle.tar" --trust "$out/trust.json" --report "$out/report" >"$out/verify.out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    fail "xborder-verify exit $rc: $(grep -v '^PASS' "$out/verify.out" | head -3)"
    return 1
  fi
  pass "xborder-verify: $(tail -1 "$out/verify.out")"
  $tool evidence "$out/bundle.tar" >"$out/records.jsonl" || { fail "bundle records unreadable"; return 1; }
  python3 - "$out/records.jsonl" <<'PY'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    f = r.get("flow")
    c[r.get("type", "?") + (" %s %s" % (f.get("policy_decision"), f.get("rule_id", "-")) if f else "")] += 1
print("  records: " + ", ".join("%s x%d" % kv for kv in sorted(c.items())))
PY
}

# expect_records RECORDS.jsonl NAME PYTHON-PREDICATE [MIN]: at least MIN (1) records r
# satisfy the predicate (a Python expression over r, a dict; `flow` = r.get("flow", {})).
expect_records() {
  local recs=$1 name=$2 pred=$3 min=${4:-1}
  local n
  n=$(python3 - "$recs" "$pred" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    flow = r.get("flow", {})
    if eval(sys.argv[2]):
        n += 1
print(n)
PY
) || n=error
  if [ "$n" != error ] && [ "$n" -ge "$min" ]; then
    pass "$name ($n record(s))"
  else
    fail "$name: $n record(s) match, want >= $min"
  fi
}

# no_records RECORDS.jsonl NAME PREDICATE: no record satisfies the predicate.
no_records() {
  local n
  n=$(python3 - "$1" "$3" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    flow = r.get("flow", {})
    if eval(sys.argv[2]):
        n += 1
        print("  unexpected:", line.strip()[:300], file=sys.stderr)
print(n)
PY
) || n=error
  [ "$n" = 0 ] && pass "$2" || fail "$2: $n record(s)"
}

# remove_work: the work directory goes, unless XB_E2E_KEEP=always, or XB_E2E_KEEP is set
# and something failed.
remove_work() {
  if [ "${XB_E2E_KEEP:-}" = always ] || { [ "$fails" != 0 ] && [ -n "${XB_E2E_KEEP:-}" ]; }; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
