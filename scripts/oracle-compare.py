#!/usr/bin/env python3
"""Compare an xborder flow log with the nDPI 4.2 oracle of the test corpus.

usage:
  oracle-compare.py [options] FLOWLOG PCAPNAME [PCAPNAME...]
  oracle-compare.py [options] --flow-log-dir DIR PCAPNAME... | all

FLOWLOG is a file of JSON flow records (one per line, as written by xborder-replay
--flow-log or xborder-dataplane). With --flow-log-dir, the log of each capture is
DIR/<PCAPNAME>.jsonl (one replay per capture, so flows of different captures never
mix). PCAPNAME is a file name under the corpus pcap/ folder (e.g. ndpi-dns.pcap);
"all" means every capture the oracle knows.

For every flow the oracle lists, the flow with the same key (VLAN id, IP protocol,
the two address:port endpoints in either order) is looked up in our log, and our
ndpi.protocol is compared with the oracle's label (e.g. "TLS.Google"). If our log
has several flows with that key (an idle timeout split it; the oracle never
expires flows), the earliest one is used. Flows we log that the oracle does not
list (non-first fragments, tunnel outer flows, 802.1ad tags...) are ignored.

options:
  --oracle-dir DIR   oracle folder (default: $XB_SHARED_DIR/corpus/expected/ndpi-4.2,
                     else ../shared/corpus/expected/ndpi-4.2 next to the repository)
  --min FRACTION     exit 1 when total agreement is below this (default 0.99)
  --show N           list at most N disagreements (default 40)
  --quiet            print only the total line
exit status: 0 agreement >= --min, 1 below it, 2 usage or input error.
"""
import argparse
import ipaddress
import json
import os
import sys


def die(msg):
    print(f"oracle-compare: {msg}", file=sys.stderr)
    sys.exit(2)


def canon_ip(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def key_of(vlan, proto, a_ip, a_port, b_ip, b_port):
    a = (canon_ip(a_ip), int(a_port or 0))
    b = (canon_ip(b_ip), int(b_port or 0))
    return (int(vlan or 0), int(proto), tuple(sorted([a, b])))


def eve_proto_number(rec):
    if "ip_proto" in rec:
        return int(rec["ip_proto"])
    names = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPv6-ICMP": 58, "SCTP": 132, "GRE": 47}
    p = rec.get("proto")
    if p in names:
        return names[p]
    try:
        return int(p)
    except (TypeError, ValueError):
        return -1


def load_ours(path):
    flows = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    die(f"{path}:{n}: not JSON: {e}")
                if rec.get("event_type") != "flow":
                    continue
                vlan = (rec.get("vlan") or [0])[-1]
                k = key_of(vlan, eve_proto_number(rec), rec.get("src_ip"), rec.get("src_port"),
                           rec.get("dest_ip"), rec.get("dest_port"))
                start = rec.get("flow", {}).get("start", "")
                label = rec.get("ndpi", {}).get("protocol", "")
                prev = flows.get(k)
                if prev is None or start < prev[0]:
                    flows[k] = (start, label)
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    return flows


def load_oracle(path):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    return out


def default_oracle_dir():
    shared = os.environ.get("XB_SHARED_DIR")
    if not shared:
        here = os.path.dirname(os.path.abspath(__file__))
        shared = os.path.join(here, "..", "..", "shared")
    return os.path.join(shared, "corpus", "expected", "ndpi-4.2")


def main():
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("-h", "--help", action="store_true")
    ap.add_argument("--oracle-dir")
    ap.add_argument("--flow-log-dir")
    ap.add_argument("--min", type=float, default=0.99)
    ap.add_argument("--show", type=int, default=40)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("args", nargs="*")
    try:
        a = ap.parse_args()
    except SystemExit:
        die("bad arguments (try --help)")
    if a.help:
        print(__doc__.strip())
        return 0
    oracle_dir = a.oracle_dir or default_oracle_dir()
    if not os.path.isdir(oracle_dir):
        die(f"oracle folder {oracle_dir} not found")
    args = list(a.args)
    single_log = None
    if not a.flow_log_dir:
        if len(args) < 2:
            die("need FLOWLOG and at least one PCAPNAME (try --help)")
        single_log = args.pop(0)
    pcaps = args
    if pcaps == ["all"]:
        pcaps = sorted(f[:-len(".jsonl")] for f in os.listdir(oracle_dir) if f.endswith(".jsonl"))
    if not pcaps:
        die("no PCAPNAME given (try --help)")

    ours_single = load_ours(single_log) if single_log else None
    total = agree = missing = 0
    disagreements = []
    for pcap in pcaps:
        opath = os.path.join(oracle_dir, pcap + ".jsonl")
        if not os.path.exists(opath):
            die(f"no oracle for {pcap} ({opath})")
        oracle = load_oracle(opath)
        ours = ours_single if ours_single is not None else load_ours(
            os.path.join(a.flow_log_dir, pcap + ".jsonl"))
        p_agree = p_missing = 0
        for o in oracle:
            k = key_of(o.get("vlan"), o["ip_proto"], o["src_ip"], o.get("src_port"), o["dst_ip"],
                       o.get("dst_port"))
            mine = ours.get(k)
            if mine is None:
                p_missing += 1
                disagreements.append((pcap, k, o["proto"], o.get("confidence", ""), "<no flow>"))
            elif mine[1] == o["proto"]:
                p_agree += 1
            else:
                disagreements.append((pcap, k, o["proto"], o.get("confidence", ""), mine[1]))
        total += len(oracle)
        agree += p_agree
        missing += p_missing
        if not a.quiet:
            pct = 100.0 * p_agree / len(oracle) if oracle else 100.0
            print(f"{pcap:60s} {p_agree:5d}/{len(oracle):<5d} {pct:6.2f}%"
                  + (f"  ({p_missing} missing)" if p_missing else ""))
    if not a.quiet and disagreements:
        print(f"\ndisagreements ({len(disagreements)}; showing {min(len(disagreements), a.show)}):")
        for pcap, k, oproto, conf, mine in disagreements[:a.show]:
            (ip1, p1), (ip2, p2) = k[2]
            print(f"  {pcap}: vlan={k[0]} proto={k[1]} {ip1}:{p1} <-> {ip2}:{p2}: "
                  f"oracle {oproto} ({conf}), ours {mine}")
    frac = agree / total if total else 1.0
    print(f"TOTAL agreement {agree}/{total} = {100.0 * frac:.2f}% "
          f"({missing} oracle flows missing; threshold {100.0 * a.min:.2f}%)")
    return 0 if frac >= a.min else 1


if __name__ == "__main__":
    sys.exit(main())
