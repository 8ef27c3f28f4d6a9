#!/usr/bin/env python3
"""Compare the frames of capture files (pcap or pcapng), python3 stdlib only.

usage:
  pcap_frames.py count FILE                  print the number of frames
  pcap_frames.py same EXPECTED... -- ACTUAL  exit 0 when ACTUAL holds exactly the frames
                                             of the EXPECTED files (same count, same bytes;
                                             as a multiset, since several workers may
                                             interleave flows), else print why and exit 1

Only captured bytes are compared: net_pcap reads caplen bytes and writes what it sent.
"""
import collections
import hashlib
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise SystemExit(f"pcap_frames: {path}: not a capture")
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng(data)
        return
    for endian, nsec in (("<", False), (">", False)):
        m = struct.unpack(endian + "I", magic)[0]
        if m in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise SystemExit(f"pcap_frames: {path}: unknown magic {magic.hex()}")
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield data[off:off + caplen]
        off += caplen


def _pcapng(data):
    off = 0
    endian = "<"
    while off + 12 <= len(data):
        btype = struct.unpack(endian + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: byte-order magic decides endianness
            bom = data[off + 8:off + 12]
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack(endian + "I", data[off + 4:off + 8])[0]
        if blen < 12:
            break
        body = data[off + 8:off + blen - 4]
        if btype == 6:  # enhanced packet block
            caplen = struct.unpack(endian + "I", body[12:16])[0]
            yield body[20:20 + caplen]
        elif btype == 3:  # simple packet block
            plen = struct.unpack(endian + "I", body[0:4])[0]
            yield body[4:4 + plen]
        off += blen


def digest_counts(paths):
    c = collections.Counter()
    for p in paths:
        for fr in frames(p):
            c[hashlib.sha1(fr).digest()] += 1
    return c


def main(argv):
    if len(argv) == 3 and argv[1] == "count":
        print(sum(1 for _ in frames(argv[2])))
        return 0
    if len(argv) >= 5 and argv[1] == "same" and "--" in argv:
        i = argv.index("--")
        expected, actual = argv[2:i], argv[i + 1:]
        want, got = digest_counts(expected), digest_counts(actual)
        nw, ng = sum(want.values()), sum(got.values())
        if want == got:
            print(f"same: {ng} frames")
            return 0
        missing = sum((want - got).values())
        extra = sum((got - want).values())
        print(f"DIFFERENT: expected {nw} frames, got {ng}; {missing} missing, {extra} unexpected")
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
