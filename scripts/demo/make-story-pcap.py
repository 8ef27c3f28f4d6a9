#!/usr/bin/env python3
"""Write the demo's capture: a day on the line of a zone whose tenants are those of
rules/examples/sample-negative-list.yaml (all addresses from RFC 5737 / RFC 2544 ranges,
all personal data fictitious but checksum-valid). Python 3 standard library only; the
output is the same on every run.

  1  T-RETAIL   resolves crm.example.net (DNS)
  2  T-RETAIL   HTTPS to crm.example.net, its filed Singapore hub (judged on metadata)
  3  T-RETAIL   POSTs 60 loyalty members (mobiles, e-mails) to the Singapore hub:
                RETAIL-01, covered by its standard-contract filing FIL-2025-0002
  4  T-EXPRESS  POSTs 5 waybills with resident IDs to an address no filing names
  5  T-BIOTECH  POSTs 20 trial subjects' case report forms to its Swiss headquarters:
                PHARMA-01, covered by its security-assessment approval FIL-2025-0001
  6  T-BIOTECH  POSTs sequencing reads (FASTQ) to its Swiss headquarters: PHARMA-03,
                human genetic resources, needs a security assessment plus an HGR filing
  7  T-RETAIL   POSTs a document marked 绝密★ (state secret): GEN-01, prohibited
  8  192.0.2.10 (no tenant claims it) fetches a web page
  9  T-RETAIL   fetches a web page (nothing personal)

usage: make-story-pcap.py OUT.pcap
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("make_demo_pcap", os.path.join(HERE, "make-demo-pcap.py"))
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

RETAIL = "198.18.2.20"
EXPRESS = "198.18.5.10"
BIOTECH = "198.18.1.30"
UNREGISTERED = "192.0.2.10"
RESOLVER = "198.51.100.53"
SG_HUB = "198.51.100.5"        # DST-SG-RETAIL-HUB (198.51.100.0/27)
NO_FILING = "192.0.2.200"
CH_PHARMA = "203.0.113.10"     # DST-EU-PHARMA-HQ (203.0.113.0/26)
FILES = "192.0.2.201"
WEB = "192.0.2.80"
OK = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"


def resident_id(i):
    """18-character resident ID with a valid ISO 7064 MOD 11-2 check character."""
    body = "320506" + "1990%02d%02d" % (1 + i % 12, 1 + i % 28) + "%03d" % (100 + i)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]


def mobile(i):
    return "1390512%04d" % (2000 + i)


def post(path, host, ctype, body):
    return (b"POST " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: " + ctype +
            b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def get(host):
    return b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nAccept: */*\r\n\r\n"


def page():
    html = b"<html><body>welcome</body></html>\n"
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(html) + html


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    cap = demo.Capture()
    demo.dns_exchange(cap, RETAIL, 40001, 0x5a01, "crm.example.net", SG_HUB)
    demo.tcp_session(cap, RETAIL, 52001, SG_HUB, 443, [
        (True, demo.client_hello("crm.example.net")),
        (False, demo.server_hello()),
        (True, b"\x14\x03\x03\x00\x01\x01" + b"\x17\x03\x03\x00\x30" + bytes(48)),
    ])
    members = [json.dumps({"member_id": "M%06d" % i, "tier": "gold", "mobile": mobile(i),
                           "email": "member%d@example.com" % i}) for i in range(60)]
    demo.tcp_session(cap, RETAIL, 52002, SG_HUB, 80, [
        (True, post(b"/sync/members", b"crm.example.net", b"application/x-ndjson",
                    ("\n".join(members) + "\n").encode())),
        (False, OK),
    ])
    waybills = [json.dumps({"waybill": "SF%08d" % i, "consignee": "Zhang San %d" % i, "mobile": mobile(100 + i),
                            "id_no": resident_id(i), "city": "Suzhou"}) for i in range(5)]
    demo.tcp_session(cap, EXPRESS, 52003, NO_FILING, 80, [
        (True, post(b"/api/v1/waybills", b"upload.example.invalid", b"application/x-ndjson",
                    ("\n".join(waybills) + "\n").encode())),
        (False, OK),
    ])
    crf = [json.dumps({"subject_id": "SUZ-%04d" % i, "受试者": "coded", "diagnosis": "C34.%d" % (i % 10),
                       "adverse_event": "none", "visit": 3}, ensure_ascii=False) for i in range(20)]
    demo.tcp_session(cap, BIOTECH, 52008, CH_PHARMA, 80, [
        (True, post(b"/trial/XB-2026-01/crf", b"clinical.example.com", b"application/x-ndjson",
                    ("\n".join(crf) + "\n").encode())),
        (False, OK),
    ])
    reads = "".join("@donor%03d/1 人类遗传资源 基因组\n%s\n+\n%s\n" % (i, "ACGTTGCA" * 12, "I" * 96) for i in range(4))
    demo.tcp_session(cap, BIOTECH, 52004, CH_PHARMA, 80, [
        (True, post(b"/upload/run-2026-11.fastq", b"clinical.example.com", b"text/plain", reads.encode())),
        (False, OK),
    ])
    doc = "绝密★启用前\n关于某项目的报告\n正文内容\n".encode("utf-8")
    demo.tcp_session(cap, RETAIL, 52005, FILES, 80, [
        (True, post(b"/docs", b"files.example.invalid", b"text/plain", doc)),
        (False, OK),
    ])
    demo.tcp_session(cap, UNREGISTERED, 52006, WEB, 80, [(True, get(b"www.example.com")), (False, page())])
    demo.tcp_session(cap, RETAIL, 52007, WEB, 80, [(True, get(b"www.example.com")), (False, page())])
    cap.write(argv[1])
    print(f"make-story-pcap: {len(cap.frames)} frames -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
