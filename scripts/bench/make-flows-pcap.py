#!/usr/bin/env python3
"""Writes a pcap of N synthetic flows, for measuring memory per idle tracked flow.

  make-flows-pcap.py --flows N --kind dns|udp OUT.pcap

Kinds:
  dns  one DNS query and its answer per flow (distinct client address:port). nDPI
       finishes classifying each flow (DNS with an answer), so what stays in memory
       afterwards is the idle flow entry alone.
  udp  one UDP datagram of opaque bytes per flow to a high port. nDPI has not given
       up after one packet, so each flow still holds its classification state.

Addresses: clients 198.18.0.0/15 (RFC 2544 benchmarking range), server 198.51.100.53.
Packets are 1 us apart, so no flow expires during the replay. Python stdlib only.
"""
import argparse
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def dns_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_query(txid: int, name: str) -> bytes:
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)


def dns_answer(txid: int, name: str, addr: bytes) -> bytes:
    q = dns_name(name) + struct.pack("!HH", 1, 1)
    a = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + addr
    return struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + q + a


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, required=True, help="number of flows (1..4000000)")
    ap.add_argument("--kind", choices=["dns", "udp"], default="dns")
    ap.add_argument("out", help="output pcap path")
    args = ap.parse_args()
    if not 1 <= args.flows <= 4_000_000:
        print("make-flows-pcap.py: --flows must be in 1..4000000", file=sys.stderr)
        return 2
    server = bytes([198, 51, 100, 53])
    ts_us = 1_700_000_000 * 1_000_000
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def put(frame: bytes) -> None:
            nonlocal ts_us
            f.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)))
            f.write(frame)
            ts_us += 1

        for i in range(args.flows):
            # 2^17 client addresses x 30,000 ports: every flow key distinct.
            host = i % (1 << 17)
            client = bytes([198, 18 + (host >> 16), (host >> 8) & 0xFF, host & 0xFF])
            sport = 20000 + i // (1 << 17)
            if args.kind == "dns":
                name = "h%d.example.com" % i
                txid = i & 0xFFFF
                put(ipv4_udp(client, server, sport, 53, dns_query(txid, name)))
                put(ipv4_udp(server, client, 53, sport, dns_answer(txid, name, bytes([192, 0, 2, 1]))))
            else:
                put(ipv4_udp(client, server, sport, 40000, bytes((i + k) & 0xFF for k in range(64))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
