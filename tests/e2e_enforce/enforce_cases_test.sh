#!/usr/bin/env bash
# e2e (issue 5): real clients and servers in network namespaces, the gateway enforcing
# the test negative list (make_test_list.py). Each case is checked at the client, at the
# server, and in the exported evidence bundle, which must pass xborder-verify.
#
# usage: enforce_cases_test.sh inline|tap
#
# inline (the gateway is the only path between client and server):
#  a. a POST with checksum-valid resident IDs from the tenant with no filing -> curl sees a
#     reset, the server never gets the body and keeps no connection, FLOW "block" E2E-EXPORT;
#  b. the same POST from the tenant whose filing covers the destination -> 200, the server
#     stores it byte-identical, FLOW E2E-EXPORT covered by FIL-E2E-0001;
#  c. HTTPS to the prohibited SNI blocked.example.net -> reset, FLOW "block" E2E-SNI;
#  d. off the list (4 MiB GET over HTTP and HTTPS to the uncovered destination, DNS) passes
#     byte-identical, and no record blocks, holds or alerts it.
# tap (a Linux bridge joins client and server; the gateway sees mirrored copies):
#  the same traffic all succeeds; a and c are FLOW "alert" records with their entries, b
#  cites the filing, d raises nothing, and the gateway transmits nothing (the mirror
#  links' rx counters stay at zero).
# Namespaces, links and processes are removed on every exit.
set -euo pipefail
mode=${1:-inline}
case "$mode" in inline|tap) ;; *) echo "usage: $0 inline|tap" >&2; exit 2 ;; esac
. "$(dirname "$0")/e2e_common.sh"
need_root_and_binaries

export XB_BIN=$bin_dp
export XB_TB_NAME=xbe${mode:0:1}$(( $$ % 1000 ))
export XB_TB_DIR=/tmp/$XB_TB_NAME
tb="bash $src/scripts/testbed.sh"
work=$(mktemp -d /tmp/xb-e2e-enforce.XXXXXX)
gw=""
srv_pids=()
cleanup() {
  [ -n "$gw" ] && kill -KILL "$gw" 2>/dev/null || true
  for p in "${srv_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  $tb down >/dev/null 2>&1 || true
  remove_work
  rm -rf "/var/run/dpdk/$XB_TB_NAME-gw"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

# The list with the SNI entry when the compiler knows `server_names`; without it the
# other cases still run and case c fails with the compiler's message.
sni_ok=1
if ! hash_a=$(make_ruleset "$work/list" --sni 2>"$work/rulec-sni.err"); then
  sni_ok=0
  hash_a=$(make_ruleset "$work/list") || { cat "$work/rulec-sni.err"; fail "test list does not compile"; exit 1; }
fi
echo "== $mode: ruleset $hash_a (SNI entry: $([ $sni_ok = 1 ] && echo yes || echo no))"
evidence_init "$work/evlog"
gateway_config "$work/gw.yaml" "$mode" "$work/list/ruleset.pb" "$work/evlog" "$work"
tapopt=()
[ "$mode" = tap ] && tapopt=(--tap)
testbed_up "${tapopt[@]}"
gateway_start "$work/gw.yaml" "${tapopt[@]}" || exit 1

post() {  # post SRC BODYFILE OUT: curl's exit status in OUT.rc, stderr in OUT.err
  local rc=0
  $tb client curl -sS -m 10 --interface "$1" -H 'Content-Type: application/json' \
    --data-binary @"$2" -o "$3" "http://$WEB/upload" 2>"$3.err" || rc=$?
  echo "$rc" >"$3.rc"
}
reset_seen() {  # reset_seen OUT ALLOWED-EXIT-CODES...
  local out=$1 rc
  rc=$(cat "$out.rc")
  shift
  for c in "$@"; do [ "$rc" = "$c" ] && grep -qi "reset" "$out.err" && return 0; done
  return 1
}

# a. The unfiled tenant's IDs.
$tool ids 0 20 --keyword >"$work/body.json"
$tool check-id "$(grep -o '[0-9X]\{18\}' "$work/body.json" | head -1)" || fail "generated ID fails GB 11643"
size=$(stat -c %s "$work/body.json")
post "$CLIENT_UNFILED" "$work/body.json" "$work/a.out"
if [ "$mode" = inline ]; then
  reset_seen "$work/a.out" 56 && pass "a: unfiled tenant's POST reset ($(head -1 "$work/a.out.err"))" ||
    fail "a: unfiled tenant's POST: curl exit $(cat "$work/a.out.rc") '$(head -1 "$work/a.out.err")', want 56 reset"
else
  grep -q "stored $size bytes" "$work/a.out" && pass "a (tap): the POST went through the bridge" ||
    fail "a (tap): POST failed: curl exit $(cat "$work/a.out.rc") '$(head -1 "$work/a.out.err")'"
fi

# b. The filed tenant, same IDs.
post "$CLIENT_FILED" "$work/body.json" "$work/b.out"
grep -q "stored $size bytes" "$work/b.out" && pass "b: filed tenant's POST answered 200" ||
  fail "b: filed tenant's POST: curl exit $(cat "$work/b.out.rc") '$(head -1 "$work/b.out.err")'"

# c. Prohibited SNI, from the filed tenant (a prohibited entry binds every tenant).
rc=0
$tb client curl -sS -m 10 --interface "$CLIENT_FILED" --cacert "$work/tls.crt" \
  --resolve "$BLOCKED_SNI:443:$TLS" -o "$work/c.out" "https://$BLOCKED_SNI/index.html" 2>"$work/c.out.err" || rc=$?
echo "$rc" >"$work/c.out.rc"
if [ $sni_ok = 0 ]; then
  fail "c: the list language has no SNI condition; xborder-rulec: $(head -1 "$work/rulec-sni.err") (curl exit $rc)"
elif [ "$mode" = inline ]; then
  reset_seen "$work/c.out" 35 56 && pass "c: HTTPS to $BLOCKED_SNI reset ($(head -1 "$work/c.out.err"))" ||
    fail "c: HTTPS to $BLOCKED_SNI: curl exit $rc '$(head -1 "$work/c.out.err")', want a reset"
else
  [ "$rc" = 0 ] && pass "c (tap): HTTPS to $BLOCKED_SNI went through the bridge" ||
    fail "c (tap): HTTPS failed: curl exit $rc '$(head -1 "$work/c.out.err")'"
fi

# d. Off the list: byte-identical transfers, DNS.
want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
$tb client curl -sS -m 30 --interface "$CLIENT_UNFILED" -o "$work/d-http.bin" "http://$WEB/big.bin" ||
  fail "d: curl http GET"
$tb client curl -sS -m 30 --interface "$CLIENT_UNFILED" --cacert "$work/tls.crt" \
  --resolve "files.example.com:443:$TLS" -o "$work/d-https.bin" "https://files.example.com/big.bin" ||
  fail "d: curl https GET"
for f in http https; do
  got=$(sha256sum "$work/d-$f.bin" 2>/dev/null | cut -d' ' -f1)
  [ "$got" = "$want" ] && pass "d: $f GET of 4 MiB byte-identical" || fail "d: $f GET differs from the served file"
done
ans=$($tb client dig +time=2 +tries=3 -b "$CLIENT_UNFILED" @192.0.2.20 www.example.com A +short || true)
[ "$ans" = 192.0.2.20 ] && pass "d: DNS answered" || fail "d: dig www.example.com answered '$ans'"

# Server side: inline, a's body never arrived and a's connection is gone (the RST toward
# the server); b's body arrived whole in both modes.
python3 - "$work/posts.jsonl" "$(sha256sum "$work/body.json" | cut -d' ' -f1)" "$CLIENT_UNFILED" "$CLIENT_FILED" \
  "$mode" <<'PY' || fails=$((fails + 1))
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
want, unfiled, filed, mode = sys.argv[2:6]
bad = 0
got_a = [p for p in posts if p["client"] == unfiled]
if mode == "inline" and got_a:
    print("FAIL: a: the server received the unfiled tenant's POST body"); bad = 1
if mode == "tap" and not got_a:
    print("FAIL: a (tap): the server lacks the unfiled tenant's POST"); bad = 1
if not [p for p in posts if p["client"] == filed and p["sha256"] == want and p["ids"] == 20]:
    print("FAIL: b: the server lacks the filed tenant's POST (byte-identical, 20 IDs)"); bad = 1
if not bad:
    print("ok: server side: what reached the server is what the mode allows")
sys.exit(bad)
PY
if [ "$mode" = inline ]; then
  left=$($tb server ss -Htn state established "( sport = :80 )" | grep -c "$CLIENT_UNFILED" || true)
  [ "$left" = 0 ] && pass "a: the server holds no connection of the blocked client (RST reached it)" ||
    fail "a: $left connection(s) of the blocked client still established at the server"
fi

gateway_stop
if [ "$mode" = tap ]; then
  # Whatever the gateway transmits on m1/m3 arrives on m0/m2.
  for d in m0 m2; do
    n=$(cat "/sys/class/net/${XB_TB_NAME}$d/statistics/rx_packets" 2>/dev/null || echo missing)
    [ "$n" = 0 ] && pass "tap: the gateway transmitted nothing on ${XB_TB_NAME}$d's peer" ||
      fail "tap: ${XB_TB_NAME}$d received $n packet(s) from the gateway"
  done
  tx=$(python3 "$here/check_runs.py" counters "$work/gw.out" |
    python3 -c 'import json,sys; p=json.load(sys.stdin)["ports"]; print(sum(v["tx"] for v in p.values()) if p else "none")')
  [ "$tx" = 0 ] && pass "tap: the gateway's ports sent 0 packets" || fail "tap: the gateway's ports sent $tx packets"
fi

# The flow log carries each decision too (verdict: action, entry, filing, ruleset).
python3 - "$work/flows.json" "$mode" "$hash_a" "$CLIENT_UNFILED" "$CLIENT_FILED" "$WEB" "$TLS" <<'PY' ||
import json, sys
mode, ruleset, unfiled, filed, web, tls = sys.argv[2:8]
flows = [json.loads(l) for l in open(sys.argv[1])]
def find(src, dst, port, pred):
    return [f for f in flows if f.get("src_ip") == src and f.get("dest_ip") == dst and f.get("dest_port") == port
            and pred(f.get("verdict", {}))]
stop = "block" if mode == "inline" else "alert"
checks = {
    "a: flow log verdict %s E2E-EXPORT with the ruleset" % stop:
        find(unfiled, web, 80, lambda v: v.get("entry_id") == "E2E-EXPORT" and v.get("ruleset") == ruleset
             and (v.get("action") == stop or (mode == "tap" and v.get("action") == "block"))),
    "b: flow log verdict E2E-EXPORT covered by FIL-E2E-0001":
        find(filed, web, 80, lambda v: v.get("entry_id") == "E2E-EXPORT" and v.get("filing_id") == "FIL-E2E-0001"),
    "c: flow log verdict E2E-SNI":
        find(filed, tls, 443, lambda v: v.get("entry_id") == "E2E-SNI"),
    "d: flow log GET flows without an entry":
        find(unfiled, web, 80, lambda v: v.get("entry_id") == "" and v.get("action") in ("log", "allow")),
}
bad = 0
for what, found in checks.items():
    print(("ok: " if found else "FAIL: ") + what)
    bad += not found
sys.exit(1 if bad else 0)
PY
  fails=$((fails + 1))

export_and_verify "$work/evlog" "$work/bundle" || true
recs=$work/bundle/records.jsonl
if [ -s "$recs" ]; then
  flow="r.get('type') == 'FLOW' and flow.get('ruleset_sha256') == '$hash_a'"
  act=block
  [ "$mode" = tap ] && act=alert
  expect_records "$recs" "a: FLOW $act E2E-EXPORT to $WEB:80, ruleset cited" \
    "$flow and flow.get('policy_decision') == '$act' and flow.get('rule_id') == 'E2E-EXPORT' and flow.get('dst_ip') == '$WEB' and flow.get('dst_port') == 80 and not flow.get('filing_id')"
  if [ "$mode" = inline ]; then
    # Bytes before the decision: the handshake only, none of the body ($size bytes).
    expect_records "$recs" "a: the record states the bytes that crossed before the block (fewer than the body)" \
      "$flow and flow.get('rule_id') == 'E2E-EXPORT' and flow.get('policy_decision') == 'block' and 0 < flow.get('bytes_out_before_decision', flow.get('bytes_out', 0)) < $size"
  fi
  expect_records "$recs" "b: FLOW E2E-EXPORT covered by FIL-E2E-0001" \
    "$flow and flow.get('rule_id') == 'E2E-EXPORT' and flow.get('filing_id') == 'FIL-E2E-0001' and flow.get('policy_decision') in ('log', 'allow-filing', 'allow', 'alert')"
  expect_records "$recs" "c: FLOW $act E2E-SNI to $TLS:443" \
    "$flow and flow.get('policy_decision') == '$act' and flow.get('rule_id') == 'E2E-SNI' and flow.get('dst_port') == 443"
  no_records "$recs" "d: nothing else blocked, held or alerted" \
    "r.get('type') == 'FLOW' and flow.get('policy_decision') in ('block', 'hold', 'alert', 'flag') and flow.get('rule_id') not in ('E2E-EXPORT', 'E2E-SNI')"
  if [ "$mode" = tap ]; then
    no_records "$recs" "tap: no block or hold recorded" \
      "r.get('type') == 'FLOW' and flow.get('policy_decision') in ('block', 'hold')"
  fi
else
  fail "no evidence records to check"
fi

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "e2e enforce $mode: all cases pass"
