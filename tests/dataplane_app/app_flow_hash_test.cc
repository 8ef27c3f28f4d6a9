// The software hand-off hash must be symmetric (both directions, one worker) and spread.
#include "dataplane/app/app_flow_hash.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace xborder::dp::app {
namespace {

// push_back, not insert: GCC 12 at -O3 warns (falsely) on insert into a small vector.
void append(std::vector<uint8_t>& f, std::initializer_list<uint8_t> bytes) {
  for (uint8_t b : bytes) {
    f.push_back(b);
  }
}

std::vector<uint8_t> ipv4Frame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                               uint8_t proto, int vlans = 0, uint16_t frag = 0) {
  std::vector<uint8_t> f(12, 0x02);
  for (int i = 0; i < vlans; ++i) {
    append(f, {0x81, 0x00, 0x00, static_cast<uint8_t>(10 + i)});
  }
  append(f, {0x08, 0x00});
  uint8_t ip[20] = {0x45, 0, 0, 40, 0, 1, static_cast<uint8_t>(frag >> 8),
                    static_cast<uint8_t>(frag), 64, proto};
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  for (uint8_t b : ip) {
    f.push_back(b);
  }
  append(f, {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport),
             static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport), 0, 0, 0, 0});
  return f;
}

uint32_t h(const std::vector<uint8_t>& f) {
  return symmetricFlowHash(f.data(), static_cast<uint32_t>(f.size()));
}

TEST(FlowHash, SymmetricIpv4) {
  for (uint16_t p = 1000; p < 1100; ++p) {
    const auto ab = ipv4Frame(0xc0000201, 0xc6336401u + p, p, 443, 6);
    const auto ba = ipv4Frame(0xc6336401u + p, 0xc0000201, 443, p, 6);
    EXPECT_EQ(h(ab), h(ba));
  }
}

TEST(FlowHash, SymmetricThroughVlanTags) {
  const auto ab = ipv4Frame(0xc0000201, 0xcb007101, 5353, 53, 17, 2);
  const auto ba = ipv4Frame(0xcb007101, 0xc0000201, 53, 5353, 17, 2);
  EXPECT_EQ(h(ab), h(ba));
  EXPECT_NE(h(ab), 0u);
}

TEST(FlowHash, SymmetricIpv6) {
  std::vector<uint8_t> a(14 + 40 + 8, 0), b;
  a[12] = 0x86;
  a[13] = 0xdd;
  a[14] = 0x60;
  a[14 + 6] = 17;
  for (int i = 0; i < 16; ++i) {
    a[14 + 8 + i] = static_cast<uint8_t>(0x20 + i);
    a[14 + 24 + i] = static_cast<uint8_t>(0x90 - i);
  }
  a[54] = 0x12; a[55] = 0x34; a[56] = 0x00; a[57] = 0x35;
  b = a;
  for (int i = 0; i < 16; ++i) {
    std::swap(b[14 + 8 + i], b[14 + 24 + i]);
  }
  std::swap(b[54], b[56]);
  std::swap(b[55], b[57]);
  EXPECT_EQ(h(a), h(b));
  EXPECT_NE(h(a), 0u);
}

TEST(FlowHash, FirstFragmentAgreesWithUnfragmentedPacket) {
  const auto whole = ipv4Frame(0xc0000201, 0xcb007101, 4000, 53, 17);
  const auto first = ipv4Frame(0xc0000201, 0xcb007101, 4000, 53, 17, 0, 0x2000);  // MF, off 0
  EXPECT_EQ(h(whole), h(first));
}

TEST(FlowHash, SpreadsOverWorkers) {
  std::set<unsigned> workers;
  std::vector<unsigned> per(4, 0);
  for (uint16_t p = 0; p < 400; ++p) {
    const uint32_t x = h(ipv4Frame(0xc0000201, 0xc6336401, static_cast<uint16_t>(30000 + p), 80, 6));
    const unsigned w = static_cast<unsigned>((static_cast<uint64_t>(x) * 4) >> 32);
    ++per[w];
  }
  for (unsigned n : per) {
    EXPECT_GT(n, 50u);  // 100 expected each; a broken hash puts everything in one
  }
}

TEST(FlowHash, ShortOrNonIpFramesHashToZero) {
  const uint8_t arp[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x08, 0x06};
  EXPECT_EQ(symmetricFlowHash(arp, sizeof(arp)), 0u);
  auto f = ipv4Frame(1, 2, 3, 4, 6);
  EXPECT_EQ(symmetricFlowHash(f.data(), 20), 0u);
  EXPECT_EQ(symmetricFlowHash(f.data(), 5), 0u);
}

}  // namespace
}  // namespace xborder::dp::app
