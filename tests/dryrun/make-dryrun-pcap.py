#!/usr/bin/env python3
"""Write the dry run's test capture (Python 3 stdlib only; same bytes on every run).

Flows, all on 2026-01-01 (UTC), addresses from the sample negative list:
  a) T-EXPRESS 198.18.5.10 POSTs 5 JSON Lines waybills (checksum-valid resident IDs and
     mobile numbers) to 192.0.2.200:80, a destination no filing names
  b) the same upload to 203.0.113.130:80, DST-US-LOGISTICS, which FIL-2025-0005 covers
  c) T-RETAIL 198.18.2.20 opens TLS to 198.51.100.200:443 with SNI crm.example.net
     (a filed destination's name at an address outside its CIDRs): metadata only
  d) T-RETAIL 198.18.2.20 GETs /index.html from 192.0.2.80:80 (no personal data)
  e) T-RETAIL 198.18.2.20 POSTs a document marked 绝密★ to 192.0.2.201:80 (prohibited)

usage: make-dryrun-pcap.py OUT.pcap
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "..", "scripts", "demo", "make-demo-pcap.py")
_spec = importlib.util.spec_from_file_location("make_demo_pcap", DEMO)
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

EXPRESS = "198.18.5.10"
RETAIL = "198.18.2.20"
NO_FILING = "192.0.2.200"
LOGISTICS = "203.0.113.130"
SNI_ADDR = "198.51.100.200"
BENIGN = "192.0.2.80"
RECORDS = 5


def resident_id(i):
    """18-character resident ID with a valid ISO 7064 MOD 11-2 check character."""
    body = "320506" + "1990%02d%02d" % (1 + i % 12, 1 + i % 28) + "%03d" % (100 + i)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[s % 11]


def mobile(i):
    return "1380013%04d" % (1000 + i)


def waybills():
    lines = []
    for i in range(RECORDS):
        lines.append(json.dumps({"waybill": "SF%08d" % i, "consignee": "Zhang San %d" % i,
                                 "mobile": mobile(i), "id_no": resident_id(i),
                                 "city": "Suzhou"}))
    return ("\n".join(lines) + "\n").encode()


def post(host, body):
    return (b"POST /api/v1/waybills HTTP/1.1\r\nHost: " + host.encode() +
            b"\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    cap = demo.Capture()
    body = waybills()
    ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    demo.tcp_session(cap, EXPRESS, 51001, NO_FILING, 80,
                     [(True, post("upload.example.invalid", body)), (False, ok)])
    demo.tcp_session(cap, EXPRESS, 51002, LOGISTICS, 80,
                     [(True, post("track.example.net", body)), (False, ok)])
    demo.tcp_session(cap, RETAIL, 51003, SNI_ADDR, 443, [
        (True, demo.client_hello("crm.example.net")),
        (False, demo.server_hello()),
        (True, b"\x17\x03\x03\x00\x30" + bytes(48)),
    ])
    page = b"<html><body>hello</body></html>\n"
    demo.tcp_session(cap, RETAIL, 51004, BENIGN, 80, [
        (True, b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(page)
         + page),
    ])
    doc = "绝密★启用前\n关于某项目的报告\n正文内容\n".encode("utf-8")
    demo.tcp_session(cap, RETAIL, 51005, "192.0.2.201", 80, [
        (True, b"POST /docs HTTP/1.1\r\nHost: files.example.invalid\r\nContent-Type: text/plain\r\n"
               b"Content-Length: %d\r\n\r\n" % len(doc) + doc),
        (False, ok),
    ])
    cap.write(argv[1])
    print(f"make-dryrun-pcap: {len(cap.frames)} frames -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
