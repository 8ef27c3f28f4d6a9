#!/usr/bin/env python3
"""Print the demo's decisions from xborder-dataplane's flow log and check what crossed.

usage: show-decisions.py FLOWS.json IN.pcap TO-OUTSIDE.pcap TO-INSIDE.pcap

Checks (exit 1 when one fails):
  - every frame of a flow that was not blocked or held crossed, byte for byte;
  - no frame of a blocked or held flow crossed after its decision, and each such TCP
    flow got a reset on both sides (toward the server outside, toward the client inside);
  - at least one flow was blocked and one was recorded under a filing.
"""
import json
import struct
import sys
from collections import Counter


def frames(path):
    d = open(path, "rb").read()
    off = 24
    while off + 16 <= len(d):
        caplen = struct.unpack("<I", d[off + 8:off + 12])[0]
        yield d[off + 16:off + 16 + caplen]
        off += 16 + caplen


def five_tuple(f):
    """(src, sport, dst, dport, proto, tcp flags, payload bytes) of an untagged IPv4 frame."""
    if len(f) < 34 or f[12:14] != b"\x08\x00":
        return None
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    src = ".".join(map(str, ip[12:16]))
    dst = ".".join(map(str, ip[16:20]))
    total = struct.unpack("!H", ip[2:4])[0]
    if ip[9] == 6:
        sp, dp = struct.unpack("!HH", ip[ihl:ihl + 4])
        return src, sp, dst, dp, 6, ip[ihl + 13], total - ihl - (ip[ihl + 12] >> 4) * 4
    if ip[9] == 17:
        sp, dp = struct.unpack("!HH", ip[ihl:ihl + 4])
        return src, sp, dst, dp, 17, 0, total - ihl - 8
    return src, None, dst, None, ip[9], 0, total - ihl


def main(argv):
    if len(argv) != 5 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    rows = [json.loads(line) for line in open(argv[1])]
    rows.sort(key=lambda r: (r.get("src_port") or 0, r["flow"]["start"]))  # story order
    print(f"{'client -> server':40} {'app':10} {'tenant':11} {'decision':8} {'entry':10} {'filing':14} "
          f"{'before':>7}  reason")
    stopped = set()
    blocked = filed = 0
    for r in rows:
        v = r.get("verdict", {})
        action = v.get("action", "-")
        ep = lambda ip, port: f"{ip}:{port}" if port is not None else ip
        who = f"{ep(r['src_ip'], r.get('src_port'))} -> {ep(r['dest_ip'], r.get('dest_port'))}"
        app = r.get("app_proto") or r.get("ndpi", {}).get("protocol", "?")
        before = v.get("bytes_before_decision", {})
        crossed = before.get("out", 0) + before.get("in", 0)
        reason = v.get("reason", "")
        if len(reason) > 90:
            reason = reason[:87] + "..."
        print(f"{who:40} {str(app)[:10]:10} {r.get('tenant', '-') or '-':11} {action:8} "
              f"{v.get('entry_id', '') or '-':10} {v.get('filing_id', '') or '-':14} {crossed:7}  {reason}")
        if action in ("block", "hold"):
            stopped.add((r["src_ip"], r.get("src_port"), r["dest_ip"], r.get("dest_port")))
            blocked += action == "block"
        if v.get("filing_id"):
            filed += 1
    print(f"{len(rows)} flows; 'before' = bytes that crossed before the decision (stated in the evidence record)")

    def flow_of(t):
        if t is None:
            return None
        a, b = (t[0], t[1], t[2], t[3]), (t[2], t[3], t[0], t[1])
        return a if a in stopped else b if b in stopped else None

    sent = list(frames(argv[2]))
    outside = list(frames(argv[3]))
    inside = list(frames(argv[4]))
    problems = []
    passing = Counter(f for f in sent if flow_of(five_tuple(f)) is None)
    missing = passing - Counter(outside)
    if missing:
        problems.append(f"{sum(missing.values())} frames of allowed flows did not cross")
    for key in sorted(stopped, key=str):
        if key[1] is None:
            continue
        to_server = [five_tuple(f) for f in outside if flow_of(five_tuple(f)) == key]
        to_client = [five_tuple(f) for f in inside if flow_of(five_tuple(f)) == key]
        if not any(t[5] & 0x04 and t[0] == key[0] for t in to_server):
            problems.append(f"{key}: no reset toward the server")
        if not any(t[5] & 0x04 and t[2] == key[0] for t in to_client):
            problems.append(f"{key}: no reset toward the client")
        # The servers here answer after the request that decides, so none of an answer's
        # payload may cross.
        late = [t for t in to_server if not t[5] & 0x04 and t[0] == key[2] and t[6] > 0]
        if late:
            problems.append(f"{key}: the server's answer crossed after the decision")
    if blocked == 0:
        problems.append("no flow was blocked")
    if filed == 0:
        problems.append("no flow was recorded under a filing")
    if problems:
        for p in problems:
            print("MISMATCH:", p)
        return 1
    print(f"OK: {sum(passing.values())} frames of allowed flows crossed byte for byte; {len(stopped)} blocked or "
          f"held flows stopped at their decision, with a TCP reset sent to both ends")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
