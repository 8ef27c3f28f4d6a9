// The dataplane policy's behaviour per flow: what inline mode enforces and records
// (bytes before the decision), tap mode reporting every drop as an alert, fail-closed
// blocking when evidence cannot be written, and no heap allocation by our code per
// packet or at flow end (operator new is counted while the policy runs).
#include <gtest/gtest.h>

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"
#include "tests/verdict/verdict_test_util.h"

// The replacement operator new below uses malloc, so its deletes use free; GCC cannot
// see that pairing through the replacement.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<bool> g_armed{false};
std::atomic<uint64_t> g_news{0};
}  // namespace

// Counts C++ heap allocations while armed (this test binary only).
void* operator new(size_t n) {
  if (g_armed.load(std::memory_order_relaxed)) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    if (std::getenv("XB_TRACE_NEW")) {
      g_armed = false;
      void* bt[24];
      backtrace_symbols_fd(bt, backtrace(bt, 24), 2);
      write(2, "----\n", 5);
      g_armed = true;
    }
  }
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace xborder::dp {
namespace {

using namespace xborder::verdict_test;
constexpr uint64_t kNoon = kNewYearNoon;

// Flow-log members into a fixed buffer (no allocation, as the engine's).
struct FixedFields : FlowLogFields {
  char buf[8192];
  size_t n = 0;
  void append(std::string_view j) noexcept override {
    const size_t k = std::min(j.size(), sizeof buf - n);
    std::memcpy(buf + n, j.data(), k);
    n += k;
  }
  std::string text() const { return std::string(buf, n); }
};

constexpr uint32_t kRetail = 0xC6120214;     // 198.18.2.20 (T-RETAIL)
constexpr uint32_t kProhibited = 0xC00002C9;  // 192.0.2.201
constexpr uint32_t kExpress = 0xC612050A;    // 198.18.5.10 (T-EXPRESS)
constexpr uint32_t kLogistics = 0xCB007182;  // 203.0.113.130 (DST-US-LOGISTICS, FIL-2025-0005)

// A document marked 绝密★ (top secret): GEN-01, prohibited, block.
const std::string kDoc = "\xe7\xbb\x9d\xe5\xaf\x86\xe2\x98\x85\xe5\x90\xaf\xe7\x94\xa8\xe5\x89\x8d\n report\n";
const std::string kMarked = "POST /docs HTTP/1.1\r\nHost: files.example.invalid\r\nContent-Type: text/plain\r\n"
                            "Content-Length: " + std::to_string(kDoc.size()) + "\r\n\r\n" + kDoc;

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto a = RulesetSnapshot::fromRuleset(sampleRuleset());
    ASSERT_TRUE(a.ok()) << a.status();
    snap_ = new std::shared_ptr<const RulesetSnapshot>(*a);
  }
  static void TearDownTestSuite() { delete snap_; }
  void make(bool inline_mode, size_t ring_slots = 4096) {
    ASSERT_NE(snap_, nullptr);
    dir_ = tempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    log_ = makeLog(dir_);
    ASSERT_NE(log_, nullptr);
    evidence_sink::SinkOptions so;
    so.ringSlots = ring_slots;
    sink_ = std::make_unique<evidence_sink::EvidenceSink>(log_.get(), so);
    sink_->registerNames((*snap_)->names());
    counters::CounterStoreOptions co;
    store_ = std::make_unique<counters::CounterStore>(co);
    DataplaneWiring w;
    w.inline_mode = inline_mode;
    w.shard = &shard_;
    w.counts = store_.get();
    w.sink = sink_.get();
    w.samples = &samples_;
    RulesPolicyConfig pc;
    pc.flow_capacity = 64;
    pc.inspect.max_flows = 8;
    static const std::array<uint8_t, 32> key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    auto p = RulesPolicy::createDataplane(pc, w, *snap_, key);
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::move(*p);
  }
  std::vector<evidence::v1::FlowEvidence> flows() {
    sink_->runOnce();
    std::vector<evidence::v1::FlowEvidence> out;
    for (const auto& r : readAll(*log_)) {
      if (r.type() == evidence::v1::FLOW) out.push_back(r.flow());
    }
    return out;
  }
  // Handshake, the request, the response; returns the actions per packet (fixed
  // array: the allocation test runs it too).
  std::array<PolicyAction, 5> session(Flow& f, std::string_view req) {
    std::array<PolicyAction, 5> out{};
    out[0] = f.send(*policy_, 0, "", 1000);
    out[1] = f.send(*policy_, 1, "", 2000);
    out[2] = f.send(*policy_, 0, "", 3000);
    f.classifyHttp();
    out[3] = f.send(*policy_, 0, req, 4000);
    out[4] = f.send(*policy_, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 5000);
    return out;
  }

  static inline std::shared_ptr<const RulesetSnapshot>* snap_ = nullptr;
  std::string dir_;
  std::unique_ptr<evidence::Log> log_;
  std::unique_ptr<evidence_sink::EvidenceSink> sink_;
  std::unique_ptr<counters::CounterStore> store_;
  counters::CounterShard shard_{64};
  anomaly::FlowSampleRing samples_{64};
  std::unique_ptr<RulesPolicy> policy_;
};

TEST_F(PolicyTest, InlineBlockRecordsTheBytesThatCrossedBeforeTheDecision) {
  make(true);
  Flow f(kRetail, kProhibited, 42000, 1);
  const auto acts = session(f, kMarked);
  EXPECT_EQ(acts[2], PolicyAction::kLog);
  EXPECT_EQ(acts[3], PolicyAction::kBlock);  // the marked request is stopped
  EXPECT_TRUE(policy_->settled(f.v, acts[3]));
  const DataplaneStats st = policy_->dataplaneStats();
  EXPECT_EQ(st.decisions[static_cast<int>(PolicyAction::kLog)], 1u);
  EXPECT_EQ(st.decisions[static_cast<int>(PolicyAction::kBlock)], 1u);
  EXPECT_EQ(st.decisions[static_cast<int>(PolicyAction::kAlert)], 0u);
  FixedFields log;
  policy_->onFlowEnd(f.v, &log);
  const auto recs = flows();
  ASSERT_FALSE(recs.empty());
  const auto& first = recs.front();
  EXPECT_EQ(first.policy_decision(), "block");
  EXPECT_EQ(first.rule_id(), "GEN-01");
  EXPECT_EQ(first.bytes_out_before_decision(), 2u * 54) << "SYN and ACK crossed, the request did not";
  EXPECT_EQ(first.bytes_in_before_decision(), 54u);
  EXPECT_GT(first.bytes_out(), 2u * 54) << "the gateway saw the request that decided";
  EXPECT_GT(first.decided_unix_nanos(), 0);
  EXPECT_EQ(first.end_unix_nanos(), 0);  // decided mid-flow
  EXPECT_FALSE(first.final());
  EXPECT_EQ(recs.back().end_unix_nanos(), static_cast<int64_t>(f.v.now_ns));
  EXPECT_TRUE(recs.back().final());
  EXPECT_EQ(recs.back().bytes_out_before_decision(), 2u * 54) << "the final record states it again";
  EXPECT_GE(recs.back().bytes_out(), first.bytes_out());
  for (size_t i = 0; i + 1 < recs.size(); ++i) EXPECT_FALSE(recs[i].final()) << "one final record per flow";
  EXPECT_EQ(recs.back().policy_decision(), "block");
  EXPECT_EQ(recs.back().dst_ip(), std::string("\xc0\x00\x02\xc9", 4));
  EXPECT_EQ(recs.back().flow_id().size(), 16u);
  const std::string t = log.text();
  EXPECT_NE(t.find("\"verdict\":{\"action\":\"block\",\"entry_id\":\"GEN-01\""), std::string::npos) << t;
  EXPECT_NE(t.find("\"bytes_before_decision\":{\"out\":108,\"in\":54}"), std::string::npos) << t;
  EXPECT_NE(t.find("\"ruleset\":\"" + (*snap_)->sha256Hex() + "\""), std::string::npos) << t;
  EXPECT_NE(t.find("\"tenant\":\"T-RETAIL\""), std::string::npos) << t;
}

TEST_F(PolicyTest, TapModeReportsTheDropAsAnAlert) {
  make(false);
  Flow f(kRetail, kProhibited, 42001, 2);
  session(f, kMarked);
  FixedFields log;
  policy_->onFlowEnd(f.v, &log);
  const auto recs = flows();
  ASSERT_FALSE(recs.empty());
  for (const auto& r : recs) {
    EXPECT_EQ(r.policy_decision(), "alert");
    EXPECT_EQ(r.data_category(), "tap-mode: reported, not enforced");
  }
  const std::string t = log.text();
  EXPECT_NE(t.find("\"action\":\"alert\",\"inline_action\":\"block\""), std::string::npos) << t;
  // Nothing was dropped, so every byte crossed before the decision was known too.
  EXPECT_GT(recs.front().bytes_out_before_decision(), 2u * 54);
}

TEST_F(PolicyTest, FailClosedBlocksACoveredTransferWhenEvidenceCannotBeWritten) {
  make(true, 2);
  // Fill the worker's ring (the writer does not run): nothing more can be recorded.
  evidence_sink::EvidenceEvent e;
  ASSERT_TRUE(sink_->submit(0, e));
  ASSERT_TRUE(sink_->submit(0, e));
  ASSERT_FALSE(sink_->canRecord(0));
  Flow f(kExpress, kLogistics, 42002, 3);
  const auto acts = session(f, post("upload.example.invalid", waybills(0, 5, true)));
  EXPECT_EQ(acts.back(), PolicyAction::kBlock);
  EXPECT_EQ(policy_->dataplaneStats().fail_closed, 1u);
  FixedFields log;
  policy_->onFlowEnd(f.v, &log);
  EXPECT_NE(log.text().find("\"fail_closed\":true"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("evidence could not be written"), std::string::npos) << log.text();
  EXPECT_GT(policy_->dataplaneStats().events_lost, 0u);
  // With room again, the same transfer passes under its filing and is recorded.
  sink_->runOnce();
  Flow g(kExpress, kLogistics, 42003, 4);
  const auto ok = session(g, post("upload.example.invalid", waybills(0, 5, true)));
  EXPECT_EQ(ok.back(), PolicyAction::kLog);
  policy_->onFlowEnd(g.v, nullptr);
  const auto recs = flows();
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.back().policy_decision(), "allow-filing");
  EXPECT_EQ(recs.back().filing_id(), "FIL-2025-0005");
  EXPECT_EQ(recs.back().identifiers_count(), 10u);  // 5 resident IDs + 5 mobile numbers
}

TEST_F(PolicyTest, AFlowCarrying1000PeopleCountsThemAll) {
  make(true);
  constexpr uint32_t kNoFiling = 0xC00002C8;  // 192.0.2.200: GEN-03 counts the consignees
  Flow f(kExpress, kNoFiling, 42020, 12);
  const std::string body = waybills(5000, 1000);
  const std::string req = post("upload.example.invalid", body);
  f.send(*policy_, 0, "", 1000);
  f.send(*policy_, 1, "", 2000);
  f.send(*policy_, 0, "", 3000);
  f.classifyHttp();
  for (size_t off = 0; off < req.size(); off += 1448) {  // MSS-sized segments
    f.send(*policy_, 0, std::string_view(req).substr(off, 1448), 4000 + off);
  }
  FixedFields log;
  policy_->onFlowEnd(f.v, &log);
  const auto recs = flows();
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.back().identifiers_count(), 1000u);
  EXPECT_EQ(recs.back().rule_id(), "GEN-03");
  EXPECT_NE(log.text().find("\"identifiers\":1000"), std::string::npos) << log.text();
  EXPECT_EQ(policy_->dataplaneStats().hashes_dropped, 0u);
  // The sketch got every one of them.
  store_->merge(0, shard_);
  const auto& rs = (*snap_)->ruleset();
  uint32_t le = 0;
  for (const auto& t : rs.tenants()) {
    if (t.id() == "T-EXPRESS") le = t.legal_entity();
  }
  const rules::eval::CounterKey key{rules::eval::CounterKey::Kind::kEntry, le,
                                    static_cast<uint32_t>((*snap_)->evaluator().entryIndex("GEN-03")),
                                    (*snap_)->evaluator().yearOf(static_cast<int64_t>(kNoon / 1000000000ull))};
  const double n = static_cast<double>(store_->count(key));
  EXPECT_NEAR(n, 1000.0, 30.0);
}

TEST_F(PolicyTest, NoHeapAllocationPerPacketOrAtFlowEnd) {
  make(true);
  const std::string upload = post("upload.example.invalid", waybills(100, 5, true));
  // Warm up once (first-use paths of the libraries), then count.
  {
    Flow w(kExpress, kLogistics, 42009, 9);
    session(w, upload);
    policy_->onFlowEnd(w.v, nullptr);
  }
  // A long upload whose identifiers reach the counters mid-flow (a feed per segment),
  // with the store merging half way (the control thread's work, not counted).
  const std::string bulk = post("upload.example.invalid", waybills(20000, 300));
  auto longUpload = [&](Flow& h) {
    h.send(*policy_, 0, "", 1000);
    h.send(*policy_, 1, "", 2000);
    h.send(*policy_, 0, "", 3000);
    h.classifyHttp();
    for (size_t off = 0; off < bulk.size(); off += 1448) {
      if (off == 1448 * 10) {
        const bool armed = g_armed.exchange(false);
        store_->merge(0, shard_);
        g_armed = armed;
      }
      h.send(*policy_, 0, std::string_view(bulk).substr(off, 1448), 4000 + off);
    }
  };
  {
    Flow w(kExpress, 0xC00002C8, 42012, 12);
    longUpload(w);
    policy_->onFlowEnd(w.v, nullptr);
  }
  FixedFields log;
  Flow f(kRetail, kProhibited, 42010, 10);
  Flow g(kExpress, kLogistics, 42011, 11);
  Flow h(kExpress, 0xC00002C8, 42013, 13);  // 192.0.2.200: GEN-03 counts the consignees
  const uint64_t feeds_before = policy_->dataplaneStats().feeds;
  g_news = 0;
  g_armed = true;
  session(f, kMarked);
  session(g, upload);
  longUpload(h);
  policy_->onFlowEnd(f.v, &log);
  policy_->onFlowEnd(g.v, &log);
  policy_->onFlowEnd(h.v, &log);
  g_armed = false;
  EXPECT_EQ(g_news.load(), 0u) << "operator new calls while the policy ran";
  EXPECT_GE(policy_->dataplaneStats().events, 3u);
  EXPECT_GT(policy_->dataplaneStats().feeds, feeds_before + 10) << "the long upload fed the counters mid-flow";
  EXPECT_EQ(samples_.size(), 5u);  // one FlowSample per finished flow
}

}  // namespace
}  // namespace xborder::dp
