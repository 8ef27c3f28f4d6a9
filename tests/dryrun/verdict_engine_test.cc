// The engine's verdict hook: what the policy sees (views, payload, TCP sequence
// numbers, decision points), inline block/hold dropping the flow both ways from the
// decision on, tap mode never dropping, the RST hook firing once, and the policy's
// fields spliced into the flow record.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/engine/engine.h"
#include "tests/dataplane/packet_builder.h"

namespace xborder::dp {
namespace {

using test::Bytes;
constexpr uint64_t kT0 = 1700000000ull * 1000000000ull;

struct Records : FlowLogSink {
  std::vector<std::string> lines;
  void onFlowRecord(std::string_view l) noexcept override { lines.emplace_back(l); }
};

// Blocks a flow once its client sends a payload containing "SECRET".
struct FakePolicy : FlowPolicy {
  struct Seen {
    uint8_t dir;
    std::string payload;
    bool has_seq;
    uint32_t seq;
    uint16_t client_port, server_port;
    bool classified;
  };
  std::vector<Seen> seen;
  int ends = 0;
  PolicyAction action = PolicyAction::kAllow;
  PolicyAction onPacket(const FlowView& f, const PacketView& p) noexcept override {
    std::string pl(reinterpret_cast<const char*>(p.payload), p.payload_len);
    seen.push_back({p.dir, pl, p.has_seq, p.tcp_seq, f.client_port, f.server_port, f.classified});
    if (pl.find("SECRET") != std::string::npos) action = PolicyAction::kBlock;
    return action;
  }
  void onFlowEnd(const FlowView& f, FlowLogFields* log) noexcept override {
    ++ends;
    if (log) log->append(R"("verdict":{"action":"block"},"tenant":"T-1")");
  }
};

struct CountingRst : RstInjector {
  int calls = 0;
  void resetBoth(const FlowView&, const PacketView&) noexcept override { ++calls; }
};

class VerdictEngineTest : public ::testing::Test {
 protected:
  void make(bool inline_mode) {
    EngineConfig cfg;
    cfg.flow_capacity = 256;
    cfg.policy = &policy_;
    cfg.inline_mode = inline_mode;
    cfg.rst = &rst_;
    std::string err;
    engine_ = Engine::create(cfg, &records_, &err);
    ASSERT_NE(engine_, nullptr) << err;
  }
  Verdict send(const Bytes& f, uint64_t ts) {
    PacketIn p;
    p.data = f.data();
    p.caplen = p.wirelen = static_cast<uint32_t>(f.size());
    p.ts_ns = ts;
    Verdict v;
    engine_->processBurst(&p, 1, &v);
    return v;
  }
  std::vector<Verdict> session(const std::string& req, const std::string& resp) {
    std::vector<Verdict> out;
    uint64_t t = kT0;
    for (const auto& f : test::tcpSession(test::kA, test::kB, 40000, 80, req, resp)) {
      out.push_back(send(f, t += 1000));
    }
    return out;
  }
  FakePolicy policy_;
  CountingRst rst_;
  Records records_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(VerdictEngineTest, PolicySeesEveryPacketWithPayloadAndSequence) {
  make(true);
  const auto v = session("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n");
  for (auto x : v) EXPECT_EQ(x, Verdict::kForward);
  ASSERT_EQ(policy_.seen.size(), 10u);
  EXPECT_EQ(policy_.seen[3].dir, 0);
  EXPECT_EQ(policy_.seen[3].payload.rfind("GET /", 0), 0u);
  EXPECT_TRUE(policy_.seen[3].has_seq);
  EXPECT_EQ(policy_.seen[3].seq, 101u);  // tcpSession's client ISN 100, after the SYN
  EXPECT_EQ(policy_.seen[5].dir, 1);
  EXPECT_EQ(policy_.seen[5].seq, 5001u);
  EXPECT_EQ(policy_.seen[5].client_port, 40000);
  EXPECT_EQ(policy_.seen[5].server_port, 80);
  EXPECT_TRUE(policy_.seen.back().classified);  // nDPI named HTTP before the end
  engine_->flushAll(kT0 + 1000000);
  EXPECT_EQ(policy_.ends, 1);
  ASSERT_EQ(records_.lines.size(), 1u);
  const std::string& r = records_.lines[0];
  EXPECT_NE(r.find(R"(,"verdict":{"action":"block"},"tenant":"T-1"})"), std::string::npos) << r;
  EXPECT_EQ(r.back(), '}');
}

TEST_F(VerdictEngineTest, InlineBlockDropsBothWaysFromTheDecision) {
  make(true);
  const auto v = session("POST /x HTTP/1.1\r\n\r\nSECRET", "HTTP/1.1 200 OK\r\n\r\n");
  // Handshake forwarded; the request (packet 4) and everything after it dropped.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(v[i], Verdict::kForward) << i;
  for (size_t i = 3; i < v.size(); ++i) EXPECT_EQ(v[i], Verdict::kDrop) << i;
  EXPECT_EQ(rst_.calls, 1);
  engine_->flushAll(kT0 + 1000000);
  ASSERT_EQ(records_.lines.size(), 1u);
  EXPECT_NE(records_.lines[0].find(R"("alerted":true)"), std::string::npos) << records_.lines[0];
}

TEST_F(VerdictEngineTest, TapModeNeverDrops) {
  make(false);
  const auto v = session("POST /x HTTP/1.1\r\n\r\nSECRET", "HTTP/1.1 200 OK\r\n\r\n");
  for (auto x : v) EXPECT_EQ(x, Verdict::kForward);
  EXPECT_EQ(rst_.calls, 0);
  EXPECT_EQ(policy_.action, PolicyAction::kBlock);
}

}  // namespace
}  // namespace xborder::dp
