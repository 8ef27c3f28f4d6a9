#include "dataplane/flow/flow_table.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "dataplane/flow/flow_key.h"

namespace xborder::dp {
namespace {

constexpr uint64_t kSec = 1000000000ull;

IpLayer layer(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto = 17) {
  IpLayer L{};
  L.version = 4;
  L.proto = proto;
  for (int i = 0; i < 4; ++i) {
    L.src[i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    L.dst[i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  L.sport = sport;
  L.dport = dport;
  return L;
}

TEST(FlowKey, BothDirectionsGiveTheSameKey) {
  bool a_lo = false, b_lo = false;
  const FlowKey a = makeFlowKey(layer(0x0A000001, 0x0A000002, 1234, 80), 5, &a_lo);
  const FlowKey b = makeFlowKey(layer(0x0A000002, 0x0A000001, 80, 1234), 5, &b_lo);
  EXPECT_TRUE(a == b);
  EXPECT_EQ(hashFlowKey(a), hashFlowKey(b));
  EXPECT_NE(a_lo, b_lo);
  // Same addresses, ports swapped between the sides: a different flow.
  bool c_lo = false;
  const FlowKey c = makeFlowKey(layer(0x0A000001, 0x0A000002, 80, 1234), 5, &c_lo);
  EXPECT_FALSE(a == c);
  // VLAN and protocol are part of the key.
  EXPECT_FALSE(a == makeFlowKey(layer(0x0A000001, 0x0A000002, 1234, 80), 6, &c_lo));
  EXPECT_FALSE(a == makeFlowKey(layer(0x0A000001, 0x0A000002, 1234, 80, 6), 5, &c_lo));
  // Same endpoints on both sides (a host talking to itself): still symmetric.
  bool d1 = false, d2 = false;
  EXPECT_TRUE(makeFlowKey(layer(7, 7, 1, 2), 0, &d1) == makeFlowKey(layer(7, 7, 2, 1), 0, &d2));
  EXPECT_NE(d1, d2);
}

FlowKey keyN(uint32_t n) {
  bool lo;
  return makeFlowKey(layer(0x0A000000 + n, 0x0B000000 + n * 7, static_cast<uint16_t>(n),
                           static_cast<uint16_t>(n >> 16)),
                     0, &lo);
}

TEST(FlowTable, InsertFindRemoveUnderChurn) {
  FlowTable t;
  t.init(1024, FlowTimeouts{});
  EXPECT_EQ(t.capacity(), 1024u);
  std::set<uint32_t> live;
  std::mt19937 rng(42);
  for (uint32_t round = 0; round < 20000; ++round) {
    const uint32_t n = rng() % 3000;
    const FlowKey k = keyN(n);
    const uint64_t h = hashFlowKey(k);
    const uint32_t idx = t.find(k, h);
    if (live.count(n)) {
      ASSERT_NE(idx, kNoFlow) << n;
      ASSERT_TRUE(t.at(idx).key == k);
      if (rng() % 2) {
        t.remove(idx);
        live.erase(n);
      }
    } else {
      ASSERT_EQ(idx, kNoFlow) << n;
      if (!t.full()) {
        ASSERT_NE(t.insert(k, h, round * kSec), kNoFlow);
        live.insert(n);
      }
    }
    ASSERT_EQ(t.size(), live.size());
  }
  for (uint32_t n : live) EXPECT_NE(t.find(keyN(n), hashFlowKey(keyN(n))), kNoFlow);
}

TEST(FlowTable, ExpiryFollowsPerProtocolTimeoutsLazily) {
  FlowTimeouts to;
  to.udp = 10;
  to.icmp = 3;
  FlowTable t;
  t.init(64, to);
  const FlowKey u = keyN(1);
  bool lo;
  const FlowKey ic = makeFlowKey(layer(1, 2, 0, 0, 1), 0, &lo);
  const uint64_t t0 = 1000 * kSec;
  const uint32_t ui = t.insert(u, hashFlowKey(u), t0);
  t.insert(ic, hashFlowKey(ic), t0);
  std::vector<uint32_t> gone;
  auto collect = [&](uint32_t idx) { gone.push_back(t.at(idx).key.proto); };
  t.expire(t0 + 2 * kSec, 1000, collect);
  EXPECT_TRUE(gone.empty());
  t.expire(t0 + 4 * kSec, 1000, collect);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], 1);  // ICMP first
  t.at(ui).last_ns = t0 + 8 * kSec;  // a packet at +8 s pushes the deadline to +18 s
  t.expire(t0 + 12 * kSec, 1000, collect);
  EXPECT_EQ(gone.size(), 1u);
  EXPECT_EQ(t.size(), 1u);
  t.expire(t0 + 19 * kSec, 1000, collect);
  EXPECT_EQ(gone.size(), 2u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTable, ExpiryWorkIsBoundedPerCall) {
  FlowTimeouts to;
  to.udp = 1;
  FlowTable t;
  t.init(1024, to);
  const uint64_t t0 = 5000 * kSec;
  for (uint32_t n = 0; n < 500; ++n) t.insert(keyN(n), hashFlowKey(keyN(n)), t0);
  uint32_t calls = 0;
  while (t.size() > 0) {
    const uint32_t before = t.size();
    const uint32_t done = t.expire(t0 + 100 * kSec, 16, [](uint32_t) {});
    EXPECT_LE(done, 16u);
    EXPECT_EQ(before - t.size(), done);
    ASSERT_LT(++calls, 1000u);
  }
  EXPECT_GE(calls, 500u / 16);
}

TEST(FlowTable, LongTimeoutsBeyondTheWheelSpanStillExpire) {
  FlowTimeouts to;
  to.tcp_transitory = 10000;  // longer than the 4096 s wheel
  FlowTable t;
  t.init(64, to);
  bool lo;
  const FlowKey k = makeFlowKey(layer(1, 2, 3, 4, 6), 0, &lo);
  const uint64_t t0 = 100 * kSec;
  t.insert(k, hashFlowKey(k), t0);
  uint32_t n = 0;
  for (uint64_t s = 0; s < 9990; s += 50) n += t.expire(t0 + s * kSec, 100000, [](uint32_t) {});
  EXPECT_EQ(n, 0u);
  for (uint64_t s = 9990; s < 10100; s += 5) n += t.expire(t0 + s * kSec, 100000, [](uint32_t) {});
  EXPECT_EQ(n, 1u);
}

TEST(FlowTable, RescheduleShortensTheDeadline) {
  FlowTimeouts to;
  to.tcp_established = 3600;
  to.tcp_closed = 5;
  FlowTable t;
  t.init(64, to);
  bool lo;
  const FlowKey k = makeFlowKey(layer(1, 2, 3, 4, 6), 0, &lo);
  const uint64_t t0 = 100 * kSec;
  const uint32_t idx = t.insert(k, hashFlowKey(k), t0);
  t.at(idx).tcp_state = TcpState::kClosed;
  t.reschedule(idx);
  EXPECT_EQ(t.expire(t0 + 6 * kSec, 100, [](uint32_t) {}), 1u);
}

TEST(FlowTable, VictimAndDrain) {
  FlowTable t;
  t.init(64, FlowTimeouts{});
  EXPECT_EQ(t.pickVictim(), kNoFlow);
  for (uint32_t n = 0; n < 64; ++n) t.insert(keyN(n), hashFlowKey(keyN(n)), (10 + n) * kSec);
  EXPECT_TRUE(t.full());
  const uint32_t v = t.pickVictim();
  ASSERT_NE(v, kNoFlow);
  EXPECT_TRUE(t.at(v).key == keyN(0));  // the earliest deadline
  uint32_t seen = 0;
  t.drain([&](uint32_t) { ++seen; });
  EXPECT_EQ(seen, 64u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find(keyN(3), hashFlowKey(keyN(3))), kNoFlow);
}

}  // namespace
}  // namespace xborder::dp

namespace xborder::dp {
namespace {

// A jump in time far beyond the wheel span (a capture spanning years, a clock
// step): live flows are set aside and re-filed, and still expire on time.
TEST(FlowTable, TimeJumpKeepsLiveFlowsAndExpiresThemLater) {
  FlowTimeouts to;
  to.udp = 100;
  FlowTable t;
  t.init(256, to);
  const uint64_t t0 = 1000 * kSec;
  for (uint32_t n = 0; n < 100; ++n) t.insert(keyN(n), hashFlowKey(keyN(n)), t0);
  const uint64_t later = t0 + 10ull * 365 * 86400 * kSec;
  for (uint32_t n = 0; n < 50; ++n) {  // half the flows saw a packet just now
    t.at(t.find(keyN(n), hashFlowKey(keyN(n)))).last_ns = later;
  }
  uint32_t expired = 0;
  for (int i = 0; i < 20; ++i) expired += t.expire(later + kSec, 64, [](uint32_t) {});
  EXPECT_EQ(expired, 50u);
  EXPECT_EQ(t.size(), 50u);
  EXPECT_NE(t.pickVictim(), kNoFlow);
  for (int i = 0; i < 20; ++i) expired += t.expire(later + 50 * kSec, 64, [](uint32_t) {});
  EXPECT_EQ(t.size(), 50u);
  for (int i = 0; i < 20; ++i) expired += t.expire(later + 101 * kSec, 64, [](uint32_t) {});
  EXPECT_EQ(expired, 100u);
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace xborder::dp
