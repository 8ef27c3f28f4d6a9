// dp_decided_pcap: writes the frames of a capture that the engine's known-flow fast path
// can take (decodeFast accepts them) and that open or close no TCP connection (no SYN,
// FIN or RST), so that, looped, every packet after the warm-up belongs to a decided flow.
// The decided-only rows of docs/benchmarks/enforce.md use it. Not a test.
#include <pcap/pcap.h>

#include <cstdio>
#include <cstring>

#include "dataplane/parse/parse_fast.h"

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "usage: dp_decided_pcap IN.pcap OUT.pcap\n"
        "Keeps the Ethernet frames decodeFast reads (plain Ethernet/IP/TCP or UDP) that carry\n"
        "no TCP SYN, FIN or RST; prints how many were kept.\n");
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "dp_decided_pcap: expected IN.pcap OUT.pcap (try --help)\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* in = pcap_open_offline(argv[1], err);
  if (in == nullptr) {
    std::fprintf(stderr, "dp_decided_pcap: %s\n", err);
    return 1;
  }
  if (pcap_datalink(in) != DLT_EN10MB) {
    std::fprintf(stderr, "dp_decided_pcap: %s is not an Ethernet capture\n", argv[1]);
    pcap_close(in);
    return 1;
  }
  pcap_dumper_t* out = pcap_dump_open(in, argv[2]);
  if (out == nullptr) {
    std::fprintf(stderr, "dp_decided_pcap: %s\n", pcap_geterr(in));
    pcap_close(in);
    return 1;
  }
  pcap_pkthdr* h;
  const u_char* d;
  unsigned long long seen = 0, kept = 0;
  while (pcap_next_ex(in, &h, &d) == 1) {
    ++seen;
    xborder::dp::FastPacket f;
    if (!xborder::dp::decodeFast(d, h->caplen, &f)) continue;
    constexpr uint8_t kOpenClose = xborder::dp::kTcpSyn | xborder::dp::kTcpFin | xborder::dp::kTcpRst;
    if (f.proto == xborder::dp::kIpProtoTcp && (f.tcp_flags & kOpenClose) != 0) continue;
    pcap_dump(reinterpret_cast<u_char*>(out), h, d);
    ++kept;
  }
  pcap_dump_close(out);
  pcap_close(in);
  std::printf("dp_decided_pcap: kept %llu of %llu frames\n", kept, seen);
  return 0;
}
