#!/usr/bin/env python3
"""Checks of enforce_diskfull_test.sh on one run's directory (standard library only).

usage: diskfull_check.py open|closed OUTDIR

OUTDIR holds drive.json (diskfull_drive.py), stdout (the app's console), records.jsonl
(e2e_tool.py evidence of the exported bundle), flows.json (flow log) and
to-outside.pcap (what crossed the gateway). Prints one line per check; exit 1 if any
failed.
"""
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e_enforce"))
import e2e_tool  # noqa: E402

SLACK_NS = 200_000_000  # the workers' clock is re-anchored to the wall clock every second; a loaded VM


def posts_out(path):
    """Source ports of the flows whose POST reached the outside port."""
    data = open(path, "rb").read()
    ports, i = set(), 24
    while i + 16 <= len(data):
        n = struct.unpack_from("<I", data, i + 8)[0]
        f = data[i + 16:i + 16 + n]
        i += 16 + n
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        ihl = (f[14] & 15) * 4
        t = f[14 + ihl:]
        if t[(t[12] >> 4) * 4:].startswith(b"POST"):
            ports.add(struct.unpack_from("!H", t, 0)[0])
    return ports


def main():
    policy, out = sys.argv[1], sys.argv[2]
    name = os.path.basename(os.path.normpath(out))
    bad = []

    def check(ok, what):
        print(("ok: " if ok else "FAIL: ") + name + ": " + what)
        if not ok:
            bad.append(what)

    drive = json.load(open(os.path.join(out, "drive.json")))
    ph = drive["phases"]
    ports = {name: [f["src_port"] for f in p["flows"] if f["tenant"] == "T-E2E-FILED"] for name, p in ph.items()}
    after = ports.get("after", [])  # none when the app was stopped right after space came back
    unfiled = [f["src_port"] for p in ph.values() for f in p["flows"] if f["tenant"] == "T-E2E-UNFILED"]

    # Console at exit: every event submitted was written, lost in the ring, or lost at the disk.
    stats = re.findall(r"evidence events (\d+) lost (\d+) written (\d+) gap-records (\d+) lost-disk (\d+) "
                       r"fail-closed (\d+)", open(os.path.join(out, "stdout")).read())
    check(bool(stats), "console has the enforce line")
    if not stats:
        return 1
    events, lost_ring, written, gap_recs, lost_disk, fail_closed = map(int, stats[-1])
    check(events == written + lost_ring + lost_disk,
          f"events {events} = written {written} + lost in ring {lost_ring} + lost at the disk {lost_disk}")
    check(lost_disk > 0 and lost_ring == 0, f"records lost at the disk ({lost_disk}), none in the ring ({lost_ring})")

    # Prometheus as the driver saw it.
    full_m = ph["full"]["caught_up_metrics"]
    check(full_m["xborder_evidence_writer_healthy"] == 0 and full_m["xborder_evidence_lost_disk_total"] > 0,
          "while full: writer unhealthy, lost-disk counted (%d)" % full_m["xborder_evidence_lost_disk_total"])
    if after:
        reopened = ph["free"]["reopened_seen_metrics"]
        check(reopened["xborder_evidence_log_reopens_total"] >= 1,
              "xborder_evidence_log_reopens_total %d" % reopened["xborder_evidence_log_reopens_total"])

    # The bundle.
    recs = [json.loads(l) for l in open(os.path.join(out, "records.jsonl"))]
    flows = [r for r in recs if r.get("type") == "FLOW"]
    check(len(flows) == written, f"{len(flows)} FLOW records in the bundle, {written} written per the console")
    appl = [r for r in recs if r.get("type") == "APPLIANCE"]
    check(len(appl) == 2, f"APPLIANCE start and stop ({len(appl)})")
    gaps = [r for r in recs if r.get("type") == "GAP" and r["gap"].get("source", "").startswith("disk-full worker=")]
    check(len(gaps) >= 1, f"{len(gaps)} disk-full GAP record(s)")
    if gaps:
        covered = sum(g["gap"].get("lost_count", 0) for g in gaps)
        check(covered == lost_disk, f"GAP records cover {covered} lost events, lost-disk {lost_disk}")
        span = [tuple(int(x) for x in re.findall(r"_unix_nanos=(-?\d+)", g["gap"]["source"])) for g in gaps]
        frm, to = min(s[0] for s in span), max(s[1] for s in span)
        seen_full = ph["fill"]["unhealthy_seen_unix_nanos"]
        last_full = max(f["written_unix_nanos"] for f in ph["full"]["flows"])
        # The driver saw every event taken (so every loss made) before it deleted the filler.
        freed = ph["free"]["filler_removed_unix_nanos"]
        check(frm <= seen_full + SLACK_NS and last_full - SLACK_NS <= to <= freed + SLACK_NS,
              f"GAP spans {frm}..{to}: the first loss before the writer was seen unhealthy ({seen_full}), "
              f"the last after the full phase's last flow ({last_full}), before space came back ({freed})")
        gap_at = min(g["index"] for g in gaps)
        stops = [r["index"] for r in appl if r["appliance"].get("kind") == 2]
        check(len(stops) == 1 and stops[0] > gap_at, "the APPLIANCE stop record follows the GAP")
        first = [r["index"] for r in flows if r["flow"].get("src_port") == ports["fill"][0] and not r["flow"].get("final")]
        check(len(first) == 1 and first[0] < gap_at, "the first flow's decision record precedes the GAP")
        decided = {r["flow"].get("src_port"): r["index"] for r in flows if not r["flow"].get("final")}
        if after:
            check(all(p in decided and decided[p] > gap_at for p in after),
                  f"every flow after the reopen has its decision record after the GAP ({len(after)} flows)")
        lost_decisions = [p for p in ports["full"] + unfiled if p in decided]
        check(not lost_decisions, f"no decision record of the full phase (lost, counted in the GAP): {lost_decisions}")
    # Flows still open at stop are flushed after the log took records again (the reopen
    # comes before the final flush), so each has its final record; none is lost to a GAP.
    fl_log = [json.loads(l) for l in open(os.path.join(out, "flows.json"))]
    at_stop = {f["src_port"] for f in fl_log if f.get("flow", {}).get("reason") == "shutdown"}
    finals_in = {r["flow"].get("src_port") for r in flows if r["flow"].get("final")}
    check(at_stop and at_stop <= finals_in,
          f"every flow flushed at stop ({len(at_stop)}) has its final record "
          f"(missing: {sorted(at_stop - finals_in)[:8]})")
    control_gaps = [r for r in recs if r.get("type") == "GAP" and "control" in r["gap"].get("source", "")]
    print(f"info: {name}: {len(recs)} records, {len(flows)} FLOW, {len(gaps)} disk-full GAP, "
          f"{len(control_gaps)} control GAP; fill {len(ports['fill'])} flows, full {len(ports['full'])}+1, "
          f"after {len(after)}")

    # What crossed the gateway.
    crossed = posts_out(os.path.join(out, "to-outside.pcap"))
    check(not set(unfiled) & crossed, "the unfiled flow is blocked while the disk is full")
    if after:
        check(set(after) <= crossed, "every flow after the reopen crossed")
    blocked_filed = [p for p in ports["fill"] + ports["full"] if p not in crossed]
    if policy == "open":
        check(set(ports["full"]) <= crossed, "fail-open: every filed flow of the full phase crossed")
        check(not blocked_filed and fail_closed == 0, f"fail-open: no fail-closed block ({fail_closed})")
    else:
        check(not set(ports["full"]) & crossed, "fail-closed: no filed flow of the full phase crossed")
        # A fill-phase flow decided after the failed batch but before the driver saw it
        # may be blocked too: the counter must match what did not cross, exactly.
        check(fail_closed == len(blocked_filed), f"fail-closed: counter {fail_closed} = filed flows that did not "
              f"cross ({len(blocked_filed)})")
        # Their final records, when written after the reopen (at stop, here: a flow's end
        # is noticed at a later packet or at shutdown), say why they were blocked.
        finals = [r["flow"] for r in flows if r["flow"].get("src_port") in ports["full"] and r["flow"].get("final")]
        check(all(f.get("policy_decision") == "block" and f.get("data_category", "").startswith("fail-closed")
                  for f in finals), f"fail-closed: the full phase's final records ({len(finals)}) say block, fail-closed")
        fl = [json.loads(l) for l in open(os.path.join(out, "flows.json"))]
        marked = {f.get("src_port") for f in fl if f.get("verdict", {}).get("fail_closed") or f.get("fail_closed")}
        check(set(blocked_filed) <= marked, "fail-closed: the flow log marks every such flow fail_closed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
