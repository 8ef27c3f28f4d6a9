#include "dataplane/parse/parse.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/dataplane/packet_builder.h"

namespace xborder::dp {
namespace {

using test::Bytes;
using test::cat;

struct Decoded {
  Reason reason;
  PacketMeta meta;
};

// Decodes from an exact-size heap copy so that ASan/valgrind flag any overread.
Decoded decode(const Bytes& frame, size_t caplen, size_t wirelen, bool decap = true) {
  std::vector<uint8_t> copy(frame.begin(), frame.begin() + static_cast<long>(caplen));
  Decoded d{};
  DecodeOptions o;
  o.decap_tunnels = decap;
  d.reason = decodePacket(copy.data(), static_cast<uint32_t>(caplen),
                          static_cast<uint32_t>(wirelen), o, &d.meta);
  return d;
}
Decoded decode(const Bytes& frame) { return decode(frame, frame.size(), frame.size()); }

TEST(Parse, PlainTcpIpv4) {
  const Bytes f = test::tcpFrame(test::kA, test::kB, 40000, 80, kTcpSyn | kTcpAck, "hello");
  const Decoded d = decode(f);
  ASSERT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.ip_layers, 1);
  EXPECT_EQ(d.meta.outer.version, 4);
  EXPECT_EQ(d.meta.outer.proto, kIpProtoTcp);
  EXPECT_EQ(d.meta.outer.sport, 40000);
  EXPECT_EQ(d.meta.outer.dport, 80);
  EXPECT_EQ(d.meta.outer.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(d.meta.outer.l3_offset, 14);
  EXPECT_EQ(d.meta.outer.payload_offset, 54);
  EXPECT_EQ(d.meta.outer.payload_len, 5);
  EXPECT_EQ(d.meta.outer.src[3], 1);
  EXPECT_EQ(d.meta.outer.dst[3], 2);
  EXPECT_FALSE(d.meta.outer.truncated);
}

// Every prefix of the frame, with wirelen == caplen (a genuinely short frame).
TEST(Parse, EveryTruncationPointOfTcpIpv4IsNamed) {
  const Bytes f = test::tcpFrame(test::kA, test::kB, 1, 2, kTcpAck, "payload");
  for (size_t n = 0; n < f.size(); ++n) {
    const Decoded d = decode(f, n, n);
    Reason want = n < 14 ? Reason::kTruncatedEthernet
                  : n < 34 ? Reason::kTruncatedIpv4
                           : Reason::kBadIpv4Length;
    EXPECT_EQ(d.reason, want) << "prefix " << n;
  }
  EXPECT_EQ(decode(f).reason, Reason::kNone);
}

// Every prefix again, but the frame was cut by the capture (wirelen is larger):
// what is readable is still tracked, headers that are cut are named.
TEST(Parse, EveryCutPointOfTcpIpv4) {
  const Bytes f = test::tcpFrame(test::kA, test::kB, 1, 2, kTcpAck, "payload");
  for (size_t n = 0; n < f.size(); ++n) {
    const Decoded d = decode(f, n, f.size());
    if (n < 14) {
      EXPECT_EQ(d.reason, Reason::kTruncatedEthernet) << n;
    } else if (n < 34) {
      EXPECT_EQ(d.reason, Reason::kTruncatedIpv4) << n;
    } else if (n < 54) {
      EXPECT_EQ(d.reason, Reason::kTruncatedTcp) << n;
    } else {
      EXPECT_EQ(d.reason, Reason::kNone) << n;
      EXPECT_TRUE(d.meta.outer.truncated) << n;
      EXPECT_EQ(d.meta.outer.payload_len, n - 54) << n;
    }
  }
}

std::vector<Bytes> complexPackets() {
  using namespace test;
  const Bytes inner_tcp = cat({ipv4(kC, kD, 6, 20), tcp(5555, 443, kTcpSyn)});
  const Bytes inner_udp = cat({ipv4(kC, kD, 17, 12), udp(5353, 53, 4), zeros(4)});
  std::vector<Bytes> v;
  v.push_back(cat({eth(0x88A8), vlanTag(100, 0x8100), vlanTag(200, 0x0800),
                   ipv4(kA, kB, 17, 12), udp(1, 53, 4), zeros(4)}));
  v.push_back(cat({eth(0x8847), mpls(16, false), mpls(17, true), ipv4(kA, kB, 6, 20),
                   tcp(1, 2, kTcpAck)}));
  v.push_back(cat({eth(0x8864), pppoe(0x0021, 40), ipv4(kA, kB, 6, 20), tcp(1, 2, kTcpAck)}));
  v.push_back(cat({eth(0x86DD), ipv6(1, 2, 0, 8 + 8 + 8 + 20), ipv6Ext(43), ipv6Ext(60),
                   ipv6Ext(6), tcp(1, 2, kTcpSyn)}));
  v.push_back(cat({eth(0x86DD), ipv6(1, 2, 44, 8 + 8 + 4), ipv6Frag(17, 0, true, 77),
                   udp(9, 53, 4), zeros(4)}));
  v.push_back(cat({eth(0x0800), ipv4(kA, kB, 47, static_cast<uint16_t>(8 + inner_tcp.size())),
                   gre(0x0800, true, 42), inner_tcp}));
  v.push_back(cat({eth(0x0800),
                   ipv4(kA, kB, 17, static_cast<uint16_t>(8 + 8 + 14 + inner_tcp.size())),
                   udp(1000, 4789, static_cast<uint16_t>(8 + 14 + inner_tcp.size())), vxlan(5),
                   eth(0x0800), inner_tcp}));
  v.push_back(cat({eth(0x0800),
                   ipv4(kA, kB, 17, static_cast<uint16_t>(8 + 8 + inner_udp.size())),
                   udp(2152, 2152, static_cast<uint16_t>(8 + inner_udp.size())),
                   gtpu(0xABCD, static_cast<uint16_t>(inner_udp.size())), inner_udp}));
  v.push_back(cat({eth(0x0800), ipv4(kA, kB, 4, static_cast<uint16_t>(inner_tcp.size())),
                   inner_tcp}));
  v.push_back(cat({eth(0x8100), vlanTag(7, 0x86DD), ipv6(1, 2, 58, 8), zeros(8)}));
  return v;
}

TEST(Parse, EveryPrefixOfEveryComplexPacketIsRejectedWithANamedReason) {
  for (const Bytes& f : complexPackets()) {
    ASSERT_EQ(decode(f).reason, Reason::kNone);
    for (size_t n = 0; n < f.size(); ++n) {
      const Decoded d = decode(f, n, n);
      EXPECT_TRUE(isMalformed(d.reason)) << "prefix " << n << " of " << f.size();
      EXPECT_NE(reasonName(d.reason).substr(0, 6), "unknow");
      EXPECT_EQ(reasonName(d.reason).substr(0, 6), "parse-") << n;
      // Cut by the capture instead: must not crash, tracked or named.
      const Decoded c = decode(f, n, f.size());
      EXPECT_TRUE(c.reason == Reason::kNone || isMalformed(c.reason)) << n;
    }
  }
}

TEST(Parse, QinQKeepsInnermostVlan) {
  const Decoded d = decode(complexPackets()[0]);
  ASSERT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.vlan_id, 200);
  EXPECT_EQ(d.meta.vlan_count, 2);
  using namespace test;
  const Bytes old_qinq = cat({eth(0x9100), vlanTag(300, 0x8100), vlanTag(301, 0x0800),
                              ipv4(kA, kB, 17, 8), udp(1, 2, 0)});
  EXPECT_EQ(decode(old_qinq).meta.vlan_id, 301);
}

TEST(Parse, TooManyVlanTagsAndMplsLabels) {
  using namespace test;
  Bytes f = eth(0x8100);
  for (int i = 0; i < 5; ++i) {
    const Bytes t = vlanTag(static_cast<uint16_t>(i), 0x8100);
    f.insert(f.end(), t.begin(), t.end());
  }
  f.resize(f.size() + 40, 0);
  EXPECT_EQ(decode(f).reason, Reason::kVlanTooDeep);
  Bytes m = eth(0x8847);
  for (int i = 0; i < 10; ++i) {
    const Bytes l = mpls(static_cast<uint32_t>(i), false);
    m.insert(m.end(), l.begin(), l.end());
  }
  EXPECT_EQ(decode(m).reason, Reason::kMplsTooDeep);
}

TEST(Parse, MplsAndPppoe) {
  const Decoded m = decode(complexPackets()[1]);
  ASSERT_EQ(m.reason, Reason::kNone);
  EXPECT_EQ(m.meta.mpls_count, 2);
  EXPECT_EQ(m.meta.outer.proto, kIpProtoTcp);
  const Decoded p = decode(complexPackets()[2]);
  ASSERT_EQ(p.reason, Reason::kNone);
  EXPECT_TRUE(p.meta.pppoe);
  EXPECT_EQ(p.meta.outer.dport, 2);
  Bytes bad = complexPackets()[2];
  bad[14] = 0x21;  // PPPoE version 2
  EXPECT_EQ(decode(bad).reason, Reason::kBadPppoe);
}

TEST(Parse, BogusIpv4Headers) {
  Bytes f = test::tcpFrame(test::kA, test::kB, 1, 2, kTcpAck);
  Bytes ihl = f;
  ihl[14] = 0x44;
  EXPECT_EQ(decode(ihl).reason, Reason::kBadIpv4Ihl);
  Bytes ver = f;
  ver[14] = 0x55;
  EXPECT_EQ(decode(ver).reason, Reason::kBadIpv4Version);
  Bytes len = f;
  len[16] = 0, len[17] = 10;  // total length < header length
  EXPECT_EQ(decode(len).reason, Reason::kBadIpv4Length);
  Bytes big = f;
  big[16] = 0x05, big[17] = 0xDC;  // 1500 bytes in a 54-byte frame
  EXPECT_EQ(decode(big).reason, Reason::kBadIpv4Length);
  Bytes doff = f;
  doff[14 + 20 + 12] = 0x20;  // data offset 2 words: ports kept, anomaly noted
  const Decoded d = decode(doff);
  EXPECT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.anomaly, Reason::kBadTcpOffset);
  EXPECT_EQ(d.meta.outer.payload_len, 0);
}

TEST(Parse, Ipv4OptionsAndPadding) {
  using namespace test;
  Bytes f = cat({eth(0x0800), ipv4(kA, kB, 17, 8 + 3, 0, 1, 7), udp(10, 20, 3), text("abc"),
                 zeros(6)});  // Ethernet padding after the IP packet
  const Decoded d = decode(f);
  ASSERT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.outer.sport, 10);
  EXPECT_EQ(d.meta.outer.payload_offset, 14 + 28 + 8);
  EXPECT_EQ(d.meta.outer.payload_len, 3);  // padding is not payload
}

TEST(Parse, Ipv4Fragments) {
  using namespace test;
  const Bytes first = cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x2000, 99), udp(1, 2, 8),
                           zeros(8)});
  const Decoded a = decode(first);
  ASSERT_EQ(a.reason, Reason::kNone);
  EXPECT_EQ(a.meta.outer.frag, Frag::kFirst);
  EXPECT_EQ(a.meta.outer.frag_id, 99u);
  EXPECT_EQ(a.meta.outer.sport, 1);
  const Bytes later = cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x0002, 99), zeros(16)});
  const Decoded b = decode(later);
  ASSERT_EQ(b.reason, Reason::kNone);
  EXPECT_EQ(b.meta.outer.frag, Frag::kLater);
  EXPECT_FALSE(b.meta.outer.has_l4);
  EXPECT_EQ(b.meta.outer.frag_id, 99u);
}

TEST(Parse, Ipv6ExtensionHeaders) {
  const Decoded d = decode(complexPackets()[3]);
  ASSERT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.outer.version, 6);
  EXPECT_EQ(d.meta.outer.proto, kIpProtoTcp);
  EXPECT_EQ(d.meta.outer.sport, 1);
  EXPECT_EQ(d.meta.outer.src[15], 1);
  const Decoded fr = decode(complexPackets()[4]);
  ASSERT_EQ(fr.reason, Reason::kNone);
  EXPECT_EQ(fr.meta.outer.frag, Frag::kFirst);
  EXPECT_EQ(fr.meta.outer.frag_id, 77u);
  EXPECT_EQ(fr.meta.outer.dport, 53);
  using namespace test;
  const Bytes later = cat({eth(0x86DD), ipv6(1, 2, 44, 16), ipv6Frag(17, 3, false, 77), zeros(8)});
  EXPECT_EQ(decode(later).meta.outer.frag, Frag::kLater);
}

TEST(Parse, Ipv6ExtensionHeaderLoopIsCapped) {
  using namespace test;
  Bytes f = cat({eth(0x86DD), ipv6(1, 2, 0, 8 * 20)});
  for (int i = 0; i < 20; ++i) {
    const Bytes e = ipv6Ext(0);  // hop-by-hop pointing at hop-by-hop, forever
    f.insert(f.end(), e.begin(), e.end());
  }
  EXPECT_EQ(decode(f).reason, Reason::kIpv6ExtHdrTooMany);
  Bytes bad_len = cat({eth(0x86DD), ipv6(1, 2, 0, 8), Bytes{6, 200, 0, 0, 0, 0, 0, 0}});
  EXPECT_EQ(decode(bad_len).reason, Reason::kTruncatedIpv6ExtHdr);
}

TEST(Parse, GreWithKeyDecapsulates) {
  const Decoded d = decode(complexPackets()[5]);
  ASSERT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.ip_layers, 2);
  EXPECT_EQ(d.meta.tunnel, Tunnel::kGre);
  EXPECT_TRUE(d.meta.gre_key_present);
  EXPECT_EQ(d.meta.tunnel_id, 42u);
  EXPECT_EQ(d.meta.outer.proto, 47);
  EXPECT_EQ(d.meta.inner.proto, kIpProtoTcp);
  EXPECT_EQ(d.meta.inner.dport, 443);
  EXPECT_EQ(d.meta.inner.src[0], 0xC0);
}

TEST(Parse, GreTransparentEthernetAndSequence) {
  using namespace test;
  const Bytes inner = cat({eth(0x8100), vlanTag(9, 0x0800), ipv4(kC, kD, 17, 8), udp(7, 8, 0)});
  const Bytes f = cat({eth(0x0800), ipv4(kA, kB, 47, static_cast<uint16_t>(8 + inner.size())),
                       gre(0x6558, false, 0, true), inner});
  const Decoded d = decode(f);
  ASSERT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.tunnel, Tunnel::kGre);
  EXPECT_EQ(d.meta.inner.sport, 7);
  EXPECT_EQ(d.meta.vlan_id, 0);  // inner tags do not change the outer VLAN
}

TEST(Parse, VxlanGtpAndIpInIp) {
  const Decoded v = decode(complexPackets()[6]);
  ASSERT_EQ(v.reason, Reason::kNone);
  EXPECT_EQ(v.meta.tunnel, Tunnel::kVxlan);
  EXPECT_EQ(v.meta.tunnel_id, 5u);
  EXPECT_EQ(v.meta.inner.dport, 443);
  const Decoded g = decode(complexPackets()[7]);
  ASSERT_EQ(g.reason, Reason::kNone);
  EXPECT_EQ(g.meta.tunnel, Tunnel::kGtpU);
  EXPECT_EQ(g.meta.tunnel_id, 0xABCDu);
  EXPECT_EQ(g.meta.inner.dport, 53);
  const Decoded i = decode(complexPackets()[8]);
  ASSERT_EQ(i.reason, Reason::kNone);
  EXPECT_EQ(i.meta.tunnel, Tunnel::kIpInIp);
  EXPECT_EQ(i.meta.inner.sport, 5555);
}

TEST(Parse, DecapCanBeTurnedOff) {
  const Bytes f = complexPackets()[6];
  const Decoded d = decode(f, f.size(), f.size(), /*decap=*/false);
  ASSERT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.ip_layers, 1);
  EXPECT_EQ(d.meta.outer.dport, 4789);
}

TEST(Parse, BrokenInnerPacketKeepsTheOuterFlow) {
  Bytes f = complexPackets()[5];
  f[14 + 20 + 8] = 0x45 + 0x10;  // inner IPv4 version 5
  const Decoded d = decode(f);
  EXPECT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.ip_layers, 1);
  EXPECT_EQ(d.meta.anomaly, Reason::kBadIpv4Version);
}

TEST(Parse, NonIpIsNotMalformed) {
  using namespace test;
  const Bytes arp = cat({eth(0x0806), zeros(28)});
  const Decoded d = decode(arp);
  EXPECT_EQ(d.reason, Reason::kNone);
  EXPECT_EQ(d.meta.ip_layers, 0);
  const Bytes stp = cat({eth(38), Bytes{0x42, 0x42, 0x03}, zeros(35)});  // 802.3 + LLC
  EXPECT_EQ(decode(stp).meta.ip_layers, 0);
}

TEST(Parse, ReasonNamesAreKebabCaseAndUnique) {
  for (uint32_t i = 0; i < kReasonCount; ++i) {
    const std::string_view n = kReasonNames[i];
    for (char c : n) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') << n;
    }
    for (uint32_t j = i + 1; j < kReasonCount; ++j) {
      EXPECT_NE(n, kReasonNames[j]);
    }
  }
  EXPECT_EQ(reasonName(Reason::kTruncatedIpv4), "parse-truncated-ipv4");
}

}  // namespace
}  // namespace xborder::dp
