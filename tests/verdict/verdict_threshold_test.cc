// The 100,000-individual threshold (issue 5), at library level: the engine (decode,
// flow table, nDPI), the dataplane RulesPolicy, a worker's CounterShard and the
// CounterStore merged synchronously after every flow, and the EvidenceSink on a real
// evidence Log.
//
// T-VISITOR is registered outside the zone, so the national baseline applies: up to
// 99,999 non-sensitive individuals a year are exempt (log), from 100,000 a standard
// contract or certification is needed (alert, as no filing covers it). The bulk of the
// individuals comes from a generator of keyed hashes fed to the shard as flows would;
// the last few thousand come as real HTTP uploads of 16 checksum-valid resident IDs
// each, through the engine.
//
// The decision rule replicated here (docs/enforcement.md): a flow is judged by the
// CounterStore's HLL estimate before it (raw, not a bound) plus the flow's own
// identifiers the store does not count yet, all counted as new (an upper bound for the
// flow). The policy feeds them to the shard mid-flow, but the store merges only between
// flows here, so that is all 16 of each flow: the prediction is the same as when they
// reached the shard only at flow end (verdict_midflow_test covers merges mid-flow).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/counters/counters_table.h"
#include "dataplane/engine/engine.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/evidence_sink/evidence_sink_records.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"
#include "tests/dataplane/packet_builder.h"
#include "tests/verdict/verdict_test_util.h"

namespace xborder::dp {
namespace {

using namespace xborder::verdict_test;
using rules::eval::CounterKey;
constexpr uint64_t kNoon = 1769947200ull * 1000000000ull;  // 2026-02-01 12:00 UTC
constexpr uint32_t kVisitor = 0xC612070A;                  // 198.18.7.10 (T-VISITOR)
constexpr uint32_t kAbroad = 0xC00002C8;                   // 192.0.2.200
constexpr uint64_t kPerFlow = 16;                          // resident IDs per upload

struct Lines : FlowLogSink {
  std::vector<std::string> lines;
  void onFlowRecord(std::string_view l) noexcept override { lines.emplace_back(l); }
};

// One worker: engine + policy + shard over a shared store and sink.
struct Worker {
  counters::CounterShard shard{64};
  Lines log;
  std::unique_ptr<RulesPolicy> policy;
  std::unique_ptr<Engine> engine;
  uint64_t t = kNoon;
  uint16_t port = 20000;

  Worker(std::shared_ptr<const RulesetSnapshot> snap, counters::CounterStore* store,
         evidence_sink::EvidenceSink* sink) {
    DataplaneWiring w;
    w.shard = &shard;
    w.counts = store;
    w.sink = sink;
    RulesPolicyConfig pc;
    pc.flow_capacity = 1024;
    pc.inspect.max_flows = 16;
    static const std::array<uint8_t, 32> key{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    auto p = RulesPolicy::createDataplane(pc, w, std::move(snap), key);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return;
    policy = std::move(*p);
    EngineConfig ec;
    ec.flow_capacity = 1024;
    ec.policy = policy.get();
    std::string err;
    engine = Engine::create(ec, &log, &err);
    EXPECT_NE(engine, nullptr) << err;
  }
  // One upload of residentId(first .. first+15); returns the flow's logged action.
  std::string upload(uint64_t first) {
    const std::string req = post("upload.example.invalid", waybills(first, kPerFlow));
    for (const auto& f : test::tcpSession(kVisitor, kAbroad, port++, 80, req,
                                          "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")) {
      PacketIn p;
      p.data = f.data();
      p.caplen = p.wirelen = static_cast<uint32_t>(f.size());
      p.ts_ns = t += 1000;
      Verdict v;
      engine->processBurst(&p, 1, &v);
    }
    engine->flushAll(t += 1000);
    const std::string& l = log.lines.back();
    const std::string tag = "\"verdict\":{\"action\":\"";
    const size_t at = l.find(tag);
    if (at == std::string::npos) return "?";
    return l.substr(at + tag.size(), l.find('"', at + tag.size()) - at - tag.size());
  }
};

TEST(VerdictThreshold, DecisionChangesExactlyAtTheCrossingAndSurvivesARestart) {
  auto snap = RulesetSnapshot::fromRuleset(sampleRuleset());
  ASSERT_TRUE(snap.ok()) << snap.status();
  const RulesetSnapshot& s = **snap;
  const std::string dir = tempDir("threshold");
  auto log = makeLog(dir + "/log");
  ASSERT_NE(log, nullptr);
  evidence_sink::SinkOptions so;
  evidence_sink::EvidenceSink sink(log.get(), so);
  sink.registerNames(s.names());
  counters::CounterStoreOptions co;
  co.thresholds = s.thresholds();
  co.ratios = s.alertRatios();
  co.snapshotPath = dir + "/counters.snap";
  auto store = std::make_unique<counters::CounterStore>(co);
  ASSERT_TRUE(store->load().ok());

  int32_t tenant = -1;
  for (int i = 0; i < s.ruleset().tenants_size(); ++i) {
    if (s.ruleset().tenants(i).id() == "T-VISITOR") tenant = i;
  }
  ASSERT_GE(tenant, 0);
  const uint32_t le = s.ruleset().tenants(tenant).legal_entity();
  const CounterKey key{CounterKey::Kind::kBaselineNonSensitive, le, 0,
                       s.evaluator().yearOf(static_cast<int64_t>(kNoon / 1000000000ull))};
  auto submitCrossings = [&](counters::CounterStore& st) {
    for (const auto& c : st.pollCrossings()) {
      EXPECT_TRUE(sink.submitControl(evidence_sink::thresholdRecord(c, *s.names(), static_cast<int64_t>(kNoon))));
    }
  };

  Worker w(*snap, store.get(), &sink);
  ASSERT_NE(w.engine, nullptr);
  // A first real upload: exact count (the sketch is exact while small), exempt tier.
  uint64_t people = 0;  // true distinct individuals so far
  EXPECT_EQ(w.upload(1000000), "log");
  people += kPerFlow;
  store->merge(0, w.shard);
  ASSERT_EQ(store->count(key), kPerFlow) << "the policy counts under T-VISITOR's baseline key";

  // The bulk: keyed hashes as the detectors produce them (64-bit HMAC truncations,
  // uniform), 16 a flow, into the same counter.
  uint64_t seed = 42;
  std::array<uint64_t, kPerFlow> hashes{};
  const counters::TallyKey bulkKey{key, counters::countryCode('Z', 'Z'), counters::Sensitivity::kNonSensitive};
  for (int batch = 0; people < 96000; ++batch) {
    for (auto& h : hashes) h = splitmix(&seed);
    w.shard.update(bulkKey, hashes, kPerFlow, 4096, 1);
    people += kPerFlow;
    if (batch % 64 == 63) {
      store->merge(0, w.shard);
      submitCrossings(*store);
    }
  }
  store->merge(0, w.shard);
  submitCrossings(*store);
  sink.runOnce();

  // Real uploads until well past the crossing; each judged as predicted.
  int first_alert = -1;
  uint64_t people_at_alert = 0, estimate_before_alert = 0;
  uint64_t next_id = 2000000;
  for (int k = 0; k < 800 && (first_alert < 0 || k < first_alert + 20); ++k) {
    const uint64_t before = store->count(key);
    const bool expect_alert = before + kPerFlow >= 100000;
    const std::string got = w.upload(next_id);
    next_id += kPerFlow;
    people += kPerFlow;
    ASSERT_EQ(got, expect_alert ? "alert" : "log") << "flow " << k << ": estimate before " << before;
    if (expect_alert && first_alert < 0) {
      first_alert = k;
      people_at_alert = people;
      estimate_before_alert = before;
    }
    if (first_alert >= 0) {
      ASSERT_EQ(got, "alert") << "the decision never goes back, flow " << k;
    }
    store->merge(0, w.shard);
    submitCrossings(*store);
    sink.runOnce();
  }
  ASSERT_GE(first_alert, 0) << "never crossed";
  EXPECT_GT(first_alert, 0) << "crossed before the first real upload";
  const double err = (static_cast<double>(people_at_alert) - 100000.0) / 100000.0;
  EXPECT_LT(std::abs(err), 0.02) << people_at_alert << " individuals at the crossing";
  RecordProperty("crossing_true_individuals", std::to_string(people_at_alert));
  RecordProperty("crossing_estimate_before", std::to_string(estimate_before_alert));
  std::printf("crossing at flow %d: %llu true individuals, estimate before %llu (error %+.2f%%)\n", first_alert,
              static_cast<unsigned long long>(people_at_alert),
              static_cast<unsigned long long>(estimate_before_alert), 100 * err);

  // One THRESHOLD record per warning ratio of the 100,000 boundary.
  sink.runOnce();
  std::vector<uint64_t> levels;
  bool alert_flow = false;
  const std::string uscc = s.ruleset().legal_entities(static_cast<int>(le));
  for (const auto& r : readAll(*log)) {
    if (r.type() == evidence::v1::THRESHOLD && r.threshold().rule_id() == "BASELINE-NON-SENSITIVE") {
      EXPECT_EQ(r.tenant(), uscc);
      EXPECT_EQ(r.threshold().metric(), "individuals");
      levels.push_back(r.threshold().threshold());
    }
    if (r.type() == evidence::v1::FLOW && r.flow().policy_decision() == "alert") {
      EXPECT_EQ(r.flow().rule_id(), "BASELINE-PI");
      EXPECT_EQ(r.tenant(), uscc);
      EXPECT_EQ(r.flow().identifiers_count(), kPerFlow);
      EXPECT_GT(r.flow().bytes_out(), 0u);
      alert_flow = true;
    }
  }
  EXPECT_EQ(levels, (std::vector<uint64_t>{50000, 80000, 100000}));
  EXPECT_TRUE(alert_flow);

  // Restart: snapshot, a fresh store loads it; the count and the decision persist and
  // no crossing is reported twice.
  const uint64_t count_before_restart = store->count(key);
  ASSERT_TRUE(store->snapshot().ok());
  w.engine.reset();
  store = std::make_unique<counters::CounterStore>(co);
  ASSERT_TRUE(store->load().ok());
  EXPECT_EQ(store->loadedFrom(), co.snapshotPath);
  EXPECT_EQ(store->count(key), count_before_restart);
  EXPECT_TRUE(store->pollCrossings().empty());
  Worker w2(*snap, store.get(), &sink);
  ASSERT_NE(w2.engine, nullptr);
  EXPECT_EQ(w2.upload(next_id), "alert");
  store->merge(0, w2.shard);
  EXPECT_TRUE(store->pollCrossings().empty());
  EXPECT_GE(store->count(key), count_before_restart);
}

}  // namespace
}  // namespace xborder::dp
