// Ruleset snapshots and the worker-side switch: a flow that started under one version
// is judged under the next at its next decision point (records and the flow log cite
// the new hash), and its inspection keeps working whether the detector database is the
// same (shared streams) or changed (the flow finishes on the previous database).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"
#include "tests/verdict/verdict_test_util.h"

namespace xborder::dp {
namespace {

using namespace xborder::verdict_test;

struct Fields : FlowLogFields {
  std::string text;
  void append(std::string_view j) noexcept override { text.append(j); }
};

constexpr uint32_t kExpress = 0xC612050A;  // 198.18.5.10 (T-EXPRESS)
constexpr uint32_t kNoFiling = 0xC00002C8;  // 192.0.2.200

class SnapshotTest : public ::testing::Test {
 protected:
  // Compiling the detector database takes seconds: once for the suite.
  static void SetUpTestSuite() {
    base0_ = new rules::pb::Ruleset(sampleRuleset());
    auto a = RulesetSnapshot::fromRuleset(*base0_);
    ASSERT_TRUE(a.ok()) << a.status();
    a0_ = new std::shared_ptr<const RulesetSnapshot>(*a);
  }
  static void TearDownTestSuite() {
    delete a0_;
    delete base0_;
  }
  void SetUp() override {
    ASSERT_NE(a0_, nullptr);
    base_ = *base0_;
    a_ = *a0_;
    dir_ = tempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    log_ = makeLog(dir_);
    ASSERT_NE(log_, nullptr);
    evidence_sink::SinkOptions so;
    so.workers = 1;
    sink_ = std::make_unique<evidence_sink::EvidenceSink>(log_.get(), so);
    sink_->registerNames(a_->names());
    counters::CounterStoreOptions co;
    co.thresholds = a_->thresholds();
    co.ratios = a_->alertRatios();
    store_ = std::make_unique<counters::CounterStore>(co);
    DataplaneWiring w;
    w.shard = &shard_;
    w.counts = store_.get();
    w.sink = sink_.get();
    w.samples = &samples_;
    RulesPolicyConfig pc;
    pc.flow_capacity = 64;
    pc.inspect.max_flows = 8;
    auto p = RulesPolicy::createDataplane(pc, w, a_, key_);
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::move(*p);
  }
  std::shared_ptr<const RulesetSnapshot> variant(const char* version, bool change_detectors) {
    rules::pb::Ruleset rs = base_;
    rs.set_version(version);
    if (change_detectors) {
      auto* kw = rs.mutable_dictionaries(0)->add_keywords();
      kw->set_utf8("xbordertestkeyword");
      kw->set_ascii_case_insensitive(true);
      kw->set_ascii_word_boundary(true);
    }
    auto s = RulesetSnapshot::fromRuleset(std::move(rs), a_.get());
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return nullptr;
    sink_->registerNames((*s)->names());
    return *s;
  }
  // Records of FLOW type, in log order, after the writer took what is queued.
  std::vector<evidence::v1::FlowEvidence> flows() {
    sink_->runOnce();
    std::vector<evidence::v1::FlowEvidence> out;
    for (const auto& r : readAll(*log_)) {
      if (r.type() == evidence::v1::FLOW) out.push_back(r.flow());
    }
    return out;
  }
  // Handshake and the first part of an upload of 10 resident IDs (5 in this part).
  void startUpload(Flow& f, std::string* rest) {
    const std::string req = post("upload.example.invalid", waybills(0, 10));
    const size_t cut = req.find("{\"waybill\":\"SF5\"");
    ASSERT_NE(cut, std::string::npos);
    f.send(*policy_, 0, "", 1000);
    f.send(*policy_, 1, "", 2000);
    f.send(*policy_, 0, "", 3000);
    f.classifyHttp();
    f.send(*policy_, 0, std::string_view(req).substr(0, cut), 4000);
    *rest = req.substr(cut);
  }

  static inline rules::pb::Ruleset* base0_ = nullptr;
  static inline std::shared_ptr<const RulesetSnapshot>* a0_ = nullptr;
  rules::pb::Ruleset base_;
  std::shared_ptr<const RulesetSnapshot> a_;
  std::string dir_;
  std::unique_ptr<evidence::Log> log_;
  std::unique_ptr<evidence_sink::EvidenceSink> sink_;
  std::unique_ptr<counters::CounterStore> store_;
  counters::CounterShard shard_{64};
  anomaly::FlowSampleRing samples_{64};
  std::array<uint8_t, 32> key_{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::unique_ptr<RulesPolicy> policy_;
};

TEST_F(SnapshotTest, SnapshotCarriesNamesThresholdsAndRatios) {
  EXPECT_EQ(a_->sha256Hex().size(), 64u);
  EXPECT_EQ(a_->alertRatios(), (std::vector<double>{0.5, 0.8, 1.0}));
  bool baseline = false;
  for (const auto& t : a_->thresholds()) {
    if (t.kind == rules::eval::CounterKey::Kind::kBaselineNonSensitive) {
      baseline = true;
      EXPECT_EQ(t.boundaries, (std::vector<uint64_t>{100000, 1000000}));
    }
  }
  EXPECT_TRUE(baseline);
  const auto& n = *a_->names();
  EXPECT_EQ(n.sha256, a_->sha256());
  EXPECT_EQ(n.entries.size(), static_cast<size_t>(a_->ruleset().entries_size()) + 5);
  EXPECT_EQ(n.entries.back(), "BASELINE-SENSITIVE-PI");
  EXPECT_EQ(n.tenants.size(), static_cast<size_t>(a_->ruleset().legal_entities_size()));
  // A compiled file loads to the same version hash as its bytes.
  const std::string bytes = rules::compile::serializeDeterministic(base_);
  auto again = RulesetSnapshot::fromBytes(bytes, a_.get());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->sha256Hex(), rules::compile::sha256Hex(bytes));
  EXPECT_EQ((*again)->detectors(), a_->detectors());  // same definitions: database shared
  EXPECT_FALSE(RulesetSnapshot::fromBytes("not a ruleset").ok());
  EXPECT_FALSE(RulesetSnapshot::loadFile(dir_ + "/missing.pb").ok());
}

TEST_F(SnapshotTest, AdoptMidFlowSameDetectorsNextDecisionCitesNewHash) {
  auto b = variant("2025.1-sample-B", false);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->sameDetectors(*a_));
  EXPECT_NE(b->sha256Hex(), a_->sha256Hex());
  Flow f(kExpress, kNoFiling, 41000, 3);
  std::string rest;
  startUpload(f, &rest);
  auto before = flows();
  ASSERT_FALSE(before.empty());
  for (const auto& r : before) EXPECT_EQ(hex(r.ruleset_sha256()), a_->sha256Hex());

  auto prepared = policy_->prepare(b);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_FALSE((*prepared)->newDetectorDatabase());
  const uint64_t epoch = policy_->epoch();
  auto old = policy_->adopt(std::move(*prepared));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->snapshot(), a_);
  EXPECT_EQ(policy_->current().sha256Hex(), b->sha256Hex());
  EXPECT_NE(policy_->epoch(), epoch);

  f.send(*policy_, 0, rest, 5000);  // the next decision point
  auto after = flows();
  ASSERT_GT(after.size(), before.size());
  EXPECT_EQ(hex(after[before.size()].ruleset_sha256()), b->sha256Hex());
  EXPECT_EQ(after[before.size()].rule_id(), "GEN-03");

  Fields log;
  f.send(*policy_, 1, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 6000);
  policy_->onFlowEnd(f.v, &log);
  auto all = flows();
  ASSERT_FALSE(all.empty());
  const auto& last = all.back();
  EXPECT_EQ(hex(last.ruleset_sha256()), b->sha256Hex());
  EXPECT_EQ(last.identifiers_count(), 10u) << "the stream kept scanning across the switch";
  EXPECT_EQ(last.records(), 10u);
  EXPECT_NE(log.text.find("\"ruleset\":\"" + b->sha256Hex() + "\""), std::string::npos) << log.text;
  EXPECT_NE(log.text.find("\"cn_resident_id\":10"), std::string::npos) << log.text;
  EXPECT_EQ(policy_->inspector().inUse(), 0u);
}

TEST_F(SnapshotTest, AdoptMidFlowNewDetectorDatabaseFlowFinishesOnThePreviousOne) {
  auto c = variant("2025.1-sample-C", true);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->sameDetectors(*a_));
  EXPECT_NE(c->detectors(), a_->detectors());
  Flow f(kExpress, kNoFiling, 41001, 5);
  std::string rest;
  startUpload(f, &rest);
  auto prepared = policy_->prepare(c);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_TRUE((*prepared)->newDetectorDatabase());
  auto old = policy_->adopt(std::move(*prepared));
  EXPECT_EQ(policy_->inspector().inUse(), 0u);  // the new pool: the flow is not in it

  // A flow that starts now is inspected under the new database.
  Flow g(kExpress, kNoFiling, 41002, 6);
  g.send(*policy_, 0, "", 1000);
  EXPECT_EQ(policy_->inspector().inUse(), 1u);

  f.send(*policy_, 0, rest, 5000);
  Fields log;
  policy_->onFlowEnd(f.v, &log);
  auto all = flows();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(hex(all.back().ruleset_sha256()), c->sha256Hex());
  EXPECT_EQ(all.back().identifiers_count(), 10u) << "the old stream finished the flow";
  EXPECT_NE(log.text.find("\"cn_resident_id\":10"), std::string::npos) << log.text;
  EXPECT_EQ(policy_->dataplaneStats().orphaned_inspections, 0u);
  old.reset();  // after the grace period: the old version's resources go

  // Two database changes during one flow: it loses its stream and is judged on
  // metadata from then on (counted), without touching freed memory.
  Flow h(kExpress, kNoFiling, 41003, 7);
  startUpload(h, &rest);
  auto back = policy_->prepare(a_);
  ASSERT_TRUE(back.ok());
  auto old2 = policy_->adopt(std::move(*back));
  auto again = policy_->prepare(c);
  ASSERT_TRUE(again.ok());
  auto old3 = policy_->adopt(std::move(*again));
  old2.reset();
  old3.reset();
  h.send(*policy_, 0, rest, 5000);
  policy_->onFlowEnd(h.v, nullptr);
  EXPECT_EQ(policy_->dataplaneStats().orphaned_inspections, 1u);
  policy_->onFlowEnd(g.v, nullptr);
}

}  // namespace
}  // namespace xborder::dp
