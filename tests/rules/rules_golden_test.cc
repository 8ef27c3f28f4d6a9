// Golden scenarios: every case in cases/sample_golden.yaml is one flow against the
// sample list, with the decision, entry, filing and counters a compliance officer
// expects from reading the list.

#include <yaml-cpp/yaml.h>

#include <map>
#include <vector>

#include "tests/rules/rules_test_util.h"

namespace xborder::rules {
namespace {

using eval::CounterKey;
using testing::compileSample;

int64_t noonShanghai(const std::string& date) {
  auto d = lang::parseDate(date);
  EXPECT_TRUE(d.has_value()) << date;
  return d ? d->daysSinceEpoch() * 86400 + 4 * 3600 : 0;  // 12:00 at UTC+8
}

class GoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ev_ = compileSample();
    ASSERT_NE(ev_, nullptr);
    cases_ = YAML::LoadFile(testing::sourceDir() + "/tests/rules/cases/sample_golden.yaml")["cases"];
    ASSERT_TRUE(cases_.IsSequence());
  }

  CounterKey key(const std::string& spec, int32_t legalEntity, int32_t year) {
    size_t colon = spec.find(':');
    std::string kind = spec.substr(0, colon), name = spec.substr(colon + 1);
    CounterKey k;
    k.legalEntity = static_cast<uint32_t>(legalEntity);
    k.year = year;
    if (kind == "entry") {
      k.kind = CounterKey::Kind::kEntry;
      int32_t i = ev_->entryIndex(name);
      EXPECT_GE(i, 0) << spec;
      k.index = static_cast<uint32_t>(i);
    } else if (kind == "filing") {
      k.kind = CounterKey::Kind::kFiling;
      int32_t i = ev_->filingIndex(name);
      EXPECT_GE(i, 0) << spec;
      k.index = static_cast<uint32_t>(i);
    } else if (spec == "baseline:non_sensitive") {
      k.kind = CounterKey::Kind::kBaselineNonSensitive;
    } else if (spec == "baseline:sensitive") {
      k.kind = CounterKey::Kind::kBaselineSensitive;
    } else {
      ADD_FAILURE() << "bad counter " << spec;
    }
    return k;
  }

  std::unique_ptr<eval::Evaluator> ev_;
  YAML::Node cases_;
};

TEST_F(GoldenTest, SampleListScenarios) {
  ASSERT_GE(cases_.size(), 20u);
  const auto& rs = ev_->ruleset();
  for (const auto& c : cases_) {
    const std::string name = c["name"].as<std::string>();
    SCOPED_TRACE(name);
    eval::FlowFacts f;
    std::vector<uint32_t> det(static_cast<size_t>(rs.detectors_size()), 0);
    std::vector<uint32_t> dict(static_cast<size_t>(rs.dictionaries_size()), 0);
    if (c["direction"] && c["direction"].as<std::string>() == "inbound_pull") f.direction = eval::Direction::kInboundPull;
    if (c["tenant"]) {
      f.tenant = ev_->tenantIndex(c["tenant"].as<std::string>());
      ASSERT_GE(f.tenant, 0);
    }
    if (c["source"]) f.domesticIp = *geo::parseIp(c["source"].as<std::string>());
    if (c["vlan"]) f.vlan = static_cast<uint16_t>(c["vlan"].as<int>());
    auto to = geo::parseIp(c["to"].as<std::string>());
    ASSERT_TRUE(to.has_value());
    f.foreignIp = *to;
    std::string foreignName = c["sni"] ? c["sni"].as<std::string>() : "";
    std::string contentType = c["content_type"] ? c["content_type"].as<std::string>() : "";
    std::string path = c["path"] ? c["path"].as<std::string>() : "";
    f.foreignName = foreignName;
    f.contentType = contentType;
    f.path = path;
    for (auto it : c["detectors"]) {
      int32_t i = ev_->detectorIndex(it.first.as<std::string>());
      ASSERT_GE(i, 0) << it.first.as<std::string>();
      det[static_cast<size_t>(i)] = it.second.as<uint32_t>();
    }
    for (auto it : c["dictionaries"]) {
      int32_t i = ev_->dictionaryIndex(it.first.as<std::string>());
      ASSERT_GE(i, 0) << it.first.as<std::string>();
      dict[static_cast<size_t>(i)] = it.second.as<uint32_t>();
    }
    f.detectorRecords = det;
    f.dictionaryRecords = dict;
    f.records = c["records"] ? c["records"].as<uint32_t>() : 0;
    if (c["individuals"]) {
      f.newIndividualsNonSensitive = c["individuals"]["non_sensitive"] ? c["individuals"]["non_sensitive"].as<uint32_t>() : 0;
      f.newIndividualsSensitive = c["individuals"]["sensitive"] ? c["individuals"]["sensitive"].as<uint32_t>() : 0;
    }
    f.timeUnix = c["unix"] ? c["unix"].as<int64_t>() : noonShanghai(c["date"].as<std::string>());
    const int32_t year = ev_->yearOf(f.timeUnix);

    // Counters belong to the tenant's legal entity; resolve it the way the evaluator will.
    eval::InMemoryCounters counters;
    eval::Decision probe = ev_->evaluate(f, counters);
    int32_t le = probe.legalEntity;
    const int32_t counterYear = c["counter_year"] ? c["counter_year"].as<int32_t>() : year;
    for (auto it : c["counters"]) {
      ASSERT_GE(le, 0) << "counters need an attributed tenant";
      counters.set(key(it.first.as<std::string>(), le, counterYear), it.second.as<uint64_t>());
    }

    eval::Decision d = ev_->evaluate(f, counters);
    std::string reason = ev_->describe(d);
    SCOPED_TRACE(reason);
    if (std::getenv("XB_PRINT_REASONS")) std::printf("%s\n  %s\n", name.c_str(), reason.c_str());
    const YAML::Node& x = c["expect"];
    EXPECT_EQ(eval::actionName(d.action), x["action"].as<std::string>());
    if (x["entry"]) {
      std::string want = x["entry"].as<std::string>();
      EXPECT_EQ(ev_->reportedEntry(d), want == "none" ? "" : want);
    }
    if (x["filing"]) {
      std::string want = x["filing"].as<std::string>();
      EXPECT_EQ(d.filing >= 0 ? rs.filings(d.filing).id() : "none", want);
    }
    if (x["country"]) {
      EXPECT_EQ(std::string(d.country.data(), 2), x["country"].as<std::string>());
    }
    if (x["reason"]) {
      EXPECT_NE(reason.find(x["reason"].as<std::string>()), std::string::npos) << x["reason"].as<std::string>();
    }
    EXPECT_EQ(reason.find('\n'), std::string::npos) << "the reason is one line";
    std::map<std::string, uint64_t> got;
    for (const auto& u : d.counterUpdates()) {
      for (auto it : x["updates"]) {
        if (u.key == key(it.first.as<std::string>(), le, year)) got[it.first.as<std::string>()] = u.add;
      }
      for (auto n : x["not_updated"]) {
        EXPECT_FALSE(u.key == key(n.as<std::string>(), le, year)) << n.as<std::string>() << " was updated";
      }
    }
    for (auto it : x["updates"]) {
      EXPECT_EQ(got[it.first.as<std::string>()], it.second.as<uint64_t>()) << it.first.as<std::string>();
    }
  }
}

}  // namespace
}  // namespace xborder::rules
