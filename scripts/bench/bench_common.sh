# Helpers shared by the benchmark scripts (sourced by dataplane.sh and enforce.sh).
# The caller sets $out (its results folder) before calling put.

note() { echo "== $*" >&2; }

# put KEY VALUE: one raw value into $out/results.tsv.
put() { printf '%s\t%s\n' "$1" "$2" >> "$out/results.tsv"; }

# median: of the numbers on stdin, rounded to an integer ("" when there are none).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# max_frame PCAP: the largest captured frame length. net_pcap's infinite_rx keeps each
# frame in one mbuf, so it decides the mbuf size.
max_frame() {
  python3 - "$1" <<'EOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    magic = f.read(24)[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    best = 0
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        incl = struct.unpack(endian + "IIII", h)[2]
        best = max(best, incl)
        f.seek(incl, 1)
print(best)
EOF
}
