// End-to-end tests of the Engine with synthesized traffic: flows, TCP state,
// timeouts, eviction, policies, fragments, tunnels, nDPI results and counters.
#include "dataplane/engine/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "dataplane/parse/packet_meta.h"
#include "tests/dataplane/packet_builder.h"

namespace xborder::dp {
namespace {

using test::Bytes;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kT0 = 1700000000ull * kSec;

struct Records : FlowLogSink {
  std::vector<std::string> lines;
  void onFlowRecord(std::string_view l) noexcept override { lines.emplace_back(l); }
};

struct Counters : CounterVisitor {
  std::map<std::string, uint64_t> v;
  void counter(std::string_view name, std::string_view k, std::string_view val,
               uint64_t value) override {
    v[std::string(name) + "{" + std::string(k) + "=" + std::string(val) + "}"] = value;
  }
};

class EngineTest : public ::testing::Test {
 protected:
  void make(EngineConfig cfg = {}) {
    if (cfg.flow_capacity == (1u << 20)) cfg.flow_capacity = 1024;
    std::string err;
    engine_ = Engine::create(cfg, &records_, &err);
    ASSERT_NE(engine_, nullptr) << err;
  }
  Verdict send(const Bytes& f, uint64_t ts, uint32_t wirelen = 0) {
    PacketIn p;
    p.data = f.data();
    p.caplen = static_cast<uint32_t>(f.size());
    p.wirelen = wirelen ? wirelen : p.caplen;
    p.ts_ns = ts;
    Verdict v;
    engine_->processBurst(&p, 1, &v);
    return v;
  }
  uint64_t counter(const std::string& key) {
    Counters c;
    engine_->visitCounters(c);
    auto it = c.v.find(key);
    EXPECT_NE(it, c.v.end()) << key;
    return it == c.v.end() ? ~0ull : it->second;
  }
  Records records_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, HttpSessionIsOneFlowWithClientAsSource) {
  make();
  auto pkts = test::tcpSession(test::kA, test::kB, 40000, 80,
                               "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
                               "User-Agent: xb-test/1.0\r\nAccept: */*\r\n\r\n",
                               "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                               "Content-Length: 2\r\n\r\nhi");
  uint64_t t = kT0;
  for (const auto& p : pkts) EXPECT_EQ(send(p, t += 1000000), Verdict::kForward);
  EXPECT_EQ(engine_->activeFlows(), 1u);
  engine_->flushAll(t);
  EXPECT_EQ(engine_->activeFlows(), 0u);
  ASSERT_EQ(records_.lines.size(), 1u);
  const std::string& r = records_.lines[0];
  EXPECT_THAT(r, HasSubstr("\"event_type\":\"flow\""));
  EXPECT_THAT(r, HasSubstr("\"src_ip\":\"10.0.0.1\",\"src_port\":40000"));
  EXPECT_THAT(r, HasSubstr("\"dest_ip\":\"10.0.0.2\",\"dest_port\":80"));
  EXPECT_THAT(r, HasSubstr("\"proto\":\"TCP\""));
  EXPECT_THAT(r, HasSubstr("\"app_proto\":\"http\""));
  EXPECT_THAT(r, HasSubstr("\"pkts_toserver\":6,\"pkts_toclient\":4"));
  EXPECT_THAT(r, HasSubstr("\"state\":\"closed\",\"reason\":\"shutdown\""));
  EXPECT_THAT(r, HasSubstr("\"hostname\":\"www.example.com\""));
  EXPECT_THAT(r, HasSubstr("\"url\":\"/index.html\""));
  EXPECT_THAT(r, HasSubstr("\"http_user_agent\":\"xb-test/1.0\""));
  EXPECT_THAT(r, HasSubstr("\"ndpi\":{\"protocol\":\"HTTP\""));
  EXPECT_THAT(r, HasSubstr("\"confidence\":\"DPI\""));
  // Frame bytes: 10 packets of 54 bytes plus the two payloads.
  EXPECT_EQ(counter("xborder_ndpi_detections_total{worker=0}"), 1u);
}

TEST_F(EngineTest, DnsIsDetectedAndNdpiStateReleasedBeforeFlowEnds) {
  make();
  send(test::udpFrame(test::kA, test::kC, 33333, 53, test::dnsQuery("xborder.example.org", false)),
       kT0);
  send(test::udpFrame(test::kC, test::kA, 53, 33333,
                      test::dnsQuery("xborder.example.org", true, 0x01020304)),
       kT0 + 1000000);
  EXPECT_EQ(engine_->activeFlows(), 1u);
  EXPECT_EQ(counter("xborder_ndpi_flows_classifying{worker=0}"), 0u);
  engine_->flushAll(kT0 + kSec);
  ASSERT_EQ(records_.lines.size(), 1u);
  const std::string& r = records_.lines[0];
  EXPECT_THAT(r, HasSubstr("\"app_proto\":\"dns\""));
  EXPECT_THAT(r, HasSubstr("\"rrname\":\"xborder.example.org\""));
  EXPECT_THAT(r, HasSubstr("\"rdata\":\"1.2.3.4\""));
  EXPECT_THAT(r, HasSubstr("\"protocol\":\"DNS\""));
  EXPECT_THAT(r, HasSubstr("\"state\":\"established\""));
}

TEST_F(EngineTest, UnknownFlowHoldsNdpiStateUntilItEndsThenGivesUp) {
  make();
  send(test::udpFrame(test::kA, test::kB, 31337, 31338, test::text("zzzzzzzzzzzzzzzzzz")), kT0);
  EXPECT_EQ(counter("xborder_ndpi_flows_classifying{worker=0}"), 1u);
  engine_->flushAll(kT0 + kSec);
  EXPECT_EQ(counter("xborder_ndpi_flows_classifying{worker=0}"), 0u);
  EXPECT_EQ(counter("xborder_ndpi_giveups_total{worker=0}"), 1u);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"app_proto\":\"failed\""));
}

TEST_F(EngineTest, UdpBudgetEndsClassification) {
  EngineConfig cfg;
  cfg.ndpi_max_packets_udp = 3;
  make(cfg);
  const Bytes junk(40, 0x5A);
  for (int i = 0; i < 5; ++i) send(test::udpFrame(test::kA, test::kB, 50000, 50001, junk), kT0 + i);
  EXPECT_EQ(counter("xborder_ndpi_flows_classifying{worker=0}"), 0u);
  EXPECT_EQ(counter("xborder_ndpi_packets_total{worker=0}"), 4u);  // gives up on packet 4
  EXPECT_EQ(counter("xborder_ndpi_giveups_total{worker=0}"), 1u);
}

TEST_F(EngineTest, IdleTimeoutExpiresFlows) {
  EngineConfig cfg;
  cfg.timeout_udp = 30;
  make(cfg);
  send(test::udpFrame(test::kA, test::kB, 1000, 2000, Bytes(4, 1)), kT0);
  engine_->advanceTime(kT0 + 10 * kSec);
  EXPECT_EQ(engine_->activeFlows(), 1u);
  send(test::udpFrame(test::kB, test::kA, 2000, 1000, Bytes(4, 1)), kT0 + 20 * kSec);
  engine_->advanceTime(kT0 + 40 * kSec);  // idle only 20 s: stays
  EXPECT_EQ(engine_->activeFlows(), 1u);
  EXPECT_TRUE(records_.lines.empty());
  engine_->advanceTime(kT0 + 52 * kSec);
  EXPECT_EQ(engine_->activeFlows(), 0u);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"reason\":\"timeout\""));
  EXPECT_THAT(records_.lines[0], HasSubstr("\"pkts_toserver\":1,\"pkts_toclient\":1"));
  EXPECT_EQ(counter("xborder_flows_expired_total{worker=0}"), 1u);
}

TEST_F(EngineTest, TcpRstClosesAndExpiresOnTheClosedTimeout) {
  EngineConfig cfg;
  cfg.timeout_tcp_closed = 5;
  make(cfg);
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpSyn, {}, 1, 0), kT0);
  send(test::tcpFrame(test::kB, test::kA, 443, 1234, kTcpSyn | kTcpAck, {}, 9, 2), kT0 + 1000);
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpAck, {}, 2, 10), kT0 + 2000);
  send(test::tcpFrame(test::kB, test::kA, 443, 1234, kTcpRst, {}, 10, 0), kT0 + 3000);
  engine_->advanceTime(kT0 + 3 * kSec);
  EXPECT_EQ(engine_->activeFlows(), 1u);
  engine_->advanceTime(kT0 + 7 * kSec);
  EXPECT_EQ(engine_->activeFlows(), 0u);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"reason\":\"tcp_closed\""));
  EXPECT_THAT(records_.lines[0], HasSubstr("\"rst\":true"));
  EXPECT_THAT(records_.lines[0], HasSubstr("\"state\":\"closed\"}"));
}

TEST_F(EngineTest, HandshakeReachesEstablished) {
  make();
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpSyn, {}, 1, 0), kT0);
  send(test::tcpFrame(test::kB, test::kA, 443, 1234, kTcpSyn | kTcpAck, {}, 9, 2), kT0 + 1);
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpAck, {}, 2, 10), kT0 + 2);
  engine_->flushAll(kT0 + 3);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"state\":\"established\"}"));
  EXPECT_THAT(records_.lines[0], HasSubstr("\"tcp_flags\":\"12\""));
}

// A tap polls its two mirror ports in turn: the SYN-ACK copy may be handled first.
// The connection's opener is still the client (the log's source, the policy's client).
TEST_F(EngineTest, SynAckSeenFirstKeepsTheOpenerAsClient) {
  make();
  send(test::tcpFrame(test::kB, test::kA, 443, 1234, kTcpSyn | kTcpAck, {}, 9, 2), kT0);
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpSyn, {}, 1, 0), kT0 + 1);
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpAck, {}, 2, 10), kT0 + 2);
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpAck | kTcpPsh, std::string(100, 'x'), 2, 10),
       kT0 + 3);
  engine_->flushAll(kT0 + 4);
  ASSERT_EQ(records_.lines.size(), 1u);
  const std::string& r = records_.lines[0];
  EXPECT_THAT(r, HasSubstr("\"src_ip\":\"10.0.0.1\",\"src_port\":1234"));
  EXPECT_THAT(r, HasSubstr("\"dest_ip\":\"10.0.0.2\",\"dest_port\":443"));
  EXPECT_THAT(r, HasSubstr("\"pkts_toserver\":3,\"pkts_toclient\":1"));
}

// Without a SYN-ACK the first sender stays the client (mid-stream pickup).
TEST_F(EngineTest, FirstSenderIsClientWithoutHandshake) {
  make();
  send(test::tcpFrame(test::kB, test::kA, 443, 1234, kTcpAck, std::string(10, 'y'), 9, 2), kT0);
  send(test::tcpFrame(test::kA, test::kB, 1234, 443, kTcpAck, {}, 2, 19), kT0 + 1);
  engine_->flushAll(kT0 + 2);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"src_ip\":\"10.0.0.2\",\"src_port\":443"));
}

TEST_F(EngineTest, EvictsWhenFullAndCounts) {
  EngineConfig cfg;
  cfg.flow_capacity = 64;
  make(cfg);
  for (uint16_t i = 0; i < 100; ++i) {
    EXPECT_EQ(send(test::udpFrame(test::kA, test::kB, static_cast<uint16_t>(1000 + i), 9, Bytes(4, 0)),
                   kT0 + i * kSec),
              Verdict::kForward);
  }
  EXPECT_EQ(engine_->activeFlows(), 64u);
  EXPECT_EQ(counter("xborder_flows_evicted_total{worker=0}"), 36u);
  EXPECT_EQ(counter("xborder_flows_table_full_total{worker=0}"), 36u);
  EXPECT_EQ(counter("xborder_flows_created_total{worker=0}"), 100u);
  ASSERT_EQ(records_.lines.size(), 36u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"reason\":\"forced\""));
  // The oldest flows (nearest their idle deadline) went first.
  EXPECT_THAT(records_.lines[0], HasSubstr("\"src_port\":1000,"));
}

TEST_F(EngineTest, EvictionSparesABusyOldFlow) {
  EngineConfig cfg;
  cfg.flow_capacity = 64;
  make(cfg);
  // Flow 0 starts first but keeps talking; flows 1..63 go quiet.
  for (uint16_t i = 0; i < 64; ++i) {
    send(test::udpFrame(test::kA, test::kB, static_cast<uint16_t>(2000 + i), 9, Bytes(4, 0)),
         kT0 + i * kSec);
  }
  send(test::udpFrame(test::kA, test::kB, 2000, 9, Bytes(4, 0)), kT0 + 100 * kSec);
  send(test::udpFrame(test::kA, test::kB, 5000, 9, Bytes(4, 0)), kT0 + 101 * kSec);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"src_port\":2001,"));
  EXPECT_THAT(records_.lines[0], HasSubstr("\"reason\":\"forced\""));
}

TEST_F(EngineTest, TableFullDropAndForwardPolicies) {
  EngineConfig cfg;
  cfg.flow_capacity = 64;
  cfg.table_full = TableFullPolicy::kDrop;
  make(cfg);
  for (uint16_t i = 0; i < 64; ++i) send(test::udpFrame(test::kA, test::kB, i, 9, {}), kT0);
  EXPECT_EQ(send(test::udpFrame(test::kA, test::kB, 999, 9, {}), kT0), Verdict::kDrop);
  EXPECT_EQ(counter("xborder_drops_total{reason=flow-table-full}"), 1u);
  // Existing flows still pass.
  EXPECT_EQ(send(test::udpFrame(test::kB, test::kA, 9, 3, {}), kT0), Verdict::kForward);

  cfg.table_full = TableFullPolicy::kForwardUntracked;
  make(cfg);
  for (uint16_t i = 0; i < 64; ++i) send(test::udpFrame(test::kA, test::kB, i, 9, {}), kT0);
  EXPECT_EQ(send(test::udpFrame(test::kA, test::kB, 999, 9, {}), kT0), Verdict::kForward);
  EXPECT_EQ(counter("xborder_untracked_packets_total{worker=0}"), 1u);
  EXPECT_EQ(engine_->activeFlows(), 64u);
}

TEST_F(EngineTest, MalformedPolicy) {
  const Bytes full = test::tcpFrame(test::kA, test::kB, 1, 2, 0);
  const Bytes bad(full.begin(), full.begin() + 30);
  make();
  EXPECT_EQ(send(bad, kT0), Verdict::kForward);
  EXPECT_EQ(counter("xborder_malformed_total{reason=parse-truncated-ipv4}"), 1u);
  EXPECT_EQ(engine_->activeFlows(), 0u);
  EngineConfig cfg;
  cfg.malformed = MalformedPolicy::kDrop;
  make(cfg);
  EXPECT_EQ(send(bad, kT0), Verdict::kDrop);
  EXPECT_EQ(counter("xborder_drops_total{reason=parse-truncated-ipv4}"), 1u);
}

TEST_F(EngineTest, LaterFragmentsAreAttributedToTheFirstFragmentsFlow) {
  make();
  using namespace test;
  send(cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x2000, 4242), udp(5000, 6000, 8), zeros(8)}), kT0);
  send(cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x0002, 4242), zeros(16)}), kT0 + 1);
  send(cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x0002, 777), zeros(16)}), kT0 + 2);  // unknown id
  EXPECT_EQ(engine_->activeFlows(), 1u);
  engine_->flushAll(kT0 + 3);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_THAT(records_.lines[0], HasSubstr("\"pkts_toserver\":2,"));
  EXPECT_THAT(records_.lines[0], HasSubstr("\"fragments\":2"));
  EXPECT_EQ(counter("xborder_fragments_total{kind=unattributed}"), 1u);
  EXPECT_EQ(counter("xborder_fragments_total{kind=later}"), 2u);
}

TEST_F(EngineTest, FragmentOfAnExpiredFlowIsNotCredited) {
  EngineConfig cfg;
  cfg.timeout_udp = 5;
  make(cfg);
  using namespace test;
  send(cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x2000, 55), udp(5000, 6000, 8), zeros(8)}), kT0);
  engine_->advanceTime(kT0 + 10 * kSec);
  ASSERT_EQ(engine_->activeFlows(), 0u);
  send(cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x0002, 55), zeros(16)}), kT0 + 11 * kSec);
  EXPECT_EQ(counter("xborder_fragments_total{kind=unattributed}"), 1u);
  EXPECT_EQ(engine_->activeFlows(), 0u);
}

TEST_F(EngineTest, GtpTunnelLogsOuterAndInnerFlows) {
  make();
  using namespace test;
  const Bytes dns = dnsQuery("inner.example.com", false);
  const Bytes inner = cat({ipv4(kC, kD, 17, static_cast<uint16_t>(8 + dns.size())),
                           udp(4444, 53, static_cast<uint16_t>(dns.size())), dns});
  const Bytes f = cat({eth(0x8100), vlanTag(12, 0x0800),
                       ipv4(kA, kB, 17, static_cast<uint16_t>(16 + inner.size())),
                       udp(2152, 2152, static_cast<uint16_t>(8 + inner.size())),
                       gtpu(7, static_cast<uint16_t>(inner.size())), inner});
  send(f, kT0);
  EXPECT_EQ(engine_->activeFlows(), 2u);
  engine_->flushAll(kT0 + 1);
  ASSERT_EQ(records_.lines.size(), 2u);
  const std::string all = records_.lines[0] + records_.lines[1];
  EXPECT_THAT(all, HasSubstr("\"tunnel\":{\"type\":\"gtp-u\"}"));
  EXPECT_THAT(all, HasSubstr("\"rrname\":\"inner.example.com\""));
  EXPECT_THAT(all, HasSubstr("\"vlan\":[12]"));
  EXPECT_EQ(counter("xborder_tunnel_packets_total{type=gtp-u}"), 1u);
}

TEST_F(EngineTest, CountersCoverSidesAndNonIp) {
  make();
  using namespace test;
  PacketIn p[2];
  const Bytes arp = cat({eth(0x0806), zeros(28)});
  const Bytes u = udpFrame(kA, kB, 1, 2, {});
  p[0] = PacketIn{arp.data(), static_cast<uint32_t>(arp.size()), 60, kT0, Side::kOutside};
  p[1] = PacketIn{u.data(), static_cast<uint32_t>(u.size()), static_cast<uint32_t>(u.size()), kT0,
                  Side::kInside};
  Verdict v[2];
  engine_->processBurst(p, 2, v);
  EXPECT_EQ(v[0], Verdict::kForward);
  EXPECT_EQ(v[1], Verdict::kForward);
  EXPECT_EQ(counter("xborder_rx_packets_total{side=outside}"), 1u);
  EXPECT_EQ(counter("xborder_rx_bytes_total{side=outside}"), 60u);
  EXPECT_EQ(counter("xborder_rx_packets_total{side=inside}"), 1u);
  EXPECT_EQ(counter("xborder_non_ip_packets_total{worker=0}"), 1u);
  EXPECT_EQ(counter("xborder_flows_active{worker=0}"), 1u);
}

// Stage (a) counts per burst: the totals per side must match per-packet counting for
// mixed bursts (hand-off rings, replay) and one-side bursts (one rx port) alike.
TEST_F(EngineTest, ForwardStageCountsEachSideOfMixedAndOneSideBursts) {
  EngineConfig cfg;
  cfg.stages = Stages::kForward;
  make(cfg);
  const Bytes u = test::udpFrame(test::kA, test::kB, 1, 2, {});
  PacketIn p[11];
  Verdict v[11];
  for (uint32_t i = 0; i < 11; ++i) {  // wirelen 100..110; outside on every third
    p[i] = PacketIn{u.data(), static_cast<uint32_t>(u.size()), 100 + i, kT0,
                    i % 3 == 0 ? Side::kOutside : Side::kInside};
    v[i] = Verdict::kDrop;
  }
  engine_->processBurst(p, 11, v);  // outside: 0,3,6,9 -> 4 packets, 418 B
  for (uint32_t i = 0; i < 11; ++i) EXPECT_EQ(v[i], Verdict::kForward) << i;
  EXPECT_EQ(counter("xborder_rx_packets_total{side=outside}"), 4u);
  EXPECT_EQ(counter("xborder_rx_bytes_total{side=outside}"), 418u);
  EXPECT_EQ(counter("xborder_rx_packets_total{side=inside}"), 7u);
  EXPECT_EQ(counter("xborder_rx_bytes_total{side=inside}"), 1155u - 418u);
  for (PacketIn& q : p) q.side = Side::kOutside;
  engine_->processBurst(p, 11, v);
  EXPECT_EQ(counter("xborder_rx_packets_total{side=outside}"), 15u);
  EXPECT_EQ(counter("xborder_rx_bytes_total{side=outside}"), 418u + 1155u);
  for (PacketIn& q : p) q.side = Side::kInside;
  engine_->processBurst(p, 3, v);
  EXPECT_EQ(counter("xborder_rx_packets_total{side=inside}"), 10u);
  EXPECT_EQ(counter("xborder_rx_bytes_total{side=inside}"), 737u + 303u);
  EXPECT_EQ(counter("xborder_flows_created_total{worker=0}"), 0u);  // no decode, no table
}

}  // namespace
}  // namespace xborder::dp
