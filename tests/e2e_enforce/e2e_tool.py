#!/usr/bin/env python3
"""Helpers of the enforcement end-to-end tests (tests/e2e_enforce). Standard library only.

usage:
  e2e_tool.py ids FIRST COUNT [--keyword] [--per-line]
      print a request body with COUNT checksum-valid resident ID numbers (GB 11643-1999),
      numbered FIRST..FIRST+COUNT-1 (the same numbers always give the same IDs); with
      --keyword the body names the batch "customer_export" (the test list's E2E-EXPORT keyword)
  e2e_tool.py check-id ID        exit 0 when ID has a valid GB 11643 check digit
  e2e_tool.py serve ADDR PORT ROOT LOG [--tls CERT KEY]
      HTTP(S) server: GET serves files under ROOT, POST answers 200 and appends one JSON line
      {"path", "bytes", "sha256", "ids"} per request body to LOG
  e2e_tool.py evidence BUNDLE.tar
      print every record of an exported evidence bundle as one JSON object per line
      (record frames decoded with a small protobuf wire-format reader: python3-protobuf
      is not installed, and the test needs only a few fields of record.proto)
  e2e_tool.py pcap-header FILE   write an empty pcap (header only)
  e2e_tool.py threshold-stream OUT --flows N --ids-per-flow K --gap-ms MS [--first F] [--start-port P]
                               [--slow-after IDS --slow-gap-ms MS2]
      write a paced pcap stream to OUT (a file or a FIFO): N TCP flows from the bulk tenant
      198.18.93.10 to 203.0.113.200:80, each an HTTP POST with K new resident IDs ending with
      FIN and RST, one flow every MS milliseconds (the sleep happens between flows, so a FIFO
      reader sees them paced), every MS2 milliseconds once IDS people have been sent;
      prints one JSON line per flow {"src_port", "ids_total", "written_unix_nanos"}
  e2e_tool.py reload-run FIFO CTL SOCKET A.pb B.pb BAD.pb --swaps N --gap-ms MS --out TIMELINE.json
      traffic and swaps at once: a thread writes flows to FIFO (a POST with 5 IDs and the
      E2E-EXPORT keyword, alternately from the filed and the unfiled tenant, one every MS ms,
      ending with FIN and RST) while the main thread runs `CTL --socket SOCKET reload A|B` N
      times, 250 ms apart, alternating, and
      once, half way, `reload BAD.pb` (must answer ERROR and leave the version in force);
      TIMELINE.json: the flows (src port, tenant, write time) and the swaps (request and reply
      times, version, switch_ms)
  e2e_tool.py pcap-stats FILE    {"frames": n, "rst": n (TCP RST not from the generator),
                                  "client_rst": n (the generator's RSTs), "tcp_ports": {dst port: n}}
"""
import hashlib
import json
import os
import re
import ssl
import struct
import sys
import tarfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
AREAS = ["110101", "310104", "320505", "440305", "510107"]  # real county codes
ID_RE = re.compile(rb"(?<![0-9A-Za-z])[1-8][0-9]{16}[0-9Xx](?![0-9A-Za-z])")


def check_digit(first17):
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def valid_id(s):
    return len(s) == 18 and s[:17].isdigit() and check_digit(s[:17]) == s[17].upper()


def resident_id(n):
    """The n-th test ID: area, birth date (1950-01-01 + days), sequence 000-999."""
    area = AREAS[n % len(AREAS)]
    n //= len(AREAS)
    seq = n % 1000
    days = n // 1000
    t = time.gmtime(-631152000 + days * 86400)  # 1950-01-01
    if t.tm_year > 2005:
        raise ValueError("test ID space exhausted")
    first17 = "%s%04d%02d%02d%03d" % (area, t.tm_year, t.tm_mon, t.tm_mday, seq)
    return first17 + check_digit(first17)


def ids_body(first, count, keyword):
    ids = [resident_id(i) for i in range(first, first + count)]
    head = '{"batch":"customer_export",' if keyword else '{"batch":"members",'
    return (head + '"citizen_id":[' + ",".join('"%s"' % i for i in ids) + "]}\n").encode()


# ---------------------------------------------------------------- HTTP(S) server
class Handler(SimpleHTTPRequestHandler):
    log_path = None
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = b""
        while len(body) < n:
            chunk = self.rfile.read(n - len(body))
            if not chunk:
                break
            body += chunk
        line = {"path": self.path, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                "ids": len(ID_RE.findall(body)), "client": self.client_address[0]}
        with Handler.lock, open(Handler.log_path, "a") as f:
            f.write(json.dumps(line) + "\n")
        reply = b"stored %d bytes\n" % len(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, fmt, *args):
        pass


def serve(addr, port, root, log, tls):
    Handler.log_path = os.path.abspath(log)
    os.chdir(root)
    httpd = ThreadingHTTPServer((addr, int(port)), Handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print("serving %s:%s" % (addr, port), flush=True)
    httpd.serve_forever()


# ---------------------------------------------------------------- evidence bundle reader
def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    """(number, wire type, value) of a protobuf message; value is int or bytes."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


TYPES = {1: "FLOW", 2: "ANCHOR", 3: "SYSTEM", 4: "EXPORT", 5: "KEY_ROTATION", 6: "RECOVERY", 7: "ALARM",
         8: "THRESHOLD", 9: "RULESET_ACTIVATION", 10: "APPLIANCE", 11: "GAP"}
# record.proto field numbers -> names (strings s, bytes as hex h, integers i).
BODIES = {
    10: ("flow", {1: "flow_id:h", 2: "start_unix_nanos:i", 3: "end_unix_nanos:i", 5: "dst_ip:ip", 6: "src_port:i",
                  7: "dst_port:i", 8: "ip_proto:i", 9: "dst_country:s", 10: "data_category:s",
                  11: "policy_decision:s", 12: "rule_id:s", 13: "bytes_out:i", 14: "bytes_in:i",
                  17: "app_protocol:s", 18: "filing_id:s", 19: "flow_seq:i", 21: "identifiers_count:i",
                  22: "ruleset_sha256:h", 23: "decision_basis:i", 24: "filing_miss:i", 25: "records:i",
                  26: "decided_unix_nanos:i", 27: "bytes_out_before_decision:i", 28: "bytes_in_before_decision:i",
                  29: "final:i"}),
    12: ("system", {1: "kind:s", 2: "detail:s"}),
    13: ("threshold", {1: "rule_id:s", 2: "data_category:s", 3: "metric:s", 4: "threshold:i", 5: "observed:i",
                       6: "window:s", 7: "dst_country:s"}),
    14: ("alert", {1: "kind:s", 2: "severity:s", 3: "detail:s", 4: "related_flow_id:h"}),
    15: ("ruleset", {1: "list_id:s", 2: "version:s", 3: "ruleset_sha256:h", 4: "previous_sha256:h",
                     5: "activated_by:s"}),
    16: ("appliance", {1: "kind:i", 2: "reason:s", 3: "software_version:s"}),
    20: ("gap", {1: "source:s", 2: "first_seq:i", 3: "last_seq:i", 4: "lost_count:i", 7: "worker:i"}),
}


def decode_body(names, b):
    out = {}
    for num, _, v in fields(b):
        if num not in names:
            continue
        name, kind = names[num].split(":")
        if kind == "s":
            out[name] = v.decode("utf-8", "replace")
        elif kind == "h":
            out[name] = v.hex()
        elif kind == "ip":
            out[name] = ".".join(str(x) for x in v) if len(v) == 4 else v.hex()
        else:
            out[name] = v
    return out


def decode_record(b):
    rec = {}
    for num, _, v in fields(b):
        if num == 2:
            rec["index"] = v
        elif num == 4:
            rec["observed_unix_nanos"] = v
        elif num == 5:
            rec["type"] = TYPES.get(v, str(v))
        elif num == 6:
            rec["tenant"] = v.decode("utf-8", "replace")
        elif num in BODIES:
            name, names = BODIES[num]
            rec[name] = decode_body(names, v)
    return rec


def bundle_records(path):
    with tarfile.open(path) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if "/records/" not in m.name or not m.name.endswith(".frames"):
                continue
            data = tar.extractfile(m).read()
            i = 0
            while i + 8 <= len(data):
                n = struct.unpack_from("<I", data, i)[0]
                if n == 0:
                    break
                yield decode_record(data[i + 8:i + 8 + n])
                i += 8 + ((n + 7) & ~7)


# ---------------------------------------------------------------- pcap writing
def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(s):
    return bytes(int(x) for x in s.split("."))


class Stream:
    MAC_CLIENT = bytes.fromhex("02000000e201")
    MAC_SERVER = bytes.fromhex("02000000e202")

    def __init__(self, f):
        self.f = f
        self.t = time.time()
        self.ip_id = 0
        self.count = 0
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def tcp(self, src, sport, dst, dport, seq, ack, flags, payload=b"", window=65535):
        seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0) + payload
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(seg))
        seg = seg[:16] + struct.pack("!H", csum(pseudo + seg)) + seg[18:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), self.ip_id, 0x4000, 64, 6, 0, ip4(src), ip4(dst))
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        frame = self.MAC_SERVER + self.MAC_CLIENT + b"\x08\x00" + hdr + seg
        self.count += 1
        self.t += 0.000001
        sec = int(self.t)
        self.f.write(struct.pack("<IIII", sec, int((self.t - sec) * 1e6), len(frame), len(frame)) + frame)

    def client_post(self, cli, cport, srv, body, abort=False):
        """The client's side of a POST: handshake ACKs are the client's own (the server's
        packets are not in this stream: only the inside port receives). With abort, a RST
        (window CLIENT_RST_WINDOW, to tell it from the gateway's) ends the flow, so the
        gateway's flow table and inspection slots free it after tcp_closed."""
        SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04
        req = (b"POST /upload HTTP/1.1\r\nHost: upload.example.com\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
        c, s = 1000, 7000
        self.tcp(cli, cport, srv, 80, c, 0, SYN)
        c += 1
        s += 1
        self.tcp(cli, cport, srv, 80, c, s, ACK)
        for off in range(0, len(req), 1400):
            chunk = req[off:off + 1400]
            self.tcp(cli, cport, srv, 80, c, s, PSH | ACK, chunk)
            c += len(chunk)
        self.tcp(cli, cport, srv, 80, c, s, FIN | ACK)
        if abort:
            self.tcp(cli, cport, srv, 80, c + 1, s, RST | ACK, window=CLIENT_RST_WINDOW)


CLIENT_RST_WINDOW = 0x1234


class PacedWriter:
    """A pcap Stream whose frames reach the file (or FIFO) one flow at a time."""

    def __init__(self, path):
        self.raw = open(path, "wb", buffering=0)
        self.buf = []
        self.stream = Stream(self)
        self.flush()

    @property
    def frames(self):
        return self.stream.count

    def write(self, b):
        self.buf.append(b)

    def flush(self):
        """Writes the buffered frames; returns the time before the write (a lower bound of
        when the reader can see them, even when the write blocks on a full FIFO)."""
        t = time.time_ns()
        self.raw.write(b"".join(self.buf))
        self.buf.clear()
        return t

    def close(self):
        self.raw.close()


def threshold_stream(out, flows, per_flow, gap_ms, first, start_port, slow_after, slow_gap_ms):
    w = PacedWriter(out)
    for k in range(flows):
        if slow_after and k * per_flow >= slow_after:
            gap_ms = slow_gap_ms
        body = ids_body(first + k * per_flow, per_flow, keyword=False)
        w.stream.t = time.time()
        w.stream.client_post("198.18.93.10", start_port + k, "203.0.113.200", body, abort=True)
        t = w.flush()
        print(json.dumps({"src_port": start_port + k, "ids_total": (k + 1) * per_flow, "written_unix_nanos": t}),
              flush=True)
        if gap_ms:
            time.sleep(gap_ms / 1000.0)
    w.close()


def reload_run(fifo, ctl, sock, ruleset_a, ruleset_b, bad, swaps, gap_ms, out):
    import subprocess
    w = PacedWriter(fifo)
    flows = []
    done = threading.Event()
    tenants = [("198.18.91.10", "T-E2E-FILED"), ("198.18.92.10", "T-E2E-UNFILED")]

    def traffic():
        k = 0
        tail = None
        while True:
            if done.is_set():
                tail = tail if tail is not None else k + 20  # a few flows after the last swap
                if k >= tail:
                    break
            src, tenant = tenants[k % 2]
            port = 20000 + k
            w.stream.t = time.time()
            w.stream.client_post(src, port, "203.0.113.200", ids_body(k * 5, 5, keyword=True), abort=True)
            frames_before = w.frames
            t = w.flush()
            flows.append({"src_port": port, "tenant": tenant, "written_unix_nanos": t,
                          "frames": w.frames - frames_before})
            k += 1
            time.sleep(gap_ms / 1000.0)
        w.close()

    th = threading.Thread(target=traffic)
    th.start()
    out_swaps, bad_reload = [], {}

    def ctl_cmd(*args):
        t0 = time.time_ns()
        p = subprocess.run([ctl, "--socket", sock, *args], capture_output=True, text=True, timeout=30)
        return t0, time.time_ns(), p.returncode, (p.stdout + p.stderr).strip()

    initial = None
    for _ in range(1200):  # the control socket comes up after EAL and the ruleset load (up to 60 s)
        _, _, rc, text = ctl_cmd("status")
        if rc == 0:
            initial = text
            break
        time.sleep(0.05)

    for i in range(swaps):
        if i == swaps // 2:
            t0, t1, rc, text = ctl_cmd("reload", bad)
            _, _, src, stext = ctl_cmd("status")
            bad_reload = {"rc": rc, "reply": text, "status_after": stext, "status_rc": src}
        path = ruleset_b if i % 2 == 0 else ruleset_a
        t0, t1, rc, text = ctl_cmd("reload", path)
        f = text.split()
        rec = {"request_unix_nanos": t0, "reply_unix_nanos": t1, "rc": rc, "reply": text, "path": path}
        if rc == 0 and len(f) >= 4 and f[0] == "OK" and f[1] == "version":
            rec["version"] = f[2]
            if "switch_ms" in f:
                rec["switch_ms"] = float(f[f.index("switch_ms") + 1])
        out_swaps.append(rec)
        time.sleep(0.25)  # room between swaps where only one version can be in force
    done.set()
    th.join()
    with open(out, "w") as f:
        json.dump({"flows": flows, "swaps": out_swaps, "bad_reload": bad_reload, "frames": w.frames,
                   "initial_status": initial}, f)


def pcap_stats(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return {"frames": 0, "rst": 0, "client_rst": 0, "tcp_ports": {}}
    magic = struct.unpack_from("<I", data, 0)[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    i, frames, rst, client_rst, ports = 24, 0, 0, 0, {}
    while i + 16 <= len(data):
        incl = struct.unpack_from(end + "IIII", data, i)[2]
        pkt = data[i + 16:i + 16 + incl]
        i += 16 + incl
        frames += 1
        if len(pkt) >= 34 and pkt[12:14] == b"\x08\x00" and pkt[23] == 6:
            ihl = (pkt[14] & 15) * 4
            tcp = pkt[14 + ihl:]
            if len(tcp) >= 14:
                if tcp[13] & 0x04:
                    if struct.unpack_from("!H", tcp, 14)[0] == CLIENT_RST_WINDOW:
                        client_rst += 1
                    else:
                        rst += 1
                dport = struct.unpack_from("!H", tcp, 2)[0]
                ports[dport] = ports.get(dport, 0) + 1
    return {"frames": frames, "rst": rst, "client_rst": client_rst, "tcp_ports": ports}


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    cmd, args = argv[1], argv[2:]
    if cmd == "ids":
        sys.stdout.buffer.write(ids_body(int(args[0]), int(args[1]), "--keyword" in args))
    elif cmd == "check-id":
        return 0 if valid_id(args[0]) else 1
    elif cmd == "serve":
        tls = args[args.index("--tls") + 1:args.index("--tls") + 3] if "--tls" in args else None
        serve(args[0], args[1], args[2], args[3], tls)
    elif cmd == "evidence":
        for r in bundle_records(args[0]):
            print(json.dumps(r, sort_keys=True))
    elif cmd == "pcap-header":
        with open(args[0], "wb") as f:
            Stream(f)
    elif cmd == "pcap-stats":
        print(json.dumps(pcap_stats(args[0])))
    elif cmd == "reload-run":
        opt = {"--swaps": "100", "--gap-ms": "5", "--out": "timeline.json"}
        for i in range(6, len(args), 2):
            opt[args[i]] = args[i + 1]
        reload_run(*args[:6], int(opt["--swaps"]), float(opt["--gap-ms"]), opt["--out"])
    elif cmd == "threshold-stream":
        opt = {"--flows": 100, "--ids-per-flow": 1000, "--gap-ms": 0, "--first": 0, "--start-port": 20000,
               "--slow-after": 0, "--slow-gap-ms": 0}
        for i in range(1, len(args), 2):
            opt[args[i]] = int(args[i + 1])
        threshold_stream(args[0], opt["--flows"], opt["--ids-per-flow"], opt["--gap-ms"], opt["--first"],
                         opt["--start-port"], opt["--slow-after"], opt["--slow-gap-ms"])
    else:
        print("e2e_tool.py: unknown command %r (try --help)" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
