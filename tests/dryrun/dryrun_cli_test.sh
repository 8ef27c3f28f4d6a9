#!/usr/bin/env bash
# xborder-dryrun end to end: golden decisions on a generated capture, --against a
# modified list, --as-of after a filing expired, list errors, and a corpus capture.
set -euo pipefail
SRC=${XB_SOURCE_DIR:?}
BIN=${XB_BUILD_DIR:?}/bin/xborder-dryrun
SHARED=${XB_SHARED_DIR:-$SRC/../shared}
LIST=$SRC/rules/examples/sample-negative-list.yaml
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

python3 "$SRC/tests/dryrun/make-dryrun-pcap.py" "$T/dryrun.pcap" >/dev/null

# --help and a bad command line.
"$BIN" --help | grep -q -- "--against"
if "$BIN" --list "$LIST" 2>"$T/err"; then echo "FAIL: no capture accepted"; exit 1; fi
grep -q "no capture files" "$T/err"

# List errors: every one printed as file:line:col, exit 2.
sed -e 's/^schema_version: "1.0"/schema_version: "1.0"\nbogus_key: 1/' "$LIST" >"$T/bad.yaml"
cp "$SRC/rules/examples/geo-sample.csv" "$T/"
set +e
"$BIN" --list "$T/bad.yaml" "$T/dryrun.pcap" >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "FAIL: list error exit $rc"; cat "$T/err"; exit 1; }
grep -q "bad.yaml:[0-9]*:[0-9]*:" "$T/err" || { echo "FAIL: no file:line:col"; cat "$T/err"; exit 1; }

"$BIN" --list "$LIST" --json --no-progress --flow-log "$T/flows.json" "$T/dryrun.pcap" >"$T/now.jsonl" 2>"$T/stderr"
# The engine's own flow log carries the verdict, detectors, tenant and country.
grep -q '"verdict":{"action":"block","entry_id":"GEN-01","filing_id":"","reason":"block: entry GEN-01' "$T/flows.json" \
  || { echo "FAIL: flow log lacks the GEN-01 verdict"; cat "$T/flows.json"; exit 1; }
grep -q '"classified_marking":1,.*"vin":0},"tenant":"T-RETAIL","dest_country":"JP"}' "$T/flows.json" \
  || { echo "FAIL: flow log lacks detectors/tenant/country"; exit 1; }

# The modified list: FIL-2025-0005 (T-EXPRESS's waybill declaration) removed.
python3 - "$LIST" "$T/old.yaml" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
out, skip = [], False
for l in lines:
    if l.startswith('  - id: "FIL-'):
        skip = l.startswith('  - id: "FIL-2025-0005"')
    elif l and not l.startswith(" ") and not l.startswith("#"):
        skip = False
    if not skip:
        out.append(l)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out))
PY
"$BIN" --list "$LIST" --against "$T/old.yaml" --json --no-progress "$T/dryrun.pcap" >"$T/against.jsonl" 2>/dev/null
"$BIN" --list "$LIST" --against "$T/old.yaml" --no-progress "$T/dryrun.pcap" >"$T/against.txt" 2>/dev/null
"$BIN" --list "$LIST" --as-of 2026-05-01 --json --no-progress "$T/dryrun.pcap" >"$T/asof.jsonl" 2>/dev/null
"$BIN" --list "$LIST" --no-progress "$T/dryrun.pcap" >"$T/now.txt" 2>/dev/null

python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
def load(name):
    rows = [json.loads(l) for l in open(f"{T}/{name}") if l.strip()]
    flows = {(r["dest_ip"], r["dest_port"]): r for r in rows if not r.get("summary")}
    summary = [r for r in rows if r.get("summary")]
    assert len(summary) == 1, summary
    return flows, summary[0]

fails = []
def check(cond, msg):
    if not cond:
        fails.append(msg)

now, s = load("now.jsonl")
REQ = ["src_ip", "src_port", "dest_ip", "dest_port", "proto", "app_proto", "tenant", "dest_country",
       "decision", "entry_id", "filing_id", "reason", "detectors"]
for k, r in now.items():
    for f in REQ:
        check(f in r, f"{k}: field {f} missing")
a = now[("192.0.2.200", 80)]
b = now[("203.0.113.130", 80)]
c = now[("198.51.100.200", 443)]
d = now[("192.0.2.80", 80)]
e = now[("192.0.2.201", 80)]
# a: no filing names 192.0.2.200, so LOGI-01 does not apply; GEN-03 counts the
#    consignees (exempt tier): log. b: LOGI-01 covered by FIL-2025-0005: log.
# c: TLS, metadata only: the SNI names DST-SG-RETAIL-HUB but no entry matches.
# d: nothing personal. e: a 绝密★ marking: GEN-01, prohibited: block.
GOLDEN = {
    "a": (a, dict(decision="log", entry_id="GEN-03", filing_id="", tenant="T-EXPRESS", dest_country="JP")),
    "b": (b, dict(decision="log", entry_id="LOGI-01", filing_id="FIL-2025-0005", tenant="T-EXPRESS",
                  dest_country="US")),
    "c": (c, dict(decision="log", entry_id="", filing_id="", tenant="T-RETAIL", dest_country="HK",
                  app_proto="tls")),
    "d": (d, dict(decision="log", entry_id="", filing_id="", tenant="T-RETAIL", dest_country="DE",
                  app_proto="http")),
    "e": (e, dict(decision="block", entry_id="GEN-01", filing_id="", tenant="T-RETAIL", dest_country="JP")),
}
for name, (r, g) in GOLDEN.items():
    for f, v in g.items():
        check(r.get(f) == v, f"flow {name}: {f} = {r.get(f)!r}, expected {v!r} ({r['reason']})")
for name, r in (("a", a), ("b", b)):
    check(r["detectors"]["cn_resident_id"] == 5, f"flow {name}: resident IDs {r['detectors']}")
    check(r["detectors"]["cn_mobile"] == 5, f"flow {name}: mobiles {r['detectors']}")
    check(r["records"] == 5, f"flow {name}: records {r['records']}")
    check(r["path"] == "/api/v1/waybills", f"flow {name}: path {r['path']}")
    check(r["tenant"] == "T-EXPRESS", f"flow {name}: tenant")
for name, r in (("c", c), ("d", d)):
    check(sum(r["detectors"].values()) == 0, f"flow {name}: detectors {r['detectors']}")
check(c["app_proto"] == "tls" and c["host"] == "crm.example.net", f"flow c: {c['app_proto']} {c['host']}")
check(not c["inspected"], "flow c: TLS payload must not be inspected")
check(e["detectors"]["classified_marking"] == 1, f"flow e: {e['detectors']}")
check(s["flows"] == 5, f"summary flows {s['flows']}")
check(s["decisions"] == {"allow": 0, "log": 4, "alert": 0, "hold": 0, "block": 1}, f"summary {s['decisions']}")
check(s["entries"]["GEN-01"]["block"] == 1 and s["tenants"]["T-RETAIL"]["block"] == 1, "summary GEN-01 block")

# --against: the version without FIL-2025-0005 judged flow b differently.
ag, sa = load("against.jsonl")
check(ag[("203.0.113.130", 80)]["changed"] is True, "against: flow b unchanged")
check(ag[("203.0.113.130", 80)]["against"]["filing_id"] == "", "against: old filing for b")
check(ag[("192.0.2.80", 80)]["changed"] is False, "against: flow d changed")
check(sa["changed_flows"] == 1, f"against: changed_flows {sa['changed_flows']}")
check(sum(sa["changes"].values()) == 1, f"against: changes {sa['changes']}")
txt = open(f"{T}/against.txt").read()
check("Changes against" in txt and "1 flows" in txt, "against: text report")

# --as-of 2026-05-01: FIL-2025-0005 expired on 2026-03-31.
ao, _ = load("asof.jsonl")
check(ao[("203.0.113.130", 80)]["filing_id"] == "", f"as-of: filing {ao[('203.0.113.130', 80)]['filing_id']}")
check(ao[("203.0.113.130", 80)]["entry_id"] != b["entry_id"], "as-of: same entry after expiry")

t = open(f"{T}/now.txt").read()
for needle in ("Per entry", "Per tenant", "T-EXPRESS", "TOTAL"):
    check(needle in t, f"text report lacks {needle}")
if fails:
    print("\n".join("FAIL: " + f for f in fails))
    sys.exit(1)
print("dryrun golden: ok")
PY

# A corpus capture with a form POST carrying personal data.
AIMINI=$SHARED/corpus/pcap/ndpi-aimini-http.pcap
if [ ! -d "$SHARED" ]; then
  echo "SKIP corpus part: ../shared is absent"; exit 77
fi
"$BIN" --list "$LIST" --json --no-progress "$AIMINI" >"$T/aimini.jsonl" 2>/dev/null
python3 - "$T/aimini.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
summary = rows[-1]
assert summary.get("summary") and summary["flows"] == len(rows) - 1, "summary"
hits = sum(sum(r["detectors"].values()) for r in rows[:-1])
assert hits > 0, "no detector fired on the aimini form POST"
print(f"aimini: {summary['flows']} flows, {hits} detector matches")
PY
echo "dryrun_cli_test: ok"
