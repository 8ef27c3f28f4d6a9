#!/usr/bin/env python3
"""Traffic driver of enforce_diskfull_test.sh: paces flows into xborder-dataplane's
rx_pcap FIFO and steps through the full-disk sequence, watching the app's Prometheus
counters (never fixed sleeps alone: every step waits on a condition, with a timeout).

usage: diskfull_drive.py FIFO PROM_PORT FILLER OUT.json [--phase-flows K] [--max-fill-flows N]
                         [--gap-ms MS] [--timeout S] [--stop-after-free 1] [--stop-while-full 1]

  fill   filed-tenant flows (T-E2E-FILED: a POST the filing FIL-E2E-0001 allows, so
         its decision needs a record) one every MS ms until xborder_evidence_writer_healthy
         drops to 0 (the log stopped intake: disk full);
  full   K filed flows and one unfiled flow (blocked by the list whatever the disk), then
         wait until the writer has taken every event (events = written + lost-disk +
         lost-ring) so their records are certainly lost;
  free   delete FILLER and wait for xborder_evidence_log_reopens_total >= 1 and a
         healthy writer again;
  after  K filed flows, then wait until the writer has written every event.
With --stop-while-full 1 it closes the FIFO after the full phase (the disk stays full).
With --stop-after-free 1 it closes the FIFO right after deleting FILLER (the test then
stops the app at once: the reopen happens at stop, or at the 5 s retry if that comes
first). Then the FIFO is closed (EOF). OUT.json: per phase the flows (src port, tenant, write
time), the times each condition was seen, and the counters scraped then.
Exit status 1 (with the reason on stderr) when a condition times out.
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e_enforce"))
import e2e_tool  # noqa: E402  (PacedWriter, Stream.client_post, ids_body)

FILED = "198.18.91.10"    # T-E2E-FILED (make_test_list.py): holds FIL-E2E-0001
UNFILED = "198.18.92.10"  # T-E2E-UNFILED: no filing, so E2E-EXPORT blocks
SERVER = "203.0.113.200"  # DST-E2E-US


def scrape(port):
    """Prometheus text as {name: summed value} plus {name{labels}: value}."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        key, _, val = line.rpartition(" ")
        try:
            v = float(val)
        except ValueError:
            continue
        m[key] = v
        name = key.split("{", 1)[0]
        if "{" in key:
            m[name] = m.get(name, 0) + v
    return m


class Driver:
    def __init__(self, fifo, port, gap_ms, timeout):
        self.port = port
        self.gap = gap_ms / 1000.0
        self.timeout = timeout
        self.w = e2e_tool.PacedWriter(fifo)  # blocks until the app opens the FIFO
        self.next_port = 30000
        self.next_id = 0
        self.out = {"phases": {}}

    def flow(self, phase, src, tenant):
        port = self.next_port
        self.next_port += 1
        self.w.stream.t = time.time()
        self.w.stream.client_post(src, port, SERVER, e2e_tool.ids_body(self.next_id, 5, keyword=True), abort=True)
        self.next_id += 5
        t = self.w.flush()
        self.out["phases"].setdefault(phase, {"flows": []})["flows"].append(
            {"src_port": port, "tenant": tenant, "written_unix_nanos": t})
        time.sleep(self.gap)

    def wait(self, what, cond, timeout=None):
        """Scrapes until cond(metrics) holds on two scrapes 100 ms apart; returns them."""
        deadline = time.time() + (timeout or self.timeout)
        held = None
        while time.time() < deadline:
            m = scrape(self.port)
            if m is not None and cond(m):
                if held is not None:
                    return m
                held = m
            else:
                held = None
            time.sleep(0.1)
        m = scrape(self.port) or {}
        sys.exit("diskfull_drive: timed out waiting for %s (last: %s)" % (what, json.dumps(
            {k: v for k, v in m.items() if k.startswith(("xborder_evidence", "xborder_fail", "xborder_port_rx"))})))

    def caught_up(self, m):
        """Every frame received and every submitted event taken by the writer."""
        rx = m.get("xborder_port_rx_packets_total", -1)
        events = m.get("xborder_evidence_events_total", -1)
        taken = (m.get("xborder_evidence_records_written_total", 0) + m.get("xborder_evidence_lost_disk_total", 0)
                 + m.get("xborder_evidence_events_lost_total", 0))
        return rx == self.w.frames and events == taken

    def finish(self, out_path):
        self.out["frames"] = self.w.frames
        self.w.close()  # EOF: the app's rx queue ends; the test stops it with SIGTERM
        with open(out_path, "w") as f:
            json.dump(self.out, f, indent=1)
        return 0

    def mark(self, phase, key, m):
        p = self.out["phases"].setdefault(phase, {"flows": []})
        p[key + "_unix_nanos"] = time.time_ns()
        p[key + "_metrics"] = {k: v for k, v in m.items() if k.startswith("xborder_") and "{" not in k}


def main(argv):
    if len(argv) < 5 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    fifo, port, filler, out_path = argv[1], int(argv[2]), argv[3], argv[4]
    opt = {"--phase-flows": 8, "--max-fill-flows": 600, "--gap-ms": 10, "--timeout": 60, "--stop-after-free": 0,
           "--stop-while-full": 0}
    for i in range(5, len(argv), 2):
        opt[argv[i]] = int(argv[i + 1])
    k = opt["--phase-flows"]
    d = Driver(fifo, port, opt["--gap-ms"], opt["--timeout"])
    # The app is up once Prometheus answers (EAL, ruleset load, evidence log open).
    m = d.wait("prometheus", lambda m: "xborder_evidence_writer_healthy" in m, timeout=120)
    if m["xborder_evidence_writer_healthy"] != 1:
        sys.exit("diskfull_drive: the writer is unhealthy before any traffic")

    # fill: until the log refuses a batch.
    for _ in range(opt["--max-fill-flows"]):
        d.flow("fill", FILED, "T-E2E-FILED")
        m = scrape(port)
        if m is not None and m.get("xborder_evidence_writer_healthy") == 0:
            break
    else:
        sys.exit("diskfull_drive: the writer stayed healthy after %d flows (disk never full)" % opt["--max-fill-flows"])
    d.mark("fill", "unhealthy_seen", m)

    # full: decisions while the log refuses.
    for _ in range(k):
        d.flow("full", FILED, "T-E2E-FILED")
    d.flow("full", UNFILED, "T-E2E-UNFILED")
    m = d.wait("the writer to take the full phase's events", lambda m: d.caught_up(m)
               and m.get("xborder_evidence_writer_healthy") == 0)
    d.mark("full", "caught_up", m)

    if opt["--stop-while-full"]:
        return d.finish(out_path)
    # free: space back, the app reopens the log on its own.
    os.remove(filler)
    d.mark("free", "filler_removed", m)
    if opt["--stop-after-free"]:
        return d.finish(out_path)
    m = d.wait("the log to reopen", lambda m: m.get("xborder_evidence_log_reopens_total", 0) >= 1
               and m.get("xborder_evidence_writer_healthy") == 1)
    d.mark("free", "reopened_seen", m)

    # after: recorded again.
    for _ in range(k):
        d.flow("after", FILED, "T-E2E-FILED")
    m = d.wait("the writer to take the last phase's events", lambda m: d.caught_up(m)
               and m.get("xborder_evidence_writer_healthy") == 1)
    d.mark("after", "caught_up", m)
    return d.finish(out_path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
