#!/usr/bin/env python3
"""Write a small demo capture: DNS, HTTP, TLS (ClientHello with SNI), SSH, NTP and ICMP
flows between documentation-range addresses (RFC 5737), with correct IPv4, TCP and UDP
checksums. Python 3 standard library only; the output is the same on every run.

usage: make-demo-pcap.py OUT.pcap
"""
import struct
import sys

CLIENT = "192.0.2.10"       # inside (the zone)
CLIENT2 = "192.0.2.11"
RESOLVER = "198.51.100.53"  # outside (across the line)
WEB = "203.0.113.80"
TLS_SERVER = "203.0.113.43"
SSH_SERVER = "198.51.100.22"
NTP_SERVER = "198.51.100.123"
MAC_IN = bytes.fromhex("020000000a01")
MAC_OUT = bytes.fromhex("020000000b01")


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Capture:
    def __init__(self):
        self.frames = []
        self.t = 1_767_225_600.0  # 2026-01-01T00:00:00Z
        self.ip_id = 1

    def frame(self, src, dst, proto, l4):
        self.ip_id += 1
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), self.ip_id, 0x4000, 64,
                          proto, 0, ip4(src), ip4(dst))
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        inside = src.startswith("192.0.2.")
        eth = (MAC_OUT + MAC_IN if inside else MAC_IN + MAC_OUT) + b"\x08\x00"
        self.t += 0.0005
        self.frames.append((self.t, eth + hdr + l4))

    def l4sum(self, src, dst, proto, seg):
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(seg))
        return csum(pseudo + seg)

    def udp(self, src, sport, dst, dport, payload):
        seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        c = self.l4sum(src, dst, 17, seg) or 0xFFFF
        self.frame(src, dst, 17, seg[:6] + struct.pack("!H", c) + seg[8:])

    def tcp(self, src, sport, dst, dport, seq, ack, flags, payload=b""):
        seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        seg += payload
        c = self.l4sum(src, dst, 6, seg)
        self.frame(src, dst, 6, seg[:16] + struct.pack("!H", c) + seg[18:])

    def icmp_echo(self, src, dst, ident, seq, reply):
        body = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + b"xborder-demo" * 4
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        self.frame(src, dst, 1, body)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, data in self.frames:
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)


def tcp_session(cap, cli, cport, srv, sport, exchanges):
    """Handshake, then (direction, payload) exchanges, each acknowledged, then FIN both ways."""
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    c, s = 1000, 5000
    cap.tcp(cli, cport, srv, sport, c, 0, SYN)
    cap.tcp(srv, sport, cli, cport, s, c + 1, SYN | ACK)
    c += 1
    s += 1
    cap.tcp(cli, cport, srv, sport, c, s, ACK)
    for to_server, data in exchanges:
        for off in range(0, len(data), 1400):
            chunk = data[off:off + 1400]
            if to_server:
                cap.tcp(cli, cport, srv, sport, c, s, PSH | ACK, chunk)
                c += len(chunk)
                cap.tcp(srv, sport, cli, cport, s, c, ACK)
            else:
                cap.tcp(srv, sport, cli, cport, s, c, PSH | ACK, chunk)
                s += len(chunk)
                cap.tcp(cli, cport, srv, sport, c, s, ACK)
    cap.tcp(cli, cport, srv, sport, c, s, FIN | ACK)
    cap.tcp(srv, sport, cli, cport, s, c + 1, FIN | ACK)
    cap.tcp(cli, cport, srv, sport, c + 1, s + 1, ACK)


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_exchange(cap, cli, cport, qid, name, answer):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)
    cap.udp(cli, cport, RESOLVER, 53, q)
    r = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)
    r += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ip4(answer)
    cap.udp(RESOLVER, 53, cli, cport, r)


def client_hello(sni):
    ext_sni = struct.pack("!HBH", len(sni) + 3, 0, len(sni)) + sni.encode()
    exts = struct.pack("!HH", 0, len(ext_sni)) + ext_sni
    groups = struct.pack("!HH", 4, 0x001d) + struct.pack("!H", 0x0017)
    exts += struct.pack("!HH", 10, len(groups)) + groups
    sigalgs = struct.pack("!H", 4) + struct.pack("!HH", 0x0403, 0x0804)
    exts += struct.pack("!HH", 13, len(sigalgs)) + sigalgs
    alpn = struct.pack("!H", 12) + b"\x02h2\x08http/1.1"
    exts += struct.pack("!HH", 16, len(alpn)) + alpn
    versions = b"\x04\x03\x04\x03\x03"
    exts += struct.pack("!HH", 43, len(versions)) + versions
    body = b"\x03\x03" + bytes(range(32)) + b"\x20" + bytes(range(32, 64))
    body += struct.pack("!H", 6) + struct.pack("!HHH", 0x1301, 0x1302, 0xC02F) + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def server_hello():
    body = b"\x03\x03" + bytes(range(100, 132)) + b"\x20" + bytes(range(32, 64))
    body += struct.pack("!H", 0x1301) + b"\x00"
    ext = struct.pack("!HHH", 43, 2, 0x0304)
    body += struct.pack("!H", len(ext)) + ext
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    ccs = b"\x14\x03\x03\x00\x01\x01"
    app = b"\x17\x03\x03" + struct.pack("!H", 64) + bytes(64)
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs + ccs + app


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    cap = Capture()
    dns_exchange(cap, CLIENT, 40001, 0x1a2b, "www.example.com", WEB)
    dns_exchange(cap, CLIENT2, 40002, 0x3c4d, "secure.example.com", TLS_SERVER)
    body = b"<html><body>xborder demo: " + b"cross-border data line " * 120 + b"</body></html>\n"
    tcp_session(cap, CLIENT, 50010, WEB, 80, [
        (True, b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
               b"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body),
    ])
    tcp_session(cap, CLIENT2, 50020, TLS_SERVER, 443, [
        (True, client_hello("secure.example.com")),
        (False, server_hello()),
        (True, b"\x14\x03\x03\x00\x01\x01" + b"\x17\x03\x03\x00\x30" + bytes(48)),
        (False, b"\x17\x03\x03\x01\x00" + bytes(256)),
    ])
    tcp_session(cap, CLIENT, 50030, SSH_SERVER, 22, [
        (False, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
        (True, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
    ])
    ntp = bytes([0x23]) + bytes(47)
    cap.udp(CLIENT, 40123, NTP_SERVER, 123, ntp)
    cap.udp(NTP_SERVER, 123, CLIENT, 40123, bytes([0x24, 2, 6, 0xEC]) + bytes(44))
    for seq in range(1, 4):
        cap.icmp_echo(CLIENT, WEB, 0x77, seq, reply=False)
        cap.icmp_echo(WEB, CLIENT, 0x77, seq, reply=True)
    cap.write(argv[1])
    print(f"make-demo-pcap: {len(cap.frames)} frames -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
