// The bounded slice of the scale benchmark: a generated list with thousands of
// destinations and keywords loads cleanly, compiles, and every lookup path (CIDR,
// domain suffix, filings) finds the right row. Speed is measured by
// rules_eval_benchmark, never here.

#include <random>

#include "tests/rules/rules_scale_gen.h"
#include "tests/rules/rules_test_util.h"

namespace xborder::rules {
namespace {

TEST(ScaleList, GeneratedListCompilesAndLooksUpEveryKindOfRow) {
  testing::ScaleSpec spec{4000, 1000};
  std::string text = testing::generateScaleList(spec);
  auto loaded = lang::loadListText(text, "scale.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.formatAll().substr(0, 2000);
  auto rs = compile::compileList(*loaded.list);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(rs->destinations_size(), 2000);
  size_t keywords = 0;
  for (const auto& d : rs->dictionaries()) keywords += static_cast<size_t>(d.keywords_size());
  EXPECT_EQ(keywords, 1000u);
  EXPECT_FALSE(rs->hyperscan_db().empty());
  auto ev = eval::Evaluator::create(*rs);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto& e = **ev;

  std::vector<uint32_t> det(static_cast<size_t>(rs->detectors_size()), 0);
  std::vector<uint32_t> dict(static_cast<size_t>(rs->dictionaries_size()), 0);
  det[static_cast<size_t>(e.detectorIndex("cn_mobile"))] = 50;
  dict[static_cast<size_t>(e.dictionaryIndex("kw_gen_0"))] = 1;
  eval::FlowFacts f;
  f.domesticIp = *geo::parseIp(testing::kScaleTenantSource);
  f.detectorRecords = det;
  f.dictionaryRecords = dict;
  f.records = 50;
  f.newIndividualsNonSensitive = 50;
  f.timeUnix = 1770000000;  // 2026-02-02
  eval::InMemoryCounters counters;

  std::mt19937 rng(7);
  for (int n = 0; n < 300; ++n) {
    size_t i = rng() % 2000;
    f.foreignIp = testing::scaleDestinationAddress(i);
    f.foreignName = "";
    eval::Decision d = e.evaluate(f, counters);
    ASSERT_EQ(d.destination, e.destinationIndex(testing::scaleDestinationId(i))) << i;
    EXPECT_FALSE(d.destinationByName);
    // By name: an address outside every CIDR, a host under the destination's domain.
    f.foreignIp = *geo::parseIp("192.0.2.1");
    std::string host = testing::scaleDestinationHost(i);
    f.foreignName = host;
    d = e.evaluate(f, counters);
    ASSERT_EQ(d.destination, e.destinationIndex(testing::scaleDestinationId(i))) << host;
    EXPECT_TRUE(d.destinationByName);
  }
  // A name that only shares a suffix label with the domains matches nothing.
  f.foreignName = "evilr1.partner1.example";
  EXPECT_EQ(e.evaluate(f, counters).destination, -1);

  // Filings: T-SCALE-0 may send SCN-0-A to DST-000000 (and one other) under FIL-0.
  const int32_t le = e.evaluate(f, counters).legalEntity;
  ASSERT_GE(le, 0);
  counters.set({eval::CounterKey::Kind::kEntry, static_cast<uint32_t>(le),
                static_cast<uint32_t>(e.entryIndex("SCN-0-A")), e.yearOf(f.timeUnix)},
               150000);
  f.foreignName = "";
  f.foreignIp = testing::scaleDestinationAddress(0);
  eval::Decision covered = e.evaluate(f, counters);
  EXPECT_EQ(eval::actionName(covered.action), "log") << e.describe(covered);
  EXPECT_EQ(covered.filing, e.filingIndex("FIL-0"));
  f.foreignIp = testing::scaleDestinationAddress(1);
  eval::Decision uncovered = e.evaluate(f, counters);
  EXPECT_EQ(eval::actionName(uncovered.action), "alert") << e.describe(uncovered);
  EXPECT_EQ(e.reportedEntry(uncovered), "SCN-0-A");
}

}  // namespace
}  // namespace xborder::rules
