// decodeFast (the known-flow fast path's header reader) against decodePacket: on every
// frame of the shared corpus, on crafted edge cases, and on random mutations of common
// frames, a frame the fast reader accepts must decode to the same flow key, flags and
// lengths with the general decoder (tests/dataplane/parse_fast_check.h).
#include "dataplane/parse/parse_fast.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "tests/dataplane/packet_builder.h"
#include "tests/dataplane/parse_fast_check.h"

namespace xborder::dp {
namespace {

using test::Bytes;
using test::cat;

// Checks the contract on an exact-size copy (so ASan/valgrind see overreads) and
// returns whether decodeFast accepted the frame.
bool acceptsAndAgrees(const uint8_t* data, size_t caplen) {
  std::vector<uint8_t> copy(data, data + caplen);
  bool accepted = false;
  std::string why;
  EXPECT_TRUE(test::fastAgreesWithDecoder(copy.data(), static_cast<uint32_t>(caplen), &accepted, &why))
      << why << " (frame of " << caplen << " bytes)";
  return accepted;
}
bool accepts(const Bytes& f) { return acceptsAndAgrees(f.data(), f.size()); }

// Every prefix of a frame the fast reader accepts is a cut frame: never accepted.
void expectPrefixesRejected(const Bytes& f) {
  for (size_t n = 0; n < f.size(); ++n) {
    EXPECT_FALSE(acceptsAndAgrees(f.data(), n)) << "prefix " << n << " of " << f.size();
  }
}

TEST(ParseFast, CommonFramesAreAcceptedWithTheirFields) {
  using namespace test;
  const Bytes t4 = tcpFrame(kA, kB, 40000, 443, kTcpSyn | kTcpAck, "hello");
  ASSERT_TRUE(accepts(t4));
  FastPacket f;
  ASSERT_TRUE(decodeFast(t4.data(), static_cast<uint32_t>(t4.size()), &f));
  EXPECT_EQ(f.sport, 40000);
  EXPECT_EQ(f.dport, 443);
  EXPECT_EQ(f.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(f.payload_len, 5);
  EXPECT_EQ(f.version, 4);
  EXPECT_EQ(f.vlan_id, 0);
  EXPECT_TRUE(accepts(udpFrame(kA, kB, 5353, 53, zeros(12))));
  // One 802.1Q tag.
  const Bytes v = cat({eth(0x8100), vlanTag(42, 0x0800), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)});
  ASSERT_TRUE(accepts(v));
  ASSERT_TRUE(decodeFast(v.data(), static_cast<uint32_t>(v.size()), &f));
  EXPECT_EQ(f.vlan_id, 42);
  EXPECT_EQ(f.l3_offset, 18);
  // IPv4 options (IHL 7) and TCP options.
  EXPECT_TRUE(accepts(cat({eth(0x0800), ipv4(kA, kB, 6, 32 + 3, 0, 1, 7), tcp(1, 2, kTcpAck, 8), zeros(3)})));
  // Don't-fragment is not a fragment.
  EXPECT_TRUE(accepts(cat({eth(0x0800), ipv4(kA, kB, 17, 8, 0x4000), udp(1, 2, 0)})));
  // IPv6 TCP and UDP, with and without a tag.
  EXPECT_TRUE(accepts(cat({eth(0x86DD), ipv6(1, 2, 6, 20), tcp(1, 2, kTcpSyn)})));
  EXPECT_TRUE(accepts(cat({eth(0x8100), vlanTag(7, 0x86DD), ipv6(2, 1, 17, 12), udp(53, 999, 4), zeros(4)})));
  // Trailing Ethernet padding after the IP packet (short frames are padded to 60 bytes).
  EXPECT_TRUE(accepts(cat({eth(0x0800), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck), zeros(6)})));
  // UDP length shorter than the IP payload: the payload is what UDP says.
  const Bytes us = cat({eth(0x0800), ipv4(kA, kB, 17, 8 + 10), udp(1, 2, 4), zeros(10)});
  ASSERT_TRUE(accepts(us));
  ASSERT_TRUE(decodeFast(us.data(), static_cast<uint32_t>(us.size()), &f));
  EXPECT_EQ(f.payload_len, 4);
  // VXLAN is recognised by its destination port only: a source port of 4789 is plain UDP.
  EXPECT_TRUE(accepts(cat({eth(0x0800), ipv4(kA, kB, 17, 12), udp(4789, 1000, 4), zeros(4)})));
}

TEST(ParseFast, EverythingElseIsLeftToTheGeneralDecoder) {
  using namespace test;
  std::vector<std::pair<std::string, Bytes>> cases = {
      {"QinQ 802.1ad", cat({eth(0x88A8), vlanTag(1, 0x8100), vlanTag(2, 0x0800), ipv4(kA, kB, 17, 8), udp(1, 2, 0)})},
      {"two 802.1Q tags", cat({eth(0x8100), vlanTag(1, 0x8100), vlanTag(2, 0x0800), ipv4(kA, kB, 17, 8), udp(1, 2, 0)})},
      {"one 802.1ad tag", cat({eth(0x88A8), vlanTag(1, 0x0800), ipv4(kA, kB, 17, 8), udp(1, 2, 0)})},
      {"MPLS", cat({eth(0x8847), mpls(16, true), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)})},
      {"PPPoE", cat({eth(0x8864), pppoe(0x0021, 40), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)})},
      {"802.3 + SNAP", cat({Bytes{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0, 48},
                             Bytes{0xAA, 0xAA, 3, 0, 0, 0, 0x08, 0x00}, ipv4(kA, kB, 17, 8), udp(1, 2, 0)})},
      {"ARP", cat({eth(0x0806), zeros(28)})},
      {"ICMP", cat({eth(0x0800), ipv4(kA, kB, 1, 8), zeros(8)})},
      {"SCTP", cat({eth(0x0800), ipv4(kA, kB, 132, 12), zeros(12)})},
      {"first fragment", cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x2000, 9), udp(1, 2, 8), zeros(8)})},
      {"later fragment", cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x0002, 9), zeros(16)})},
      {"last fragment (offset, no MF)", cat({eth(0x0800), ipv4(kA, kB, 6, 20, 0x0010, 9), tcp(1, 2, kTcpAck)})},
      {"IPv6 hop-by-hop", cat({eth(0x86DD), ipv6(1, 2, 0, 8 + 20), ipv6Ext(6), tcp(1, 2, kTcpSyn)})},
      {"IPv6 fragment header", cat({eth(0x86DD), ipv6(1, 2, 44, 8 + 12), ipv6Frag(17, 0, false, 5), udp(1, 2, 4), zeros(4)})},
      {"IPv6 payload length 0", cat({eth(0x86DD), ipv6(1, 2, 6, 0), tcp(1, 2, kTcpSyn)})},
      {"IPv6 payload length past the frame", cat({eth(0x86DD), ipv6(1, 2, 6, 21), tcp(1, 2, kTcpSyn)})},
      {"IPv4 in IPv4", cat({eth(0x0800), ipv4(kA, kB, 4, 40), ipv4(kC, kD, 6, 20), tcp(1, 2, kTcpSyn)})},
      {"GRE", cat({eth(0x0800), ipv4(kA, kB, 47, 4 + 40), gre(0x0800, false), ipv4(kC, kD, 6, 20), tcp(1, 2, kTcpSyn)})},
      {"VXLAN", cat({eth(0x0800), ipv4(kA, kB, 17, 8 + 8 + 14 + 28), udp(1000, 4789, 8 + 14 + 28), vxlan(5),
                     eth(0x0800), ipv4(kC, kD, 17, 8), udp(1, 2, 0)})},
      {"GTP-U by destination", cat({eth(0x0800), ipv4(kA, kB, 17, 8 + 8 + 28), udp(1000, 2152, 8 + 28),
                                    gtpu(1, 28), ipv4(kC, kD, 17, 8), udp(1, 2, 0)})},
      {"GTP-U port, not GTP", cat({eth(0x0800), ipv4(kA, kB, 17, 12), udp(2152, 1000, 4), zeros(4)})},
      {"CAPWAP data port", cat({eth(0x0800), ipv4(kA, kB, 17, 12), udp(1000, 5247, 4), zeros(4)})},
      {"CAPWAP data source port", cat({eth(0x0800), ipv4(kA, kB, 17, 12), udp(5247, 1000, 4), zeros(4)})},
      {"VXLAN port without the VNI flag", cat({eth(0x0800), ipv4(kA, kB, 17, 16), udp(1000, 4789, 8), zeros(8)})},
      {"IPv4 total length past the frame", cat({eth(0x0800), ipv4(kA, kB, 6, 21), tcp(1, 2, kTcpAck)})},
      {"IPv4 total length below IHL", [] {
         Bytes b = cat({eth(0x0800), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)});
         b[16] = 0;
         b[17] = 19;
         return b;
       }()},
      {"IHL below 5", [] {
         Bytes b = cat({eth(0x0800), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)});
         b[14] = 0x44;
         return b;
       }()},
      {"IPv4 version 6 in an IPv4 ethertype", [] {
         Bytes b = cat({eth(0x0800), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)});
         b[14] = 0x65;
         return b;
       }()},
      {"TCP header cut by the IP length", cat({eth(0x0800), ipv4(kA, kB, 6, 12), zeros(12)})},
      {"TCP data offset below 5", cat({eth(0x0800), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck, 4)})},
      {"TCP data offset past the IP packet", [] {
         Bytes b = cat({eth(0x0800), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)});
         b[14 + 20 + 12] = 0x60;
         return b;
       }()},
      {"UDP length past the IP packet", cat({eth(0x0800), ipv4(kA, kB, 17, 8), udp(1, 2, 4)})},
      {"UDP length below 8", [] {
         Bytes b = cat({eth(0x0800), ipv4(kA, kB, 17, 8), udp(1, 2, 0)});
         b[14 + 20 + 5] = 7;
         return b;
       }()},
      {"UDP header cut by the IP length", cat({eth(0x0800), ipv4(kA, kB, 17, 6), zeros(6)})},
  };
  for (const auto& [name, frame] : cases) {
    EXPECT_FALSE(accepts(frame)) << name;
  }
  // Larger than decodePacket reads (it cuts frames at 64 KiB).
  Bytes big = cat({eth(0x0800), ipv4(kA, kB, 17, 8), udp(1, 2, 0)});
  big.resize(0x10000);
  EXPECT_FALSE(accepts(big));
}

TEST(ParseFast, CutFramesAreLeftToTheGeneralDecoder) {
  using namespace test;
  expectPrefixesRejected(tcpFrame(kA, kB, 1, 2, kTcpAck, "payload"));
  expectPrefixesRejected(cat({eth(0x8100), vlanTag(9, 0x86DD), ipv6(1, 2, 17, 12), udp(1, 2, 4), zeros(4)}));
  expectPrefixesRejected(cat({eth(0x0800), ipv4(kA, kB, 6, 32, 0, 1, 6), tcp(1, 2, kTcpAck, 8)}));
}

// Random byte changes on common frames (fixed seed): whatever the fast reader accepts,
// the general decoder agrees with. A share must still be accepted, or the test would
// prove nothing.
TEST(ParseFast, MutatedFramesAgreeWithTheGeneralDecoder) {
  using namespace test;
  const std::vector<Bytes> bases = {
      tcpFrame(kA, kB, 40000, 443, kTcpAck | kTcpPsh, "GET / HTTP/1.1\r\n"),
      udpFrame(kC, kD, 5353, 53, zeros(20)),
      cat({eth(0x8100), vlanTag(5, 0x0800), ipv4(kA, kB, 6, 24 + 4, 0, 1, 6), tcp(1, 2, kTcpSyn, 6), zeros(4)}),
      cat({eth(0x86DD), ipv6(1, 2, 6, 20 + 3), tcp(5, 6, kTcpFin | kTcpAck), zeros(3)}),
      cat({eth(0x0800), ipv4(kA, kB, 17, 8 + 8 + 14 + 28), udp(1000, 4789, 8 + 14 + 28), vxlan(5), eth(0x0800),
           ipv4(kC, kD, 17, 8), udp(1, 2, 0)}),
  };
  std::mt19937 rng(12345);
  uint32_t accepted = 0, total = 0;
  for (int round = 0; round < 20000; ++round) {
    Bytes f = bases[static_cast<size_t>(round) % bases.size()];
    const int changes = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < changes; ++c) {
      // Mostly header bytes, where the decisions are.
      const size_t at = rng() % std::min<size_t>(f.size(), 64);
      f[at] = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : f[at] ^ (1u << (rng() % 8)));
    }
    if (rng() % 4 == 0) f.resize(rng() % (f.size() + 1));
    accepted += acceptsAndAgrees(f.data(), f.size()) ? 1 : 0;
    ++total;
  }
  EXPECT_GT(accepted, total / 10) << "too few mutated frames accepted to test anything";
  EXPECT_LT(accepted, total) << "every mutated frame accepted: the reader checks nothing";
}

// Every frame of every capture in the shared corpus.
TEST(ParseFast, CorpusFramesAgreeWithTheGeneralDecoder) {
  const char* shared = std::getenv("XB_SHARED_DIR");
  const std::filesystem::path dir = std::filesystem::path(shared ? shared : "../shared") / "corpus" / "pcap";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "../shared is absent (no " << dir << ")";
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 50u);
  uint64_t packets = 0, accepted = 0;
  for (const auto& path : files) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* pc = pcap_open_offline(path.c_str(), err);
    ASSERT_NE(pc, nullptr) << path << ": " << err;
    ASSERT_EQ(pcap_datalink(pc), DLT_EN10MB) << path;
    pcap_pkthdr* h;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
      ++packets;
      const bool ok = acceptsAndAgrees(data, h->caplen);
      accepted += ok ? 1 : 0;
      if (HasFailure()) {
        pcap_close(pc);
        FAIL() << path.filename() << " packet " << packets;
      }
      // Cut copies of a sample of accepted frames: a cut inside the IP packet is left to
      // decodePacket (a cut in the Ethernet padding after it may still be accepted).
      FastPacket f;
      if (ok && packets % 97 == 0 && decodeFast(data, h->caplen, &f)) {
        for (uint32_t n = 0; n < h->caplen; n += 7) {
          const bool cut_accepted = acceptsAndAgrees(data, n);
          if (n < uint32_t{f.payload_offset} + f.payload_len) {
            EXPECT_FALSE(cut_accepted) << n;
          }
        }
      }
    }
    pcap_close(pc);
  }
  EXPECT_GT(packets, 50000u);
  // Most of the corpus is plain TCP/UDP; the rest (fragments, tunnels, ICMP, L2
  // oddities) is what the general decoder is for.
  EXPECT_GT(accepted, packets / 2);
  EXPECT_LT(accepted, packets);
  std::printf("decodeFast accepted %llu of %llu corpus frames\n", static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(packets));
}

}  // namespace
}  // namespace xborder::dp
