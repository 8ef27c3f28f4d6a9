// Identifiers reach the year's counters while flows are still open (issue 5): the
// dataplane policy hands each decision point's keyed hashes to the worker's
// CounterShard (plain counts as deltas, the flow itself at its end), and a flow's judge
// stops adding them once the CounterStore acknowledges the merge that counted them.
//
// - Open flows that each stay under the 100,000-individual threshold but together
//   cross it are judged over it while still open, at the packet the rule predicts;
//   ending them counts flows, records and bytes exactly once.
// - A flow carrying more identifiers than all the worker's hash blocks can hold is
//   counted in full, and its judge counts what was fed but not yet merged.
// - A decision in a tier that needs no filing says so ("exempt-tier"), not "wrong-type".
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/counters/counters_table.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"
#include "tests/verdict/verdict_test_util.h"

namespace xborder::dp {
namespace {

using namespace xborder::verdict_test;
using rules::eval::CounterKey;

constexpr uint32_t kVisitor = 0xC612070A;  // 198.18.7.10 (T-VISITOR: national baseline)
constexpr uint32_t kAbroad = 0xC00002C8;   // 192.0.2.200 (no filing)
constexpr uint64_t kThreshold = 100000;    // baseline non-sensitive: exempt below, alert from

struct Fields : FlowLogFields {
  std::string text;
  void append(std::string_view j) noexcept override { text.append(j); }
};

// A keep-alive style upload: the request head alone, then the body in segments of
// whole JSON lines (one resident ID each), so the identifiers each segment carries are
// known exactly.
struct Upload {
  std::vector<std::string> segments;  // [0] = head (no identifiers)
  std::vector<uint32_t> ids;          // identifiers per segment
  Upload(uint64_t first, uint32_t people) {
    const std::string body = waybills(first, people);
    const std::string whole = post("upload.example.invalid", body);
    segments.push_back(whole.substr(0, whole.size() - body.size()));
    ids.push_back(0);
    size_t off = 0;
    while (off < body.size()) {
      size_t end = off, lines = 0;
      for (size_t nl; (nl = body.find('\n', end)) != std::string::npos && nl + 1 - off <= 1400; end = nl + 1) ++lines;
      segments.push_back(body.substr(off, end - off));
      ids.push_back(static_cast<uint32_t>(lines));
      off = end;
    }
  }
};

class MidflowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto a = RulesetSnapshot::fromRuleset(sampleRuleset());
    ASSERT_TRUE(a.ok()) << a.status();
    snap_ = new std::shared_ptr<const RulesetSnapshot>(*a);
  }
  static void TearDownTestSuite() { delete snap_; }

  void make(uint32_t hash_blocks = 8192) {
    ASSERT_NE(snap_, nullptr);
    store_ = std::make_unique<counters::CounterStore>(counters::CounterStoreOptions{});
    DataplaneWiring w;
    w.shard = &shard_;
    w.counts = store_.get();
    RulesPolicyConfig pc;
    pc.flow_capacity = 64;
    pc.inspect.max_flows = 16;
    pc.hash_blocks = hash_blocks;
    static const std::array<uint8_t, 32> key{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};
    auto p = RulesPolicy::createDataplane(pc, w, *snap_, key);
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::move(*p);
  }
  // T-VISITOR's baseline counter (the aggregate row the law's threshold reads).
  CounterKey visitorKey() const {
    const RulesetSnapshot& s = **snap_;
    uint32_t le = 0;
    for (const auto& t : s.ruleset().tenants()) {
      if (t.id() == "T-VISITOR") le = t.legal_entity();
    }
    return {CounterKey::Kind::kBaselineNonSensitive, le, 0,
            s.evaluator().yearOf(static_cast<int64_t>(kNewYearNoon / 1000000000ull))};
  }
  // Opens a flow: handshake, classified as HTTP, the request head.
  void open(Flow& f, const Upload& u) {
    f.send(*policy_, 0, "", 1000);
    f.send(*policy_, 1, "", 2000);
    f.send(*policy_, 0, "", 3000);
    f.classifyHttp();
    EXPECT_EQ(f.send(*policy_, 0, u.segments[0], 4000), PolicyAction::kLog);
  }
  static uint64_t countIn(const std::string& log) {  // "count N" in the flow log's reason
    const size_t at = log.rfind("count ");
    return at == std::string::npos ? UINT64_MAX : std::stoull(log.substr(at + 6));
  }

  static inline std::shared_ptr<const RulesetSnapshot>* snap_ = nullptr;
  std::unique_ptr<counters::CounterStore> store_;
  counters::CounterShard shard_{64};
  std::unique_ptr<RulesPolicy> policy_;
};

TEST_F(MidflowTest, OpenFlowsCrossTheThresholdTogetherWhileStillOpen) {
  make();
  const CounterKey key = visitorKey();
  const counters::TallyKey total{key, 0, counters::Sensitivity::kAll};
  // The year so far: 88,000 people from earlier flows (keyed hashes as the detectors
  // produce them), merged.
  constexpr uint64_t kBefore = 88000;
  const counters::TallyKey bulk{key, counters::countryCode('Z', 'Z'), counters::Sensitivity::kNonSensitive};
  uint64_t seed = 7;
  std::array<uint64_t, 16> h{};
  for (uint64_t n = 0; n < kBefore; n += h.size()) {
    for (auto& x : h) x = splitmix(&seed);
    shard_.update(bulk, h, h.size(), 4096, 1);
  }
  store_->merge(0, shard_);
  const counters::Totals t0 = store_->totals(total);
  ASSERT_EQ(t0.flows, kBefore / 16);

  // Six uploads of 2,500 people each, interleaved segment by segment; the store merges
  // after every round (the merge interval). Each flow alone stays under the threshold
  // (judged at flow end, as before, none of them would ever cross while open).
  constexpr int kFlows = 6;
  constexpr uint32_t kPeople = 2500;
  ASSERT_LT(store_->count(key) + kPeople, kThreshold) << "the test needs flows that stay under alone";
  ASSERT_GT(kBefore + kFlows * kPeople, kThreshold + kThreshold / 50) << "and that cross together";
  std::vector<Upload> uploads;
  std::vector<std::unique_ptr<Flow>> flows;
  for (int k = 0; k < kFlows; ++k) {
    uploads.emplace_back(1000000 + static_cast<uint64_t>(k) * 10000, kPeople);
    flows.push_back(std::make_unique<Flow>(kVisitor, kAbroad, static_cast<uint16_t>(41000 + k),
                                           static_cast<uint32_t>(k + 1)));
    open(*flows.back(), uploads.back());
  }
  std::vector<bool> alerted(kFlows, false);
  uint64_t people = kBefore;  // true distinct individuals sent so far
  int first_round = -1;
  uint64_t people_at_flip = 0, estimate_at_flip = 0;
  size_t rounds = 0;
  for (const auto& u : uploads) rounds = std::max(rounds, u.segments.size());
  for (size_t r = 1; r < rounds; ++r) {
    for (int k = 0; k < kFlows; ++k) {
      if (r >= uploads[k].segments.size()) continue;
      // The rule: the store's estimate (everything merged) plus this flow's identifiers
      // the store does not count yet (this segment's: the earlier ones were merged).
      const uint64_t estimate = store_->count(key);
      const uint32_t n = uploads[k].ids[r];
      const bool predicted = alerted[k] || estimate + n >= kThreshold;
      const PolicyAction got = flows[k]->send(*policy_, 0, uploads[k].segments[r], 5000 + r * 10 + k);
      people += n;
      ASSERT_EQ(got, predicted ? PolicyAction::kAlert : PolicyAction::kLog)
          << "round " << r << " flow " << k << ": estimate " << estimate << " + " << n;
      if (predicted && first_round < 0) {
        first_round = static_cast<int>(r);
        people_at_flip = people;
        estimate_at_flip = estimate;
      }
      alerted[k] = predicted;
    }
    store_->merge(0, shard_);
  }
  ASSERT_GE(first_round, 0) << "the open flows never crossed together";
  EXPECT_LT(static_cast<size_t>(first_round) + 2, rounds) << "it must flip while the uploads are still going";
  EXPECT_TRUE(std::all_of(alerted.begin(), alerted.end(), [](bool a) { return a; }));
  const double err = (static_cast<double>(people_at_flip) - kThreshold) / kThreshold;
  EXPECT_LT(std::abs(err), 0.02) << people_at_flip << " true individuals at the flip";
  std::printf("flip in round %d of %zu: %llu true individuals, estimate before %llu (error %+.2f%%)\n", first_round,
              rounds - 1, static_cast<unsigned long long>(people_at_flip),
              static_cast<unsigned long long>(estimate_at_flip), 100 * err);
  EXPECT_GT(policy_->dataplaneStats().feeds, 0u);

  // Still open: records and bytes fed as they crossed, no flow counted yet.
  const counters::Totals open_totals = store_->totals(total);
  EXPECT_EQ(open_totals.flows, t0.flows);
  uint64_t records = 0, bytes = 0;
  for (int k = 0; k < kFlows; ++k) bytes += flows[k]->v.bytes[0];
  EXPECT_GT(open_totals.records, t0.records);
  const uint64_t people_open = store_->count(key);

  // End them: each flow counts once; records, bytes and individuals are not added again.
  for (int k = 0; k < kFlows; ++k) {
    Fields log;
    policy_->onFlowEnd(flows[k]->v, &log);
    EXPECT_NE(log.text.find("\"action\":\"alert\""), std::string::npos) << log.text;
    EXPECT_NE(log.text.find("\"identifiers\":" + std::to_string(kPeople)), std::string::npos) << log.text;
    EXPECT_NE(log.text.find("no filing covers it (no-filing;"), std::string::npos) << log.text;
  }
  store_->merge(0, shard_);
  const counters::Totals end = store_->totals(total);
  EXPECT_EQ(end.flows, t0.flows + kFlows);
  records = end.records - t0.records;
  EXPECT_EQ(records, uint64_t{kFlows} * kPeople) << "one JSON line per person, each counted once";
  EXPECT_EQ(end.records, open_totals.records) << "nothing left to feed at flow end";
  EXPECT_EQ(end.bytes - t0.bytes, bytes) << "every byte sent, counted once";
  EXPECT_EQ(store_->count(key), people_open) << "the flow ends add no identifier twice";
  const double err_end = (static_cast<double>(store_->count(key)) - static_cast<double>(people)) / people;
  EXPECT_LT(std::abs(err_end), 0.02) << store_->count(key) << " estimated, " << people << " sent";
  EXPECT_EQ(policy_->dataplaneStats().hashes_dropped, 0u);
}

TEST_F(MidflowTest, AFlowLargerThanAllHashBlocksIsCountedInFull) {
  // Two blocks: 124 hashes at a time for the whole worker, against 3,000 in one flow.
  make(2);
  const CounterKey key = visitorKey();
  constexpr uint32_t kPeople = 3000;
  const Upload u(5000000, kPeople);
  Flow f(kVisitor, kAbroad, 42000, 1);
  open(f, u);
  // The store merges once, half way; the judge then counts the merged half in the
  // store's estimate and only the rest as the flow's own.
  uint32_t sent = 0, after_merge = 0;
  bool merged = false;
  for (size_t r = 1; r < u.segments.size(); ++r) {
    f.send(*policy_, 0, u.segments[r], 5000 + r);
    sent += u.ids[r];
    if (merged) after_merge += u.ids[r];
    if (!merged && sent >= kPeople / 2) {
      store_->merge(0, shard_);
      merged = true;
    }
  }
  ASSERT_TRUE(merged);
  ASSERT_EQ(sent, kPeople);
  const uint64_t estimate = store_->count(key);
  EXPECT_NEAR(static_cast<double>(estimate), kPeople - after_merge, 0.02 * kPeople);
  Fields log;
  policy_->onFlowEnd(f.v, &log);
  EXPECT_NE(log.text.find("\"identifiers\":3000"), std::string::npos) << log.text;
  EXPECT_EQ(countIn(log.text), estimate + after_merge)
      << "judged: the store's estimate plus what was fed after the merge, nothing twice: " << log.text;
  const DataplaneStats st = policy_->dataplaneStats();
  EXPECT_EQ(st.hashes_dropped, 0u) << "the blocks were recycled at every decision point";
  EXPECT_GT(st.feeds, kPeople / 124);
  store_->merge(0, shard_);
  EXPECT_NEAR(static_cast<double>(store_->count(key)), kPeople, 0.02 * kPeople);
  EXPECT_EQ(store_->totals({key, 0, counters::Sensitivity::kAll}).flows, 1u);

  // A later flow of the same people adds none (the sketch is idempotent) and is judged
  // by the store's estimate plus its own identifiers, fed but not merged.
  Flow g(kVisitor, kAbroad, 42001, 2);
  open(g, u);
  for (size_t r = 1; r < u.segments.size(); ++r) g.send(*policy_, 0, u.segments[r], 9000 + r);
  Fields log2;
  const uint64_t before = store_->count(key);
  policy_->onFlowEnd(g.v, &log2);
  EXPECT_EQ(countIn(log2.text), before + kPeople) << log2.text;
  store_->merge(0, shard_);
  EXPECT_EQ(store_->count(key), before);
  EXPECT_EQ(store_->totals({key, 0, counters::Sensitivity::kAll}).flows, 2u);
}

TEST_F(MidflowTest, AnExemptTierSaysSoRatherThanWrongType) {
  make();
  // T-RETAIL sends 60 member records to its Singapore hub: RETAIL-01, count 60, in the
  // exempt tier (1-99,999). Its filing FIL-2025-0002 (a standard contract) names the
  // entry and destination, but "exempt" accepts no filing type: the Evaluator reports
  // that miss as wrong-type although no filing is needed.
  std::string body;
  for (int i = 0; i < 60; ++i) {
    body += "{\"member_id\":\"M" + std::to_string(7000 + i) + "\",\"mobile\":\"1380013" + std::to_string(1000 + i) +
            "\",\"tier\":\"gold\",\"loyalty\":" + std::to_string(i) + "}\n";
  }
  const std::string req = "POST /crm/members HTTP/1.1\r\nHost: crm.example.net\r\nContent-Type: "
                          "application/x-ndjson\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  Flow f(0xC6120214 /* 198.18.2.20 */, 0xC633640A /* 198.51.100.10 */, 43000, 3);
  f.send(*policy_, 0, "", 1000);
  f.send(*policy_, 1, "", 2000);
  f.send(*policy_, 0, "", 3000);
  f.classifyHttp();
  for (size_t off = 0; off < req.size(); off += 1448) f.send(*policy_, 0, std::string_view(req).substr(off, 1448), 4000 + off);
  Fields log;
  policy_->onFlowEnd(f.v, &log);
  EXPECT_NE(log.text.find("\"action\":\"log\",\"entry_id\":\"RETAIL-01\""), std::string::npos) << log.text;
  EXPECT_NE(log.text.find("no filing needed (exempt-tier; mechanism exempt; count 60)"), std::string::npos)
      << log.text;
  EXPECT_EQ(log.text.find("wrong-type"), std::string::npos) << log.text;
}

}  // namespace
}  // namespace xborder::dp
