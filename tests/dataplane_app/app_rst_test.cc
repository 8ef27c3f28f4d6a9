// RST builder: frames decoded back with dataplane/parse; addresses, ports, seq/ack,
// flags, VLAN and both checksums checked byte for byte.
#include "dataplane/app/app_rst.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/parse/parse.h"

namespace xborder::dp::app {
namespace {

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void put16(std::vector<uint8_t>& f, uint16_t v) {
  f.push_back(static_cast<uint8_t>(v >> 8));
  f.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& f, uint32_t v) {
  put16(f, static_cast<uint16_t>(v >> 16));
  put16(f, static_cast<uint16_t>(v));
}

// Independent checksum (not the builder's): sum over the bytes must fold to 0xffff.
uint32_t sum(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += rd16(p + i);
  if (n & 1) acc += uint32_t{p[n - 1]} << 8;
  return acc;
}
uint16_t folded(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

const uint8_t kClientMac[6] = {0x02, 0, 0, 0, 0, 0x01};
const uint8_t kServerMac[6] = {0x02, 0, 0, 0, 0, 0x02};

struct Tcp {
  uint16_t sport = 40000, dport = 80;
  uint32_t seq = 1000, ack = 5000;
  uint8_t flags = 0x18;  // PSH|ACK
  uint32_t payload = 100;
};

std::vector<uint8_t> frame(int version, int vlans, const Tcp& t) {
  std::vector<uint8_t> f;
  f.insert(f.end(), kServerMac, kServerMac + 6);  // dst
  f.insert(f.end(), kClientMac, kClientMac + 6);  // src
  for (int i = 0; i < vlans; ++i) {
    put16(f, i == 0 && vlans > 1 ? 0x88a8 : 0x8100);
    put16(f, static_cast<uint16_t>(100 + i));
  }
  put16(f, version == 4 ? 0x0800 : 0x86dd);
  const uint32_t l4 = 20 + 12 + t.payload;  // TCP header with 12 bytes of options
  if (version == 4) {
    const uint8_t h[20] = {0x45, 0, static_cast<uint8_t>((20 + l4) >> 8),
                           static_cast<uint8_t>(20 + l4), 0, 1, 0x40, 0, 64, 6, 0, 0,
                           10, 0, 0, 5, 203, 0, 113, 9};
    f.insert(f.end(), h, h + 20);
  } else {
    put32(f, 0x60000000);
    put16(f, static_cast<uint16_t>(l4));
    f.push_back(6);
    f.push_back(64);
    for (int i = 0; i < 16; ++i) f.push_back(static_cast<uint8_t>(0x20 + i));  // src
    for (int i = 0; i < 16; ++i) f.push_back(static_cast<uint8_t>(0x40 + i));  // dst
  }
  put16(f, t.sport);
  put16(f, t.dport);
  put32(f, t.seq);
  put32(f, t.ack);
  f.push_back(static_cast<uint8_t>(8 << 4));  // 32-byte header
  f.push_back(t.flags);
  put16(f, 65535);
  put16(f, 0);  // checksum: the builder must not care about the judged packet's
  put16(f, 0);
  for (int i = 0; i < 12; ++i) f.push_back(1);  // NOP options
  for (uint32_t i = 0; i < t.payload; ++i) f.push_back('x');
  return f;
}

struct Decoded {
  PacketMeta m;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  const uint8_t* tcp = nullptr;
};

Decoded decode(const uint8_t* d, uint32_t n) {
  Decoded r;
  EXPECT_EQ(decodePacket(d, n, n, DecodeOptions{}, &r.m), Reason::kNone);
  const IpLayer& L = r.m.outer;
  EXPECT_TRUE(L.has_l4);
  EXPECT_EQ(L.proto, kIpProtoTcp);
  EXPECT_EQ(L.payload_len, 0u);
  EXPECT_EQ(L.payload_offset, n);  // nothing after the 20-byte TCP header
  r.tcp = d + n - 20;
  r.seq = rd32(r.tcp + 4);
  r.ack = rd32(r.tcp + 8);
  r.flags = r.tcp[13];
  // IPv4 header checksum.
  if (L.version == 4) {
    EXPECT_EQ(folded(sum(d + L.l3_offset, 20)), 0xffff) << "IPv4 header checksum";
  }
  // TCP checksum over the pseudo header.
  const uint32_t alen = L.version == 4 ? 4 : 16;
  uint32_t acc = sum(L.src, alen);
  acc = sum(L.dst, alen, acc);
  acc += 6 + 20;
  EXPECT_EQ(folded(sum(r.tcp, 20, acc)), 0xffff) << "TCP checksum";
  return r;
}

class RstTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(RstTest, BothDirectionsDecodeWithCorrectSequenceNumbers) {
  const auto [version, vlans] = GetParam();
  Tcp t;
  t.seq = 0xfffffff0u;  // wraps: seq + len must be modulo 2^32
  const std::vector<uint8_t> f = frame(version, vlans, t);
  RstFrames out;
  ASSERT_TRUE(buildRstFrames(f.data(), static_cast<uint32_t>(f.size()),
                             static_cast<uint32_t>(f.size()), &out));
  PacketMeta in;
  ASSERT_EQ(decodePacket(f.data(), static_cast<uint32_t>(f.size()),
                         static_cast<uint32_t>(f.size()), DecodeOptions{}, &in),
            Reason::kNone);
  const uint32_t alen = version == 4 ? 4 : 16;

  // Toward the receiver (server): same addresses, seq = the dropped packet's seq.
  Decoded r = decode(out.to_receiver, out.receiver_len);
  EXPECT_EQ(r.m.outer.version, version);
  EXPECT_EQ(r.m.vlan_count, vlans);
  EXPECT_EQ(r.m.vlan_id, vlans == 0 ? 0 : 100 + vlans - 1);
  EXPECT_EQ(0, std::memcmp(out.to_receiver, kServerMac, 6));
  EXPECT_EQ(0, std::memcmp(out.to_receiver + 6, kClientMac, 6));
  EXPECT_EQ(0, std::memcmp(r.m.outer.src, in.outer.src, alen));
  EXPECT_EQ(0, std::memcmp(r.m.outer.dst, in.outer.dst, alen));
  EXPECT_EQ(r.m.outer.sport, t.sport);
  EXPECT_EQ(r.m.outer.dport, t.dport);
  EXPECT_EQ(r.seq, t.seq);
  EXPECT_EQ(r.ack, t.ack);
  EXPECT_EQ(r.flags, kTcpRst | kTcpAck);

  // Toward the sender (client): reversed, seq = its ack, ack = seq + payload.
  Decoded s = decode(out.to_sender, out.sender_len);
  EXPECT_EQ(s.m.vlan_count, vlans);
  EXPECT_EQ(0, std::memcmp(out.to_sender, kClientMac, 6));
  EXPECT_EQ(0, std::memcmp(out.to_sender + 6, kServerMac, 6));
  EXPECT_EQ(0, std::memcmp(s.m.outer.src, in.outer.dst, alen));
  EXPECT_EQ(0, std::memcmp(s.m.outer.dst, in.outer.src, alen));
  EXPECT_EQ(s.m.outer.sport, t.dport);
  EXPECT_EQ(s.m.outer.dport, t.sport);
  EXPECT_EQ(s.seq, t.ack);
  EXPECT_EQ(s.ack, t.seq + t.payload);  // 0xfffffff0 + 100 wraps to 84
  EXPECT_EQ(s.ack, 84u);
  EXPECT_EQ(s.flags, kTcpRst | kTcpAck);
}

INSTANTIATE_TEST_SUITE_P(VersionsAndVlans, RstTest,
                         ::testing::Combine(::testing::Values(4, 6), ::testing::Values(0, 1, 2)));

TEST(Rst, SynIsAnsweredWithSeqZeroAndAckPlusOne) {
  Tcp t;
  t.flags = kTcpSyn;
  t.payload = 0;
  t.ack = 777;  // ignored: no ACK flag
  const std::vector<uint8_t> f = frame(4, 0, t);
  RstFrames out;
  ASSERT_TRUE(buildRstFrames(f.data(), static_cast<uint32_t>(f.size()),
                             static_cast<uint32_t>(f.size()), &out));
  Decoded s = decode(out.to_sender, out.sender_len);
  EXPECT_EQ(s.seq, 0u);
  EXPECT_EQ(s.ack, t.seq + 1);
  EXPECT_EQ(s.flags, kTcpRst | kTcpAck);
  Decoded r = decode(out.to_receiver, out.receiver_len);
  EXPECT_EQ(r.seq, t.seq);
  EXPECT_EQ(r.flags, kTcpRst);  // no ACK to echo
}

TEST(Rst, CutFrameUsesTheIpLengthForTheSegment) {
  Tcp t;
  t.payload = 1200;
  const std::vector<uint8_t> f = frame(4, 1, t);
  RstFrames out;
  const uint32_t cut = 200;  // first mbuf segment / snaplen
  ASSERT_TRUE(buildRstFrames(f.data(), cut, static_cast<uint32_t>(f.size()), &out));
  Decoded s = decode(out.to_sender, out.sender_len);
  EXPECT_EQ(s.ack, t.seq + 1200);
}

TEST(Rst, RefusesWhatItCannotAnswer) {
  RstFrames out;
  Tcp t;
  t.flags = kTcpRst | kTcpAck;
  std::vector<uint8_t> f = frame(4, 0, t);
  EXPECT_FALSE(buildRstFrames(f.data(), static_cast<uint32_t>(f.size()),
                              static_cast<uint32_t>(f.size()), &out));
  // UDP: same frame with protocol 17 (the IPv4 checksum is not checked by the parser).
  t.flags = kTcpAck;
  f = frame(4, 0, t);
  f[14 + 9] = 17;
  EXPECT_FALSE(buildRstFrames(f.data(), static_cast<uint32_t>(f.size()),
                              static_cast<uint32_t>(f.size()), &out));
  // Truncated inside the TCP header.
  f = frame(6, 0, t);
  EXPECT_FALSE(buildRstFrames(f.data(), 14 + 40 + 10, static_cast<uint32_t>(f.size()), &out));
}

}  // namespace
}  // namespace xborder::dp::app
