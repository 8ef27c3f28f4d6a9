// The `server_names` match condition: an entry that prohibits transfers to a TLS SNI or
// HTTP Host (and its sub-domains), on its own, with the loader's errors at file:line:col.

#include "tests/rules/rules_test_util.h"

namespace xborder::rules {
namespace {

constexpr const char* kList = R"(schema_version: "1.0"
kind: ftz_data_export_negative_list
metadata: {list_id: T, version: "1", issuer: test, effective_date: "2025-10-01"}
mechanisms:
  prohibited: {default_action: block}
  exempt: {default_action: log}
evaluation:
  precedence: [prohibited, exempt]
detectors:
  cn_mobile: {pi_class: identifier}
tenants:
  - {id: T-A, uscc: "91320500EXAMPLE2XN", sources: {cidrs: ["198.18.2.0/24"]}}
entries:
  - id: SNI-01
    category: {en: "A service the zone prohibits"}
    data_nature: important_data
    match: {server_names: ["Blocked.Example.NET", "blocked.example.net", "other.example."]}
    scale: {unit: any}
    mechanism: prohibited
  - id: E-2
    category: {en: "mobile numbers"}
    data_nature: personal_information
    match: {any_of: [cn_mobile]}
    scale: {unit: any}
    mechanism: exempt
)";

struct NoCounts : eval::CounterSource {
  uint64_t count(const eval::CounterKey&) const override { return 0; }
};

std::unique_ptr<eval::Evaluator> compileText(const std::string& text, pb::Ruleset* out = nullptr) {
  auto loaded = lang::loadListText(text, "t.yaml", {}, ::testing::TempDir());
  EXPECT_TRUE(loaded.ok()) << loaded.formatAll();
  if (!loaded.ok()) return nullptr;
  auto rs = compile::compileList(*loaded.list);
  EXPECT_TRUE(rs.ok()) << rs.status();
  if (!rs.ok()) return nullptr;
  if (out) *out = *rs;
  auto ev = eval::Evaluator::create(*rs);
  EXPECT_TRUE(ev.ok()) << ev.status();
  return ev.ok() ? std::move(*ev) : nullptr;
}

eval::Decision judge(const eval::Evaluator& ev, std::string_view sni, uint32_t mobiles = 0) {
  eval::FlowFacts f;
  f.domesticIp = *geo::parseIp("198.18.2.20");
  f.foreignIp = *geo::parseIp("203.0.113.9");
  f.foreignName = sni;
  static uint32_t det[1];
  det[0] = mobiles;
  f.detectorRecords = std::span<const uint32_t>(det, 1);
  f.timeUnix = 1767225600;  // 2026-01-01
  return ev.evaluate(f, NoCounts{});
}

TEST(ServerNames, CompiledLowerCaseSortedAndDeduplicated) {
  pb::Ruleset rs;
  auto ev = compileText(kList, &rs);
  ASSERT_NE(ev, nullptr);
  const auto& e = rs.entries(ev->entryIndex("SNI-01"));
  ASSERT_EQ(e.server_names_size(), 2);
  EXPECT_EQ(e.server_names(0), "blocked.example.net");
  EXPECT_EQ(e.server_names(1), "other.example");
}

TEST(ServerNames, NameAndSubDomainsMatchOnLabelBoundariesOnly) {
  auto ev = compileText(kList);
  ASSERT_NE(ev, nullptr);
  const int32_t sni = ev->entryIndex("SNI-01");
  for (std::string_view hit : {"blocked.example.net", "BLOCKED.example.net", "a.b.blocked.example.net",
                               "blocked.example.net.", "blocked.example.net:8443", "other.example"}) {
    auto d = judge(*ev, hit);
    EXPECT_EQ(d.action, eval::Action::kBlock) << hit << ": " << ev->describe(d);
    EXPECT_EQ(d.entry, sni) << hit;
  }
  for (std::string_view miss : {"", "notblocked.example.net", "blocked.example.net.evil", "example.net",
                                "blocked.example.ne", "xother.example"}) {
    auto d = judge(*ev, miss);
    EXPECT_NE(d.entry, sni) << miss << ": " << ev->describe(d);
    EXPECT_NE(d.action, eval::Action::kBlock) << miss;
  }
}

TEST(ServerNames, ProhibitionWinsOverAnExemptEntryOnTheSameFlow) {
  auto ev = compileText(kList);
  ASSERT_NE(ev, nullptr);
  auto d = judge(*ev, "blocked.example.net", 3);
  EXPECT_EQ(d.action, eval::Action::kBlock) << ev->describe(d);
  EXPECT_EQ(d.entry, ev->entryIndex("SNI-01"));
  d = judge(*ev, "fine.example.org", 3);
  EXPECT_EQ(d.entry, ev->entryIndex("E-2")) << ev->describe(d);
  EXPECT_EQ(d.action, eval::Action::kLog);
}

TEST(ServerNames, BadNamesAreReportedWhereTheyAre) {
  std::string t = kList;
  const std::string from = "\"other.example.\"", to = "\"*.other.example\"";
  t.replace(t.find(from), from.size(), to);
  auto r = lang::loadListText(t, "t.yaml", {}, ::testing::TempDir());
  EXPECT_FALSE(r.list.has_value());
  size_t at = t.find(to), line = 1, start = 0;
  for (size_t i = 0; i < at; ++i) {
    if (t[i] == '\n') ++line, start = i + 1;
  }
  const std::string want = "t.yaml:" + std::to_string(line) + ":" + std::to_string(at - start + 1) +
                           ": server name \"*.other.example\" in entry \"SNI-01\" is not a DNS name";
  EXPECT_NE(r.formatAll().find(want), std::string::npos) << r.formatAll();
  // An empty list can never match, and says so.
  t = kList;
  const std::string all = "[\"Blocked.Example.NET\", \"blocked.example.net\", \"other.example.\"]";
  t.replace(t.find(all), all.size(), "[]");
  r = lang::loadListText(t, "t.yaml", {}, ::testing::TempDir());
  EXPECT_FALSE(r.list.has_value());
  EXPECT_NE(r.formatAll().find("entry \"SNI-01\" can never match: server_names is an empty list"), std::string::npos)
      << r.formatAll();
}

}  // namespace
}  // namespace xborder::rules
