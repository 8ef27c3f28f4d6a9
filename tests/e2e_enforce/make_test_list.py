#!/usr/bin/env python3
"""Write the end-to-end test negative list, derived from rules/examples/sample-negative-list.yaml.

usage: make_test_list.py SAMPLE.yaml OUTDIR [--version V] [--unknown-tenant ACTION] [--sni]

Writes OUTDIR/e2e-list.yaml and OUTDIR/e2e-geo.csv (compile with xborder-rulec). What changes
against the sample (everything else is the sample, unchanged):
  - metadata.version = V (two versions give two ruleset hashes for the reload test);
  - mechanisms.security_assessment.default_action = block (the sample's "configurable to block"),
    so an uncovered export is reset, not only held;
  - evaluation.unknown_tenant_action = ACTION (default: the sample's hold);
  - FIN-03 is removed, so GEN-03 alone judges bare resident IDs and the 100,000 edge is
    GEN-03's exempt -> sc_or_certification step (log -> alert);
  - the test's own tenants, destination, dictionary, entry and filing (below);
  - the geo table maps the testbed's client range 198.18.0.0/16 to CN and the server range
    203.0.113.128/25 to US (the sample's table, one line per prefix, is kept as it is);
  - with --sni: entry E2E-SNI prohibits TLS/HTTP to blocked.example.net via the match key
    `server_names` (TLS SNI or HTTP Host).
"""
import argparse
import os
import sys

import yaml

CLIENT_FILED = "198.18.91.0/24"    # T-E2E-FILED: holds FIL-E2E-0001 for DST-E2E-US
CLIENT_UNFILED = "198.18.92.0/24"  # T-E2E-UNFILED: no filing
CLIENT_BULK = "198.18.93.0/24"     # T-E2E-BULK: the threshold test's generated traffic
SERVER_CIDR = "203.0.113.192/27"   # the testbed's servers (US per the geo table)
BLOCKED_SNI = "blocked.example.net"

GEO = """# prefix,country  e2e test geography (tests/e2e_enforce): the sample's table.
198.18.0.0/16,CN
192.0.2.0/25,DE
192.0.2.128/25,JP
198.51.100.0/25,SG
198.51.100.128/25,HK
203.0.113.0/25,CH
203.0.113.128/25,US
2001:db8:4::/48,CN
2001:db8:10::/48,DE
2001:db8:20::/48,US
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample")
    ap.add_argument("outdir")
    ap.add_argument("--version", default="e2e-A")
    ap.add_argument("--unknown-tenant", default=None)
    ap.add_argument("--sni", action="store_true")
    a = ap.parse_args()

    with open(a.sample, encoding="utf-8") as f:
        doc = yaml.safe_load(f)

    doc["geo_table"] = "e2e-geo.csv"
    doc["metadata"]["version"] = a.version
    doc["metadata"]["list_id"] = "JSFTZ-SZ-NL-E2E-TEST"
    doc["mechanisms"]["security_assessment"]["default_action"] = "block"
    if a.unknown_tenant:
        doc["evaluation"]["unknown_tenant_action"] = a.unknown_tenant
    doc["entries"] = [e for e in doc["entries"] if e["id"] != "FIN-03"]

    doc["dictionaries"]["kw_e2e_customer"] = ["customer_export"]
    doc["destinations"]["DST-E2E-US"] = {
        "recipient": "Example Analytics Inc. (fictitious, e2e test)",
        "country": "US",
        "endpoints": {"cidrs": [SERVER_CIDR], "fqdns": ["upload.example.com"]},
    }
    tenants = [
        ("T-E2E-FILED", "91320500EXAMPLE91A", CLIENT_FILED, 191),
        ("T-E2E-UNFILED", "91320500EXAMPLE92B", CLIENT_UNFILED, 192),
        ("T-E2E-BULK", "91320500EXAMPLE93C", CLIENT_BULK, 193),
    ]
    for tid, uscc, cidr, vlan in tenants:
        doc["tenants"].append({
            "id": tid, "uscc": uscc, "name": f"Suzhou Example {tid} Co., Ltd. (fictitious, e2e test)",
            "sources": {"cidrs": [cidr], "vlans": [vlan]},
            "registered_in_zone": True, "ciio": False,
        })
    doc["entries"].append({
        "id": "E2E-EXPORT",
        "sector": {"en": "Cross-sector (e2e test)", "zh": "通用（测试）"},
        "scenario": {"en": "Customer identity export", "zh": "客户身份信息出境"},
        "data_nature": "personal_information",
        "category": {"en": "Customer identity records", "zh": "客户身份信息"},
        "description": "A customer export batch carrying resident ID numbers.",
        "match": {"dictionaries": ["kw_e2e_customer"], "any_of": ["cn_resident_id"]},
        "scale": {"unit": "any"},
        "destination_scope": {"countries": "any"},
        "mechanism": "security_assessment",
        "evidence": {"level": "counts_and_metadata", "retain_days": 1095},
    })
    if a.sni:
        doc["entries"].append({
            "id": "E2E-SNI",
            "sector": {"en": "Cross-sector (e2e test)", "zh": "通用（测试）"},
            "scenario": {"en": "Prohibited recipient service", "zh": "禁止的境外服务"},
            "data_nature": "core_data",
            "category": {"en": "Any transfer to a prohibited service", "zh": "向禁止服务的任何传输"},
            "description": "Every TLS or HTTP session naming the prohibited host.",
            "match": {"server_names": [BLOCKED_SNI]},
            "scale": {"unit": "any"},
            "destination_scope": {"countries": "any"},
            "mechanism": "prohibited",
            "evidence": {"level": "counts_and_metadata", "retain_days": 1095},
        })
    doc["filings"].append({
        "id": "FIL-E2E-0001",
        "type": "security_assessment_approval",
        "tenant": {"name": "Suzhou Example T-E2E-FILED Co., Ltd. (fictitious, e2e test)",
                   "uscc": "91320500EXAMPLE91A"},
        "authority": "Cyberspace Administration of China (国家互联网信息办公室)",
        "reference": "SAMPLE-SA-E2E-0001",
        "entries": ["E2E-EXPORT"],
        "destinations": ["DST-E2E-US"],
        "valid_from": "2025-10-01",
        "expires": "2028-09-30",
        "status": "active",
    })

    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "e2e-geo.csv"), "w", encoding="utf-8") as f:
        f.write(GEO)
    with open(os.path.join(a.outdir, "e2e-list.yaml"), "w", encoding="utf-8") as f:
        f.write("# Generated by tests/e2e_enforce/make_test_list.py from the sample list.\n")
        yaml.safe_dump(doc, f, allow_unicode=True, sort_keys=False, width=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
