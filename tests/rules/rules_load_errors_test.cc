// Every class of load error is reported at the exact file:line:col a person must fix,
// every problem at once, and a valid list loads with no diagnostics.

#include <filesystem>
#include <fstream>

#include "tests/rules/rules_test_util.h"

namespace xborder::rules {
namespace {

// A small valid list. Tests change one thing and expect one diagnostic at the place of
// the change; the expected line:col is computed from where the changed text sits.
constexpr const char* kBase = R"(schema_version: "1.0"
kind: ftz_data_export_negative_list
metadata:
  list_id: T
  version: "1"
  issuer: test
  effective_date: "2025-10-01"
mechanisms:
  prohibited: {default_action: block}
  security_assessment: {default_action: hold, filing_types_accepted: [security_assessment_approval]}
  exempt: {default_action: log}
evaluation:
  precedence: [prohibited, security_assessment, exempt]
detectors:
  cn_mobile: {pi_class: identifier}
  bank_card: {pi_class: identifier}
dictionaries:
  kw_a: ["会员", "member"]
destinations:
  DST-A: {country: SG, endpoints: {cidrs: ["198.51.100.0/27"], fqdns: ["crm.example.net"]}}
tenants:
  - {id: T-A, uscc: "91320500EXAMPLE2XN", sources: {cidrs: ["198.18.2.0/24"], vlans: [102]}}
entries:
  - id: E-1
    category: {en: "c"}
    data_nature: personal_information
    match: {any_of: [cn_mobile], dictionaries: [kw_a]}
    scale:
      unit: individuals_per_year
      tiers:
        - {min: 1, max: 99999, mechanism: exempt}
        - {min: 100000, max: null, mechanism: security_assessment}
  - id: E-2
    category: {en: "d"}
    data_nature: important_data
    match: {all_of: [bank_card]}
    scale: {unit: any}
    mechanism: prohibited
filings:
  - id: F-1
    type: security_assessment_approval
    tenant: {uscc: "91320500EXAMPLE2XN"}
    entries: [E-1]
    destinations: [DST-A]
    valid_from: "2025-01-01"
    expires: "2027-12-31"
    status: active
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// "line:col" (1-based) of the n-th occurrence of needle.
std::string where(const std::string& text, const std::string& needle, int nth = 1) {
  size_t at = std::string::npos, from = 0;
  for (int i = 0; i < nth; ++i) {
    at = text.find(needle, from);
    if (at == std::string::npos) return "not-found";
    from = at + 1;
  }
  int line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(at - lineStart + 1);
}

lang::LoadResult load(const std::string& text, const lang::LoadOptions& o = {}) {
  return lang::loadListText(text, "t.yaml", o, ::testing::TempDir());
}

// Expects a diagnostic "t.yaml:<line:col of needle>: <message containing msg>".
void expectDiag(const std::string& text, const std::string& needle, const std::string& msg, int nth = 1) {
  auto r = load(text);
  std::string want = "t.yaml:" + where(text, needle, nth) + ": ";
  bool found = false;
  for (const auto& d : r.diagnostics) {
    std::string s = d.format();
    if (s.rfind(want, 0) == 0 && s.find(msg) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << "want " << want << "..." << msg << "\ngot:\n" << r.formatAll();
  EXPECT_FALSE(r.list.has_value());
}

TEST(LoadErrors, ValidListLoadsWithNoDiagnostics) {
  auto r = load(kBase);
  EXPECT_TRUE(r.ok()) << r.formatAll();
  ASSERT_TRUE(r.list.has_value());
  EXPECT_EQ(r.list->entries.size(), 2u);
  EXPECT_EQ(r.formatAll(), "");
}

TEST(LoadErrors, SampleListLoadsClean) {
  auto r = lang::loadListFile(testing::sampleListPath());
  EXPECT_EQ(r.formatAll(), "");
  ASSERT_TRUE(r.list.has_value());
  EXPECT_EQ(r.list->entries.size(), 24u);
  EXPECT_EQ(r.list->filings.size(), 7u);
  EXPECT_EQ(r.list->geo.size(), 10u);
}

TEST(LoadErrors, FormatIsFileLineColMessage) {
  std::string t = replaced(kBase, "any_of: [cn_mobile]", "any_of: [cn_mobil]");
  auto r = load(t);
  ASSERT_EQ(r.diagnostics.size(), 1u) << r.formatAll();
  EXPECT_EQ(r.diagnostics[0].format(),
            "t.yaml:" + where(t, "cn_mobil]") +
                ": unknown detector \"cn_mobil\" in any_of of entry \"E-1\" (not defined under detectors:)");
}

TEST(LoadErrors, UnknownDetector) {
  std::string t = replaced(kBase, "all_of: [bank_card]", "all_of: [bank_crd]");
  expectDiag(t, "bank_crd", "unknown detector \"bank_crd\"");
}

TEST(LoadErrors, DetectorWithoutImplementation) {
  std::string t = replaced(kBase, "  bank_card: {pi_class: identifier}\n",
                           "  bank_card: {pi_class: identifier}\n  palm_print: {pi_class: identifier}\n");
  expectDiag(t, "palm_print", "detector \"palm_print\" has no implementation");
}

TEST(LoadErrors, UnknownDictionary) {
  std::string t = replaced(kBase, "dictionaries: [kw_a]", "dictionaries: [kw_b]");
  expectDiag(t, "kw_b", "unknown dictionary \"kw_b\"");
}

TEST(LoadErrors, BadCidr) {
  std::string t = replaced(kBase, "198.18.2.0/24", "198.18.2.0/33");
  expectDiag(t, "\"198.18.2.0/33\"", "bad CIDR \"198.18.2.0/33\"");
  t = replaced(kBase, "198.51.100.0/27", "198.51.100.1/27");
  expectDiag(t, "\"198.51.100.1/27\"", "host bits set");
  t = replaced(kBase, "198.51.100.0/27", "example.com/27");
  expectDiag(t, "\"example.com/27\"", "not an IPv4 or IPv6 address");
}

TEST(LoadErrors, TiersOverlap) {
  std::string t = replaced(kBase, "{min: 100000, max: null", "{min: 90000, max: null");
  expectDiag(t, "{min: 90000", "overlaps the tier starting at 1");
}

TEST(LoadErrors, TiersLeaveAGap) {
  std::string t = replaced(kBase, "{min: 100000, max: null", "{min: 100005, max: null");
  expectDiag(t, "{min: 100005", "gap: counts 100000..100004 have no mechanism");
  t = replaced(kBase, "max: null, mechanism: security_assessment}", "max: 500000, mechanism: security_assessment}");
  expectDiag(t, "{min: 100000", "counts above 500000 have no mechanism");
  t = replaced(kBase, "{min: 1, max: 99999", "{min: 10, max: 99999");
  expectDiag(t, "{min: 10,", "counts 1..9 have no mechanism");
}

TEST(LoadErrors, FilingNamesUnknownEntryDestinationOrTenant) {
  std::string t = replaced(kBase, "entries: [E-1]", "entries: [E-9]");
  expectDiag(t, "E-9", "filing \"F-1\" names unknown entry \"E-9\"");
  t = replaced(kBase, "destinations: [DST-A]", "destinations: [DST-B]");
  expectDiag(t, "DST-B", "names unknown destination \"DST-B\"");
  t = replaced(kBase, "tenant: {uscc: \"91320500EXAMPLE2XN\"}", "tenant: {uscc: \"91320500EXAMPLE99X\"}");
  expectDiag(t, "\"91320500EXAMPLE99X\"", "which no tenant has");
}

TEST(LoadErrors, FilingExpired) {
  std::string t = replaced(kBase, "expires: \"2027-12-31\"", "expires: \"2025-06-30\"");
  expectDiag(t, "\"2025-06-30\"", "filing \"F-1\" has expired: 2025-06-30 is before the list's effective_date 2025-10-01");
  // With --as-of, the check moves to that date.
  lang::LoadOptions o;
  o.asOf = lang::parseDate("2028-01-01");
  auto r = load(kBase, o);
  ASSERT_EQ(r.diagnostics.size(), 1u) << r.formatAll();
  EXPECT_EQ(r.diagnostics[0].format(),
            "t.yaml:" + where(kBase, "\"2027-12-31\"") +
                ": filing \"F-1\" has expired: 2027-12-31 is before the --as-of date 2028-01-01");
}

TEST(LoadErrors, FilingTypeThatCannotCoverItsEntry) {
  std::string t = replaced(kBase, "type: security_assessment_approval", "type: standard_contract_filing");
  expectDiag(t, "E-1]", "of type standard_contract_filing cannot cover entry \"E-1\"");
}

TEST(LoadErrors, EntriesThatCanNeverMatch) {
  std::string t = replaced(kBase, "match: {all_of: [bank_card]}",
                           "match: {all_of: [bank_card], min_records_per_flow: 10, max_records_per_flow: 5}");
  expectDiag(t, "5}", "entry \"E-2\" can never match: max_records_per_flow 5 is below min_records_per_flow 10");
  t = replaced(kBase, "any_of: [cn_mobile]", "any_of: []");
  expectDiag(t, "[]", "entry \"E-1\" can never match: any_of is an empty list");
  t = replaced(kBase, "    mechanism: prohibited\n", "    mechanism: prohibited\n    destination_scope: {countries: []}\n");
  expectDiag(t, "[]}", "can never match: countries is an empty list");
}

TEST(LoadErrors, DuplicateIds) {
  std::string t = replaced(kBase, "id: E-2", "id: E-1");
  expectDiag(t, "E-1", "duplicate entry id \"E-1\" (first at line 24)", 2);
  t = replaced(kBase, "  exempt: {default_action: log}\n", "  exempt: {default_action: log}\n  exempt: {default_action: log}\n");
  expectDiag(t, "exempt: {", "duplicate key \"exempt\" in mechanisms", 2);
}

TEST(LoadErrors, UnknownKeys) {
  std::string t = replaced(kBase, "    mechanism: prohibited", "    mechanim: prohibited");
  expectDiag(t, "mechanim", "unknown key \"mechanim\" in an entry");
  t = replaced(kBase, "match: {any_of: [cn_mobile]", "match: {anyof: [cn_mobile]");
  expectDiag(t, "anyof", "unknown key \"anyof\" in match of entry \"E-1\"");
  t = replaced(kBase, "kind: ftz", "knd: ftz");
  expectDiag(t, "knd", "unknown key \"knd\" in the list");
}

TEST(LoadErrors, UnknownMechanismAndBadValues) {
  std::string t = replaced(kBase, "mechanism: exempt}", "mechanism: exemt}");
  expectDiag(t, "exemt", "unknown mechanism \"exemt\"");
  t = replaced(kBase, "valid_from: \"2025-01-01\"", "valid_from: \"2025-02-30\"");
  expectDiag(t, "\"2025-02-30\"", "is not a date");
  t = replaced(kBase, "vlans: [102]", "vlans: [5000]");
  expectDiag(t, "5000", "VLAN id 5000 out of range");
}

TEST(LoadErrors, ControlCharactersInNamesAreEscapedSoEachProblemIsOneLine) {
  std::string t = replaced(kBase, "kind: ftz", "\"kn\\nd\": 1\nkind: ftz");
  auto r = load(t);
  ASSERT_EQ(r.diagnostics.size(), 1u) << r.formatAll();
  EXPECT_EQ(r.diagnostics[0].format(), "t.yaml:2:1: unknown key \"kn\\nd\" in the list");
}

TEST(LoadErrors, TextThatIsNotUtf8) {
  // A GBK-encoded name (会员 = BB E1 D4 B1) in a list saved in the wrong encoding.
  std::string t = replaced(kBase, "  issuer: test", "  issuer: te\xbb\xe1\xd4\xb1");
  auto r = load(t);
  ASSERT_EQ(r.diagnostics.size(), 1u) << r.formatAll();
  EXPECT_EQ(r.diagnostics[0].format().rfind("t.yaml:6:13: the list is not valid UTF-8", 0), 0u) << r.formatAll();
  // Escapes that decode to a lone surrogate are refused too (by the YAML parser).
  t = replaced(kBase, "  issuer: test", "  issuer: \"\\ud800\"");
  r = load(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics[0].format().rfind("t.yaml:6:", 0), 0u) << r.formatAll();
  EXPECT_NE(r.diagnostics[0].message.find("invalid unicode"), std::string::npos) << r.formatAll();
}

TEST(LoadErrors, YamlSyntaxError) {
  std::string t = replaced(kBase, "  issuer: test\n", "  issuer: [test\n");
  auto r = load(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics[0].format().rfind("t.yaml:", 0), 0u);
  EXPECT_NE(r.diagnostics[0].message.find("YAML syntax"), std::string::npos) << r.formatAll();
  EXPECT_GT(r.diagnostics[0].pos.line, 0);
}

TEST(LoadErrors, GeoTableErrorsPointIntoTheCsv) {
  std::string dir = ::testing::TempDir();
  {
    std::ofstream csv(dir + "/bad-geo.csv");
    csv << "# prefix,country\n198.18.0.0/16,CN\n198.51.100.0/33,SG\n203.0.113.0/25,Swiss\n";
  }
  std::string t = replaced(kBase, "kind: ftz_data_export_negative_list\n",
                           "kind: ftz_data_export_negative_list\ngeo_table: bad-geo.csv\n");
  auto r = load(t);
  ASSERT_EQ(r.diagnostics.size(), 2u) << r.formatAll();
  std::string path = (std::filesystem::path(dir) / "bad-geo.csv").lexically_normal().string();
  EXPECT_EQ(r.diagnostics[0].format(), path + ":3:1: bad prefix \"198.51.100.0/33\": prefix length out of range");
  EXPECT_EQ(r.diagnostics[1].format(), path + ":4:16: \"Swiss\" is not an ISO 3166-1 alpha-2 code");
  t = replaced(kBase, "kind: ftz_data_export_negative_list\n", "kind: ftz_data_export_negative_list\ngeo_table: missing.csv\n");
  expectDiag(t, "missing.csv", "cannot read geo_table");
}

TEST(LoadErrors, EveryProblemIsReportedAtOnce) {
  std::string t = replaced(kBase, "any_of: [cn_mobile]", "any_of: [cn_mobil]");
  t = replaced(t, "198.18.2.0/24", "198.18.2.0/33");
  t = replaced(t, "entries: [E-1]", "entries: [E-9]");
  t = replaced(t, "    mechanism: prohibited", "    mechanism: prohibited\n    colour: red");
  auto r = load(t);
  EXPECT_EQ(r.diagnostics.size(), 4u) << r.formatAll();
  // Sorted by position, one line each.
  for (size_t i = 1; i < r.diagnostics.size(); ++i) {
    EXPECT_LE(r.diagnostics[i - 1].pos.line, r.diagnostics[i].pos.line);
  }
}

}  // namespace
}  // namespace xborder::rules
