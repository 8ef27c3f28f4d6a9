#!/usr/bin/env python3
"""Writes a large negative list for the enforcement benchmark (scripts/bench/enforce.sh).

The sample list (rules/examples/sample-negative-list.yaml) is kept whole -- its detectors,
dictionaries, 24 entries, tenants, destinations and filings -- and scaled up with
generated tenants (one zone company per source /24 and VLAN), destinations abroad (one
recipient each, with CIDRs and domain names in several countries) and filings (a tenant
sending one to three of the sample's entries to one to three of the destinations, with
the filing types those entries accept). ENTRIES counts what the dataplane looks up:

    tenants + destination endpoints (CIDRs + domains) + filings = ENTRIES

split about 2 % tenants, 8 % filings, 90 % endpoints. The output is deterministic for a
given --seed. It loads and compiles with xborder-rulec like the sample list (the geo
table is the sample's, referenced by absolute path).

--claim-corpus adds a tenant owning the private address ranges (10/8, 172.16/12,
192.168/16, fd00::/8), so the shared corpus' clients are judged as that tenant's outbound
transfers instead of all falling under unknown_tenant_action (hold).
"""
import argparse
import ipaddress
import os
import random
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_BASE = os.path.join(REPO, "rules", "examples", "sample-negative-list.yaml")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
COUNTRIES = ["US", "SG", "DE", "JP", "GB", "FR", "HK", "KR", "NL", "CH", "AU", "CA", "IE", "SE", "IN"]
TLDS = ["com", "net", "org", "io", "de", "jp", "sg", "co.uk", "fr", "hk"]


def uscc(i):
    """18 characters of the USCC alphabet, unique per i (format only, like the sample)."""
    digits = []
    n = i
    for _ in range(9):
        digits.append(USCC_CHARS[n % len(USCC_CHARS)])
        n //= len(USCC_CHARS)
    return "91320500" + "".join(reversed(digits)) + "B"


def tenant_cidr(i):
    # 100.64.0.0/10 (shared address space): 16,384 /24s, one per generated tenant.
    return str(ipaddress.ip_network((int(ipaddress.ip_address("100.64.0.0")) + (i << 8), 24)))


def dest_cidr(i, k):
    # 11.0.0.0/8 onwards, one /28 per endpoint: a million before it runs out of 11-42/8.
    base = int(ipaddress.ip_address("11.0.0.0")) + ((i * 4 + k) << 4)
    return str(ipaddress.ip_network((base, 28)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=100000,
                    help="tenants + destination endpoints + filings to add (default 100000)")
    ap.add_argument("--base", default=DEFAULT_BASE, help="list to extend (default: the sample list)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--claim-corpus", action="store_true",
                    help="add a tenant owning the private ranges (the corpus' clients)")
    ap.add_argument("-o", "--output", required=True, help="YAML file to write")
    a = ap.parse_args()
    if a.entries != 0 and a.entries < 50:
        ap.error("--entries must be 0 (the base list as is) or at least 50")
    rnd = random.Random(a.seed)
    with open(a.base, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    geo = doc.get("geo_table")
    if geo and not os.path.isabs(geo):
        doc["geo_table"] = os.path.join(os.path.dirname(os.path.abspath(a.base)), geo)

    n_tenants = a.entries * 2 // 100 if a.entries else 0
    n_filings = a.entries * 8 // 100 if a.entries else 0
    n_endpoints = a.entries - n_tenants - n_filings
    n_dest = (n_endpoints + 1) // 2  # two endpoints per destination on average

    tenants = doc["tenants"]
    for i in range(n_tenants):
        tenants.append({
            "id": f"T-GEN-{i:05d}", "uscc": uscc(i), "name": f"Generated Zone Company {i} (fictitious)",
            "sources": {"cidrs": [tenant_cidr(i)], "vlans": [1000 + i % 3000]},
            "registered_in_zone": True, "ciio": i % 97 == 0,
        })
    if a.claim_corpus:
        tenants.append({
            "id": "T-CORPUS", "uscc": uscc(n_tenants), "name": "Corpus clients (benchmark tenant)",
            "sources": {"cidrs": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"]},
            "registered_in_zone": True, "ciio": False,
        })

    dests = doc["destinations"]
    left = n_endpoints
    gen_dests = []
    for i in range(n_dest):
        if left <= 0:
            break
        # Mostly one CIDR + one domain; some recipients have two CIDRs or two domains.
        shape = rnd.random()
        cidrs = [dest_cidr(i, 0)] + ([dest_cidr(i, 1)] if shape < 0.1 else [])
        name = f"r{i}.partner{i % 997}.example.{TLDS[i % len(TLDS)]}"
        fqdns = [name] + ([f"api.{name}"] if 0.1 <= shape < 0.2 else [])
        take = min(left, len(cidrs) + len(fqdns))
        eps = (cidrs + fqdns)[:take]
        left -= take
        did = f"DST-GEN-{i:06d}"
        dests[did] = {
            "recipient": f"Generated Recipient {i} (fictitious)",
            "country": COUNTRIES[rnd.randrange(len(COUNTRIES))],
            "endpoints": {"cidrs": [e for e in eps if "/" in e], "fqdns": [e for e in eps if "/" not in e]},
        }
        gen_dests.append(did)

    # Filing templates: the sample's filings (type and the entries it may cover).
    # (Linked records too: a usage record covers an entry through the filing it links.)
    templates = [(f["type"], f["entries"], f.get("linked_records")) for f in doc["filings"]]
    filings = doc["filings"]
    for i in range(n_filings if gen_dests else 0):
        ftype, entries, linked = templates[rnd.randrange(len(templates))]
        t = rnd.randrange(n_tenants)
        filings.append({
            "id": f"FIL-GEN-{i:06d}", "type": ftype,
            "tenant": {"name": f"Generated Zone Company {t} (fictitious)", "uscc": uscc(t)},
            "reference": f"GEN-{i:06d}",
            "entries": rnd.sample(entries, rnd.randint(1, len(entries))),
            "destinations": rnd.sample(gen_dests, min(len(gen_dests), rnd.randint(1, 3))),
            "caps": {"individuals_per_year": rnd.choice([50000, 100000, 300000, 600000]),
                     "sensitive": rnd.random() < 0.3},
            "valid_from": "2025-01-01", "expires": "2028-12-31", "status": "active",
        })
        if linked:
            filings[-1]["linked_records"] = [{"type": r["type"], "reference": f"{r['reference']}-G{i}"} for r in linked]

    doc["metadata"]["version"] = f"{doc['metadata']['version']}+bench{a.entries}"
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(f"# Generated by scripts/bench/make-big-list.py --entries {a.entries} --seed {a.seed}"
                f"{' --claim-corpus' if a.claim_corpus else ''} from {os.path.basename(a.base)}.\n")
        f.write(f"# {n_tenants} generated tenants, {len(gen_dests)} destinations "
                f"({n_endpoints} endpoints), {n_filings} filings.\n")
        yaml.dump(doc, f, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                  sort_keys=False, width=1000)
    print(f"make-big-list: {a.output}: {n_tenants} tenants, {len(gen_dests)} destinations, "
          f"{n_endpoints} endpoints, {n_filings} filings", file=sys.stderr)


if __name__ == "__main__":
    main()
