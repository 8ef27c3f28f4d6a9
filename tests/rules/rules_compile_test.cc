// The compiled ruleset is deterministic (same list, or the same list reordered -> the
// same bytes and SHA-256) and carries what the dataplane and detectors need.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rules/compile/compile_detectors.h"
#include "tests/rules/rules_test_util.h"

namespace xborder::rules {
namespace {

std::string compileFile(const std::string& path) {
  auto loaded = lang::loadListFile(path);
  EXPECT_TRUE(loaded.ok()) << loaded.formatAll();
  if (!loaded.ok()) return "";
  auto rs = compile::compileList(*loaded.list);
  EXPECT_TRUE(rs.ok()) << rs.status();
  return rs.ok() ? compile::serializeDeterministic(*rs) : "";
}

YAML::Node reversedMap(const YAML::Node& m) {
  // Names only: std::reverse on YAML::Node swaps through yaml-cpp's assign-through
  // operator= and corrupts the tree.
  std::vector<std::string> names;
  for (auto it = m.begin(); it != m.end(); ++it) names.push_back(it->first.as<std::string>());
  YAML::Node out(YAML::NodeType::Map);
  for (size_t i = names.size(); i > 0; --i) out[names[i - 1]] = YAML::Clone(m[names[i - 1]]);
  return out;
}

YAML::Node reversedSeq(const YAML::Node& s) {
  YAML::Node out(YAML::NodeType::Sequence);
  for (size_t i = s.size(); i > 0; --i) out.push_back(YAML::Clone(s[i - 1]));
  return out;
}

TEST(Compile, SameListSameBytesAndHash) {
  std::string a = compileFile(testing::sampleListPath());
  std::string b = compileFile(testing::sampleListPath());
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(compile::sha256Hex(a), compile::sha256Hex(b));
  EXPECT_EQ(compile::sha256Hex(a).size(), 64u);
}

TEST(Compile, ReorderedEquivalentListGivesIdenticalBytes) {
  const YAML::Node source = YAML::LoadFile(testing::sampleListPath());
  // Reverse every order that carries no meaning: entries, filings, tenants, the named
  // maps, dictionary keywords, and the geo CSV's lines. Built as a fresh tree of clones
  // (yaml-cpp assigns through shared node references otherwise).
  YAML::Node root(YAML::NodeType::Map);
  for (auto it = source.begin(); it != source.end(); ++it) {
    const std::string k = it->first.as<std::string>();
    YAML::Node v = YAML::Clone(it->second);
    if (k == "entries" || k == "filings" || k == "tenants") {
      v = reversedSeq(v);
    } else if (k == "dictionaries") {
      YAML::Node d = reversedMap(v);
      for (auto di = d.begin(); di != d.end(); ++di) di->second = reversedSeq(di->second);
      v = d;
    } else if (k == "detectors" || k == "destinations" || k == "mechanisms") {
      v = reversedMap(v);
    }
    root[k] = v;
  }
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "reordered";
  std::filesystem::create_directories(dir);
  {
    std::ifstream in(testing::sourceDir() + "/rules/examples/geo-sample.csv");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::reverse(lines.begin(), lines.end());
    std::ofstream out(dir / "geo-sample.csv");
    for (const auto& l : lines) out << l << "\n";
  }
  {
    YAML::Emitter em;
    em << root;
    std::ofstream out(dir / "list.yaml");
    out << em.c_str() << "\n";
  }
  std::string original = compileFile(testing::sampleListPath());
  std::string reordered = compileFile((dir / "list.yaml").string());
  ASSERT_FALSE(reordered.empty());
  EXPECT_EQ(compile::sha256Hex(original), compile::sha256Hex(reordered));

  // A change of meaning changes the hash.
  root["entries"][0]["id"] = "AAA-00";
  {
    YAML::Emitter em;
    em << root;
    std::ofstream out(dir / "changed.yaml");
    out << em.c_str() << "\n";
  }
  std::string changed = compileFile((dir / "changed.yaml").string());
  ASSERT_FALSE(changed.empty());
  EXPECT_NE(compile::sha256Hex(original), compile::sha256Hex(changed));
}

TEST(Compile, RulesetCarriesSortedTablesAndKeywordEncodings) {
  auto loaded = lang::loadListFile(testing::sampleListPath());
  ASSERT_TRUE(loaded.ok());
  auto rs = compile::compileList(*loaded.list);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->entries_size(), 24);
  EXPECT_EQ(rs->filings_size(), 7);
  EXPECT_EQ(rs->geo_size(), 10);
  EXPECT_EQ(rs->evaluation_order_size(), 24);
  for (int i = 1; i < rs->entries_size(); ++i) EXPECT_LT(rs->entries(i - 1).id(), rs->entries(i).id());
  // Strictest first: the first entries in evaluation order are prohibited.
  EXPECT_EQ(rs->entries(static_cast<int>(rs->evaluation_order(0))).mechanism(), "prohibited");
  // Tenant eligibility from the list's eligibility rules.
  for (const auto& t : rs->tenants()) {
    EXPECT_EQ(t.eligible(), t.id() != "T-GRID" && t.id() != "T-VISITOR") << t.id();
  }
  // Keywords: CJK in GBK as well as UTF-8; ASCII words bounded, case-folded.
  bool sawCjk = false, sawAscii = false;
  for (const auto& d : rs->dictionaries()) {
    if (d.name() != "kw_membership") continue;
    for (const auto& k : d.keywords()) {
      if (k.utf8() == "会员") {
        sawCjk = true;
        EXPECT_EQ(k.gbk(), std::string("\xbb\xe1\xd4\xb1"));
        EXPECT_FALSE(k.ascii_word_boundary());
      }
      if (k.utf8() == "tier") {
        sawAscii = true;
        EXPECT_TRUE(k.gbk().empty());
        EXPECT_TRUE(k.ascii_word_boundary());
        EXPECT_TRUE(k.ascii_case_insensitive());
      }
    }
  }
  EXPECT_TRUE(sawCjk);
  EXPECT_TRUE(sawAscii);
  // Filing windows are whole days in the list's time zone (UTC+8).
  for (const auto& f : rs->filings()) {
    if (f.id() != "FIL-2025-0005") continue;
    EXPECT_EQ(f.valid_from_unix(), 1759276800 - 8 * 3600);  // 2025-10-01 00:00 +08
    EXPECT_EQ(f.expires_unix(), 1775001600 - 8 * 3600 - 1);  // 2026-03-31 23:59:59 +08 (2026-04-01 00:00 UTC is 1775001600)
  }
}

TEST(Compile, AlertRatiosFromTheCountingRulesAreCarried) {
  auto loaded = lang::loadListFile(testing::sampleListPath());
  ASSERT_TRUE(loaded.ok());
  auto rs = compile::compileList(*loaded.list);
  ASSERT_TRUE(rs.ok());
  ASSERT_EQ(rs->policy().alert_ratios_size(), 3);
  EXPECT_EQ(rs->policy().alert_ratios(0), 0.5);
  EXPECT_EQ(rs->policy().alert_ratios(1), 0.8);
  EXPECT_EQ(rs->policy().alert_ratios(2), 1.0);
  // Other ratios change the compiled bytes; bad ones are list errors.
  std::string text;
  {
    std::ifstream in(testing::sampleListPath());
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const std::string from = "alert_ratios: [0.5, 0.8, 1.0]";
  ASSERT_NE(text.find(from), std::string::npos);
  std::string other = text;
  other.replace(other.find(from), from.size(), "alert_ratios: [0.9, 1.0]");
  auto l2 = lang::loadListText(other, "other.yaml", {}, std::filesystem::path(testing::sampleListPath()).parent_path().string());
  ASSERT_TRUE(l2.ok()) << l2.formatAll();
  auto rs2 = compile::compileList(*l2.list);
  ASSERT_TRUE(rs2.ok());
  ASSERT_EQ(rs2->policy().alert_ratios_size(), 2);
  EXPECT_EQ(rs2->policy().alert_ratios(0), 0.9);
  EXPECT_NE(compile::serializeDeterministic(*rs), compile::serializeDeterministic(*rs2));
  for (const char* bad : {"alert_ratios: [0.8, 0.5]", "alert_ratios: [1.5]", "alert_ratios: [x]"}) {
    std::string b = text;
    b.replace(b.find(from), from.size(), bad);
    auto l3 = lang::loadListText(b, "bad.yaml", {}, std::filesystem::path(testing::sampleListPath()).parent_path().string());
    EXPECT_FALSE(l3.ok()) << bad;
    EXPECT_NE(l3.formatAll().find("alert_ratios"), std::string::npos) << l3.formatAll();
  }
}

TEST(Compile, EmbeddedHyperscanDatabaseLoadsWithTheRulesetsSpec) {
  auto loaded = lang::loadListFile(testing::sampleListPath());
  ASSERT_TRUE(loaded.ok());
  auto rs = compile::compileList(*loaded.list);
  ASSERT_TRUE(rs.ok()) << rs.status();
  ASSERT_FALSE(rs->hyperscan_db().empty());
  auto spec = compile::detectorSpecOf(*rs);
  EXPECT_EQ(spec.detectors.size(), 14u);
  EXPECT_EQ(spec.dictionaries.size(), 16u);
  auto set = detectors::DetectorSet::deserialize(spec, rs->hyperscan_db());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE((*set)->dictionaryIndex("kw_waybill").has_value());
  // A different spec must not accept these bytes.
  spec.dictionaries.pop_back();
  EXPECT_FALSE(detectors::DetectorSet::deserialize(spec, rs->hyperscan_db()).ok());
}

TEST(Compile, EvaluatorLoadsTheSerializedBytes) {
  std::string bytes = compileFile(testing::sampleListPath());
  auto ev = eval::Evaluator::fromBytes(bytes);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_GE((*ev)->entryIndex("GEN-01"), 0);
  EXPECT_FALSE(eval::Evaluator::fromBytes("\xff\xff garbage").ok());
}

}  // namespace
}  // namespace xborder::rules
