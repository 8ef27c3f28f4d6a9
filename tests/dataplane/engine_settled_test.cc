// The engine's decided-flow fast path: once the policy says a flow is settled, its later
// packets skip the policy (same verdicts, same flow records, counted), and a new policy
// epoch (ruleset swap) sends every settled flow back to the policy at its next packet.
// And the known-flow fast path (decodeFast + lookup, no decodePacket): the whole corpus
// gives the same verdicts, records and counters with it and without it.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
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

// Blocks a flow whose client sends "SECRET", alerts on "NOTE"; a flow is settled once
// blocked, or once its client has sent `settle_after` payload packets (nothing more to
// inspect). `verdict_for_epoch` overrides the action under a given epoch (a new ruleset).
struct SettlingPolicy : FlowPolicy {
  uint32_t settle_after = 1;
  uint64_t epoch_value = 0;
  std::map<uint64_t, PolicyAction> verdict_for_epoch;
  std::map<uint32_t, PolicyAction> action;     // by flow slot
  std::map<uint32_t, uint32_t> payloads;       // client payload packets seen, by slot
  uint32_t calls = 0;
  uint32_t ends = 0;

  PolicyAction onPacket(const FlowView& f, const PacketView& p) noexcept override {
    ++calls;
    PolicyAction& a = action[f.flow_index];
    if (p.dir == 0 && p.payload_len > 0) {
      ++payloads[f.flow_index];
      const std::string pl(reinterpret_cast<const char*>(p.payload), p.payload_len);
      if (pl.find("SECRET") != std::string::npos) a = PolicyAction::kBlock;
      if (pl.find("NOTE") != std::string::npos && a < PolicyAction::kAlert) a = PolicyAction::kAlert;
    }
    if (auto it = verdict_for_epoch.find(epoch_value); it != verdict_for_epoch.end()) a = it->second;
    return a;
  }
  bool settled(const FlowView& f, PolicyAction a) const noexcept override {
    if (dropsTraffic(a)) return true;
    auto it = payloads.find(f.flow_index);
    return it != payloads.end() && it->second >= settle_after;
  }
  uint64_t epoch() const noexcept override { return epoch_value; }
  void onFlowEnd(const FlowView& f, FlowLogFields* log) noexcept override {
    ++ends;
    const PolicyAction a = action[f.flow_index];
    if (log) {
      log->append(std::string(R"("verdict":{"action":")") + kPolicyActionNames[static_cast<int>(a)] + "\"}");
    }
    action.erase(f.flow_index);
    payloads.erase(f.flow_index);
  }
};

struct CountingRst : RstInjector {
  int calls = 0;
  void resetBoth(const FlowView&, const PacketView&) noexcept override { ++calls; }
};

struct CounterMap : CounterVisitor {
  std::map<std::string, uint64_t> v;
  void counter(std::string_view name, std::string_view, std::string_view, uint64_t value) override {
    v[std::string(name)] += value;
  }
};

class EngineSettledTest : public ::testing::Test {
 protected:
  void make(bool settle, bool inline_mode = true) {
    EngineConfig cfg;
    cfg.flow_capacity = 256;
    cfg.policy = &policy_;
    cfg.inline_mode = inline_mode;
    cfg.rst = &rst_;
    cfg.settle_flows = settle;
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
  // A TCP session whose client sends each request in its own segment.
  std::vector<Verdict> session(uint16_t port, const std::vector<std::string>& reqs, uint64_t* t) {
    std::vector<Verdict> out;
    std::string req;
    for (const auto& r : reqs) req += r;
    for (const auto& f : test::tcpSession(test::kA, test::kB, port, 80, req, "HTTP/1.1 200 OK\r\n\r\n")) {
      out.push_back(send(f, *t += 1000));
    }
    return out;
  }
  std::map<std::string, uint64_t> counters() {
    CounterMap m;
    engine_->visitCounters(m);
    return m.v;
  }
  SettlingPolicy policy_;
  CountingRst rst_;
  Records records_;
  std::unique_ptr<Engine> engine_;
};

// The same traffic with and without the fast path: same verdicts, flow records and drop
// counts; with it, the policy is called only until each flow settles.
TEST_F(EngineSettledTest, SameResultsWithFewerPolicyCalls) {
  struct Run {
    std::vector<Verdict> verdicts;
    std::vector<std::string> records;
    std::map<std::string, uint64_t> counters;
    uint32_t calls;
    int rsts;
  };
  auto run = [&](bool settle) {
    policy_ = SettlingPolicy{};
    rst_ = CountingRst{};
    records_.lines.clear();
    make(settle);
    uint64_t t = kT0;
    Run r;
    for (uint16_t port = 40000; port < 40006; ++port) {
      const std::string body = port % 3 == 0 ? "POST /x HTTP/1.1\r\n\r\nSECRET"
                               : port % 3 == 1 ? "POST /n HTTP/1.1\r\n\r\nNOTE"
                                               : "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
      for (Verdict v : session(port, {body}, &t)) r.verdicts.push_back(v);
    }
    engine_->flushAll(t + 1000);
    r.records = records_.lines;
    r.counters = counters();
    r.calls = policy_.calls;
    r.rsts = rst_.calls;
    return r;
  };
  const Run slow = run(false);
  const Run fast = run(true);
  EXPECT_EQ(fast.verdicts, slow.verdicts);
  EXPECT_EQ(fast.records, slow.records);
  EXPECT_EQ(fast.rsts, slow.rsts);
  EXPECT_EQ(fast.rsts, 2);  // two SECRET flows
  EXPECT_EQ(fast.counters.at("xborder_policy_dropped_packets_total"),
            slow.counters.at("xborder_policy_dropped_packets_total"));
  EXPECT_GT(fast.counters.at("xborder_policy_dropped_packets_total"), 0u);
  EXPECT_EQ(slow.counters.at("xborder_policy_settled_packets_total"), 0u);
  EXPECT_EQ(fast.counters.at("xborder_policy_settled_flows_total"), 6u);
  // Every packet either reached the policy or took the fast path.
  EXPECT_EQ(fast.calls + fast.counters.at("xborder_policy_settled_packets_total"), slow.calls);
  EXPECT_LT(fast.calls, slow.calls);
  for (const auto& rec : fast.records) EXPECT_NE(rec.find(R"("verdict":{"action":)"), std::string::npos) << rec;
}

TEST_F(EngineSettledTest, BlockedFlowDroppedWithoutAskingThePolicyAgain) {
  make(true);
  uint64_t t = kT0;
  const auto v = session(40000, {"POST /x HTTP/1.1\r\n\r\nSECRET"}, &t);
  // Handshake forwarded; the request (packet 4) and everything after it dropped.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(v[i], Verdict::kForward) << i;
  for (size_t i = 3; i < v.size(); ++i) EXPECT_EQ(v[i], Verdict::kDrop) << i;
  EXPECT_EQ(policy_.calls, 4u);  // nothing after the decision
  EXPECT_EQ(rst_.calls, 1);
  const auto c = counters();
  EXPECT_EQ(c.at("xborder_policy_settled_packets_total"), v.size() - 4);
  EXPECT_EQ(c.at("xborder_policy_dropped_packets_total"), v.size() - 3);
}

TEST_F(EngineSettledTest, TapModeSettledFlowsForward) {
  make(true, /*inline_mode=*/false);
  uint64_t t = kT0;
  const auto v = session(40000, {"POST /x HTTP/1.1\r\n\r\nSECRET"}, &t);
  for (auto x : v) EXPECT_EQ(x, Verdict::kForward);
  EXPECT_EQ(policy_.calls, 4u);
  EXPECT_EQ(rst_.calls, 0);
  EXPECT_GT(counters().at("xborder_policy_settled_packets_total"), 0u);
}

// A new epoch (ruleset swap): the settled flow is judged again at its next packet and the
// new action applies from there.
TEST_F(EngineSettledTest, NewEpochSendsSettledFlowsBackToThePolicy) {
  make(true);
  uint64_t t = kT0;
  const auto pkts = test::tcpSession(test::kA, test::kB, 40000, 80, "GET / HTTP/1.1\r\n\r\n",
                                     "HTTP/1.1 200 OK\r\n\r\n");
  ASSERT_GE(pkts.size(), 8u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(send(pkts[i], t += 1000), Verdict::kForward);
  const uint32_t calls = policy_.calls;
  EXPECT_EQ(send(pkts[5], t += 1000), Verdict::kForward);
  EXPECT_EQ(policy_.calls, calls);  // settled after the request
  policy_.epoch_value = 7;
  policy_.verdict_for_epoch[7] = PolicyAction::kBlock;
  EXPECT_EQ(send(pkts[6], t += 1000), Verdict::kDrop);
  EXPECT_EQ(policy_.calls, calls + 1);
  EXPECT_EQ(send(pkts[7], t += 1000), Verdict::kDrop);
  EXPECT_EQ(policy_.calls, calls + 1);  // settled again, as blocked
}

// The per-slot marks carry a 7-bit tag: after exactly 127 epoch changes the tag repeats,
// so the marks must have been cleared, not matched.
TEST_F(EngineSettledTest, EpochTagWrapDoesNotReviveOldMarks) {
  make(true);
  uint64_t t = kT0;
  const auto pkts = test::tcpSession(test::kA, test::kB, 40000, 80, "GET / HTTP/1.1\r\n\r\n",
                                     "HTTP/1.1 200 OK\r\n\r\n");
  for (size_t i = 0; i < 5; ++i) send(pkts[i], t += 1000);
  uint32_t calls = policy_.calls;
  send(pkts[5], t += 1000);
  ASSERT_EQ(policy_.calls, calls);  // settled
  // Unrelated traffic drives 127 epoch changes without touching the flow.
  const Bytes other = test::tcpSession(test::kB, test::kA, 50000, 443, "", "")[0];
  for (int i = 1; i <= 127; ++i) {
    policy_.epoch_value = static_cast<uint64_t>(i);
    send(other, t += 1000);
  }
  calls = policy_.calls;
  send(pkts[6], t += 1000);
  EXPECT_EQ(policy_.calls, calls + 1);
}

// Later IP fragments carry no ports: they follow their flow's decision, so a flow held
// inline loses its later fragments too (with and without the fast path).
TEST_F(EngineSettledTest, LaterFragmentsOfABlockedFlowAreDropped) {
  using namespace test;
  for (bool settle : {true, false}) {
    SCOPED_TRACE(settle ? "fast path" : "no fast path");
    policy_ = SettlingPolicy{};
    policy_.verdict_for_epoch[0] = PolicyAction::kHold;  // held at its first packet
    make(settle);
    const Bytes first = cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x2000, 4242), udp(5000, 6000, 8), zeros(8)});
    const Bytes later = cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x0002, 4242), zeros(16)});
    EXPECT_EQ(send(first, kT0), Verdict::kDrop);
    EXPECT_EQ(send(later, kT0 + 1), Verdict::kDrop);
    EXPECT_EQ(counters().at("xborder_policy_dropped_packets_total"), 2u);
  }
  // Tap mode forwards them.
  policy_ = SettlingPolicy{};
  policy_.verdict_for_epoch[0] = PolicyAction::kHold;
  make(true, /*inline_mode=*/false);
  EXPECT_EQ(send(cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x2000, 4242), udp(5000, 6000, 8), zeros(8)}), kT0),
            Verdict::kForward);
  EXPECT_EQ(send(cat({eth(0x0800), ipv4(kA, kB, 17, 16, 0x0002, 4242), zeros(16)}), kT0 + 1), Verdict::kForward);
}

// A slot freed by a finished flow and reused by a new one starts unsettled.
TEST_F(EngineSettledTest, NewFlowInAReusedSlotIsNotSettled) {
  make(true);
  uint64_t t = kT0;
  session(40000, {"POST /x HTTP/1.1\r\n\r\nSECRET"}, &t);
  engine_->flushAll(t);
  ASSERT_EQ(policy_.ends, 1u);
  const uint32_t calls = policy_.calls;
  const auto v = session(40000, {"GET / HTTP/1.1\r\n\r\n"}, &t);
  for (auto x : v) EXPECT_EQ(x, Verdict::kForward);
  EXPECT_GE(policy_.calls, calls + 4);  // the handshake and request reached the policy
}


// --- The whole shared corpus with the known-flow fast path on and off ----------------

// Decisions that depend only on the flow (its ports) and what it has shown: some flows
// held at their first packet, some blocked at their first client payload, some alerted;
// every flow except one kind settles once nDPI is done and it was judged a few times.
// So known flows of every kind reach the engine's fast paths, at different moments.
struct CorpusPolicy : FlowPolicy {
  struct State {
    PolicyAction action = PolicyAction::kAllow;
    uint32_t seen = 0;
  };
  std::map<uint64_t, State> flows;  // by (slot, generation)
  uint32_t calls = 0;

  static uint64_t id(const FlowView& f) { return (uint64_t{f.flow_index} << 32) | f.flow_gen; }
  static uint32_t kind(const FlowView& f) {
    return ((f.client_port * 2654435761u) ^ (f.server_port * 40503u) ^ f.proto) % 8;
  }
  PolicyAction onPacket(const FlowView& f, const PacketView& p) noexcept override {
    ++calls;
    State& s = flows[id(f)];
    ++s.seen;
    const uint32_t k = kind(f);
    if (k == 0 && s.action < PolicyAction::kHold) s.action = PolicyAction::kHold;
    if (k == 1 && p.dir == 0 && p.payload_len > 0) s.action = PolicyAction::kBlock;
    if (k == 2 && p.payload_len > 0 && s.action < PolicyAction::kAlert) s.action = PolicyAction::kAlert;
    return s.action;
  }
  bool settled(const FlowView& f, PolicyAction a) const noexcept override {
    if (dropsTraffic(a)) return true;
    auto it = flows.find(id(f));
    return kind(f) != 7 && f.classified && it != flows.end() && it->second.seen >= 3;
  }
  void onFlowEnd(const FlowView& f, FlowLogFields* log) noexcept override {
    const State s = flows[id(f)];
    if (log) {
      log->append(std::string(R"("verdict":{"action":")") + kPolicyActionNames[static_cast<int>(s.action)] +
                  R"(","judged":)" + std::to_string(s.seen) + "}");
    }
    flows.erase(id(f));
  }
};

// Every counter with its label, so a difference in any reason or side shows.
struct LabelledCounters : CounterVisitor {
  std::map<std::string, uint64_t> v;
  void counter(std::string_view name, std::string_view key, std::string_view label, uint64_t value) override {
    v[std::string(name) + "{" + std::string(key) + "=" + std::string(label) + "}"] = value;
  }
};

struct Frame {
  std::vector<uint8_t> bytes;
  uint32_t wirelen;
};

// Every frame of the corpus, captures in name order; empty when ../shared is absent.
const std::vector<Frame>& corpusFrames() {
  static const std::vector<Frame> frames = [] {
    std::vector<Frame> out;
    const char* shared = std::getenv("XB_SHARED_DIR");
    const std::filesystem::path dir = std::filesystem::path(shared ? shared : "../shared") / "corpus" / "pcap";
    if (!std::filesystem::is_directory(dir)) return out;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      char err[PCAP_ERRBUF_SIZE];
      pcap_t* pc = pcap_open_offline(path.c_str(), err);
      if (pc == nullptr) continue;  // the count check below fails the test
      pcap_pkthdr* h;
      const u_char* data;
      while (pcap_next_ex(pc, &h, &data) == 1) {
        out.push_back(Frame{std::vector<uint8_t>(data, data + h->caplen), h->len});
      }
      pcap_close(pc);
    }
    return out;
  }();
  return frames;
}

struct CorpusRun {
  std::vector<Verdict> verdicts;
  std::vector<std::string> records;
  std::map<std::string, uint64_t> counters;
  uint32_t policy_calls = 0;
  int rsts = 0;
};

enum class CorpusSetup { kPolicyInline, kPolicyTap, kNoPolicy, kTrackOnly };

// The corpus twice over (the second pass finds every flow known unless it timed out),
// in bursts of 32, 1 ms apart, expiring as it goes.
CorpusRun runCorpus(CorpusSetup setup, bool fast_path) {
  CorpusPolicy policy;
  CountingRst rst;
  Records records;
  EngineConfig cfg;
  cfg.flow_capacity = 1u << 16;
  cfg.fast_path = fast_path;
  cfg.rst = &rst;
  if (setup == CorpusSetup::kPolicyInline || setup == CorpusSetup::kPolicyTap) cfg.policy = &policy;
  cfg.inline_mode = setup != CorpusSetup::kPolicyTap;
  if (setup == CorpusSetup::kTrackOnly) cfg.stages = Stages::kTrack;
  std::string err;
  auto engine = Engine::create(cfg, &records, &err);
  CorpusRun r;
  if (!engine) {
    ADD_FAILURE() << err;
    return r;
  }
  const auto& frames = corpusFrames();
  constexpr uint16_t kBurst = 32;
  PacketIn in[kBurst];
  Verdict out[kBurst];
  uint64_t t = kT0;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < frames.size(); i += kBurst) {
      const uint16_t n = static_cast<uint16_t>(std::min<size_t>(kBurst, frames.size() - i));
      for (uint16_t j = 0; j < n; ++j) {
        const Frame& f = frames[i + j];
        in[j].data = f.bytes.data();
        in[j].caplen = static_cast<uint32_t>(f.bytes.size());
        in[j].wirelen = f.wirelen;
        in[j].ts_ns = t += 1000000;
        in[j].side = (i + j) % 3 == 0 ? Side::kOutside : Side::kInside;
      }
      engine->processBurst(in, n, out);
      r.verdicts.insert(r.verdicts.end(), out, out + n);
      engine->advanceTime(t);
    }
  }
  engine->flushAll(t + 1000);
  LabelledCounters c;
  engine->visitCounters(c);
  r.counters = c.v;
  r.records = records.lines;
  r.policy_calls = policy.calls;
  r.rsts = rst.calls;
  return r;
}

class EngineFastPathCorpusTest : public ::testing::TestWithParam<CorpusSetup> {};

// With and without the known-flow fast path: the same verdict for every packet, the same
// flow records, policy calls and RSTs, and every counter equal but the fast path's own.
TEST_P(EngineFastPathCorpusTest, SameResultsOnTheWholeCorpus) {
  if (corpusFrames().empty()) GTEST_SKIP() << "../shared is absent (no corpus/pcap)";
  ASSERT_GT(corpusFrames().size(), 50000u);
  const CorpusRun slow = runCorpus(GetParam(), false);
  const CorpusRun fast = runCorpus(GetParam(), true);
  ASSERT_EQ(fast.verdicts.size(), slow.verdicts.size());
  size_t differing = 0;
  for (size_t i = 0; i < fast.verdicts.size(); ++i) {
    if (fast.verdicts[i] != slow.verdicts[i] && differing++ < 5) {
      ADD_FAILURE() << "verdict of packet " << i << " differs";
    }
  }
  EXPECT_EQ(differing, 0u);
  ASSERT_EQ(fast.records.size(), slow.records.size());
  for (size_t i = 0; i < fast.records.size(); ++i) {
    ASSERT_EQ(fast.records[i], slow.records[i]) << "flow record " << i;
  }
  EXPECT_EQ(fast.policy_calls, slow.policy_calls);
  EXPECT_EQ(fast.rsts, slow.rsts);
  const std::string own = "xborder_fast_path_packets_total{worker=0}";
  ASSERT_EQ(slow.counters.count(own), 1u);
  EXPECT_EQ(slow.counters.at(own), 0u);
  // The fast path must actually have been taken for a good share of the packets.
  EXPECT_GT(fast.counters.at(own), fast.verdicts.size() / 4);
  std::map<std::string, uint64_t> a = fast.counters, b = slow.counters;
  a.erase(own);
  b.erase(own);
  for (const auto& [name, value] : b) EXPECT_EQ(a[name], value) << name;
  EXPECT_EQ(a.size(), b.size());
  if (GetParam() == CorpusSetup::kPolicyInline) {
    EXPECT_GT(fast.counters.at("xborder_policy_dropped_packets_total{worker=0}"), 1000u);
    EXPECT_GT(fast.counters.at("xborder_policy_settled_packets_total{worker=0}"), 1000u);
    EXPECT_GT(fast.rsts, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Setups, EngineFastPathCorpusTest,
                         ::testing::Values(CorpusSetup::kPolicyInline, CorpusSetup::kPolicyTap,
                                           CorpusSetup::kNoPolicy, CorpusSetup::kTrackOnly),
                         [](const ::testing::TestParamInfo<CorpusSetup>& p) {
                           switch (p.param) {
                             case CorpusSetup::kPolicyInline: return std::string("PolicyInline");
                             case CorpusSetup::kPolicyTap: return std::string("PolicyTap");
                             case CorpusSetup::kNoPolicy: return std::string("NoPolicy");
                             case CorpusSetup::kTrackOnly: return std::string("TrackOnly");
                           }
                           return std::string("unknown");
                         });

}  // namespace
}  // namespace xborder::dp
