#include "rules/lang/list_loader.h"

#include "rules/geo/geo_strcat.h"
#include "rules/lang/lang_keyword.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>


namespace xborder::rules::lang {

std::string Diagnostic::format() const {
  // Names and keys come from the list and may hold control characters; escape them so
  // every problem stays on one line.
  std::string out = strCat(file, ":", pos.line, ":", pos.col, ": ");
  for (char c : message) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", u);
      out += b;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string LoadResult::formatAll() const {
  std::string out;
  for (const auto& d : diagnostics) out += d.format() + "\n";
  return out;
}

int64_t Date::daysSinceEpoch() const {
  // Howard Hinnant's days_from_civil.
  int y = year - (month <= 2 ? 1 : 0);
  int era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = static_cast<unsigned>(y - era * 400);
  unsigned mp = static_cast<unsigned>(month + (month > 2 ? -3 : 9));
  unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(day) - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string Date::toString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", year % 10000, month % 100, day % 100);
  return buf;
}

std::optional<Date> parseDate(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  auto num = [&](size_t off, size_t n) -> int {
    int v = 0;
    for (size_t i = off; i < off + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  Date d{num(0, 4), num(5, 2), num(8, 2)};
  if (d.year < 1970 || d.month < 1 || d.month > 12 || d.day < 1) return std::nullopt;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
  int maxDay = kDays[d.month - 1] + (d.month == 2 && leap ? 1 : 0);
  if (d.day > maxDay) return std::nullopt;
  return d;
}

std::optional<int> parseTimezone(std::string_view t) {
  // Only fixed-offset zones: the zones a Chinese FTZ list uses have no DST, and a fixed
  // offset keeps the evaluator free of tzdata lookups on the hot path.
  if (t == "Asia/Shanghai" || t == "Asia/Chongqing" || t == "Asia/Hong_Kong" || t == "PRC") return 480;
  if (t == "UTC" || t == "Etc/UTC" || t == "Z") return 0;
  if (t.size() == 6 && (t[0] == '+' || t[0] == '-') && t[3] == ':') {
    auto dig = [&](size_t i) { return t[i] >= '0' && t[i] <= '9'; };
    if (!dig(1) || !dig(2) || !dig(4) || !dig(5)) return std::nullopt;
    int h = (t[1] - '0') * 10 + (t[2] - '0');
    int m = (t[4] - '0') * 10 + (t[5] - '0');
    if (h > 14 || m > 59) return std::nullopt;
    return (t[0] == '-' ? -1 : 1) * (h * 60 + m);
  }
  return std::nullopt;
}

namespace {

using Keys = std::initializer_list<std::string_view>;

Pos posOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

class Parser {
 public:
  Parser(std::string file, std::vector<Diagnostic>* diags) : file_(std::move(file)), diags_(diags) {}

  void err(Pos p, std::string msg) { diags_->push_back({file_, p, std::move(msg)}); }

  // Reports keys outside `allowed` and duplicate keys. Returns false if not a mapping.
  bool checkMap(const YAML::Node& n, std::string_view ctx, Keys allowed) {
    if (!n.IsMap()) {
      err(posOf(n), strCat(ctx, " must be a mapping"));
      return false;
    }
    std::map<std::string, Pos> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node k = it->first;  // a copy: it-> yields a temporary proxy
      if (!k.IsScalar()) {
        err(posOf(k), strCat("non-string key in ", ctx));
        continue;
      }
      const std::string& key = k.Scalar();
      if (!isValidUtf8(key)) {
        err(posOf(k), strCat("key in ", ctx, " is not valid UTF-8"));
        continue;
      }
      auto [prev, fresh] = seen.emplace(key, posOf(k));
      if (!fresh) {
        err(posOf(k), strCat("duplicate key \"", key, "\" in ", ctx, " (first at line ",
                                   prev->second.line, ")"));
      }
      if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        err(posOf(k), strCat("unknown key \"", key, "\" in ", ctx));
      }
    }
    return true;
  }

  // Mapping with arbitrary keys (names), still checks duplicates.
  bool checkNamedMap(const YAML::Node& n, std::string_view ctx) { return checkMap(n, ctx, {}); }

  std::optional<std::string> str(const YAML::Node& n, std::string_view what) {
    if (!n.IsScalar()) {
      err(posOf(n), strCat(what, " must be a string"));
      return std::nullopt;
    }
    if (!isValidUtf8(n.Scalar())) {
      err(posOf(n), strCat(what, " is not valid UTF-8"));
      return std::nullopt;
    }
    return n.Scalar();
  }
  std::string strOr(const YAML::Node& map, const char* key, std::string_view ctx, bool required) {
    YAML::Node v = map[key];
    if (!v.IsDefined() || v.IsNull()) {
      if (required) err(posOf(map), strCat(ctx, " is missing required key \"", key, "\""));
      return "";
    }
    return str(v, strCat(key, " in ", ctx)).value_or("");
  }
  std::optional<uint64_t> u64(const YAML::Node& n, std::string_view what) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (!s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::stoull(s);
      }
    }
    err(posOf(n), strCat(what, " must be a non-negative integer"));
    return std::nullopt;
  }
  std::optional<bool> boolean(const YAML::Node& n, std::string_view what) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true") return true;
      if (s == "false") return false;
    }
    err(posOf(n), strCat(what, " must be true or false"));
    return std::nullopt;
  }
  bool boolOr(const YAML::Node& map, const char* key, std::string_view ctx, bool dflt) {
    YAML::Node v = map[key];
    if (!v.IsDefined() || v.IsNull()) return dflt;
    return boolean(v, strCat(key, " in ", ctx)).value_or(dflt);
  }
  std::vector<Ref> refs(const YAML::Node& n, std::string_view what) {
    std::vector<Ref> out;
    if (!n.IsSequence()) {
      err(posOf(n), strCat(what, " must be a list"));
      return out;
    }
    for (const auto& e : n) {
      if (auto s = str(e, strCat("each item of ", what))) out.push_back({*s, posOf(e)});
    }
    return out;
  }
  std::vector<std::string> strings(const YAML::Node& n, std::string_view what) {
    std::vector<std::string> out;
    for (auto& r : refs(n, what)) out.push_back(std::move(r.name));
    return out;
  }
  Text text(const YAML::Node& n, std::string_view what) {
    Text t;
    if (n.IsScalar()) {
      t.en = n.Scalar();
      return t;
    }
    if (!checkMap(n, what, {"en", "zh"})) return t;
    t.en = strOr(n, "en", what, true);
    t.zh = strOr(n, "zh", what, false);
    return t;
  }
  std::optional<Date> date(const YAML::Node& n, std::string_view what) {
    auto s = str(n, what);
    if (!s) return std::nullopt;
    auto d = parseDate(*s);
    if (!d) err(posOf(n), strCat(what, " \"", *s, "\" is not a date (YYYY-MM-DD)"));
    return d;
  }
  std::vector<CidrRef> cidrs(const YAML::Node& n, std::string_view what) {
    std::vector<CidrRef> out;
    for (const auto& r : refs(n, what)) {
      std::string why;
      auto c = geo::parseCidr(r.name, &why);
      if (!c) {
        err(r.pos, strCat("bad CIDR \"", r.name, "\" in ", what, ": ", why));
      } else {
        out.push_back({*c, r.pos});
      }
    }
    return out;
  }
  std::vector<Tier> tiers(const YAML::Node& n, std::string_view what) {
    std::vector<Tier> out;
    if (!n.IsSequence()) {
      err(posOf(n), strCat(what, " must be a list of {min, max, mechanism}"));
      return out;
    }
    for (const auto& t : n) {
      if (!checkMap(t, "a tier", {"min", "max", "mechanism"})) continue;
      Tier tier;
      tier.pos = posOf(t);
      if (t["min"].IsDefined()) {
        tier.min = u64(t["min"], "tier min").value_or(0);
      } else {
        err(tier.pos, "tier is missing required key \"min\"");
      }
      const YAML::Node mx = t["max"];
      if (mx.IsDefined() && !mx.IsNull()) tier.max = u64(mx, "tier max");
      if (t["mechanism"].IsDefined()) {
        tier.mechanism = {str(t["mechanism"], "tier mechanism").value_or(""), posOf(t["mechanism"])};
      } else {
        err(tier.pos, "tier is missing required key \"mechanism\"");
      }
      out.push_back(tier);
    }
    return out;
  }

  void parseTop(const YAML::Node& root, NegativeList& l, std::string_view baseDir);

 private:
  void parseMetadata(const YAML::Node& n, NegativeList& l);
  void parseCounting(const YAML::Node& n, NegativeList& l);
  void parseMechanisms(const YAML::Node& n, NegativeList& l);
  void parseEvaluation(const YAML::Node& n, NegativeList& l);
  void parseBaseline(const YAML::Node& n, NegativeList& l);
  void parseDetectors(const YAML::Node& n, NegativeList& l);
  void parseDictionaries(const YAML::Node& n, NegativeList& l);
  void parseDestinations(const YAML::Node& n, NegativeList& l);
  void parseTenants(const YAML::Node& n, NegativeList& l);
  void parseEntries(const YAML::Node& n, NegativeList& l);
  void parseMatch(const YAML::Node& n, Entry& e, const std::string& ctx);
  void parseFilings(const YAML::Node& n, NegativeList& l);

  std::string file_;
  std::vector<Diagnostic>* diags_;
};

void Parser::parseTop(const YAML::Node& root, NegativeList& l, std::string_view baseDir) {
  if (!checkMap(root, "the list", {"schema_version", "kind", "metadata", "counting_rules", "mechanisms",
                                   "evaluation", "national_baseline", "detectors", "dictionaries",
                                   "destinations", "tenants", "entries", "general_data_clarifications",
                                   "filings", "evidence_policy", "geo_table"})) {
    return;
  }
  l.schemaVersion = strOr(root, "schema_version", "the list", true);
  if (!l.schemaVersion.empty() && l.schemaVersion != "1.0") {
    err(posOf(root["schema_version"]),
        strCat("unsupported schema_version \"", l.schemaVersion, "\" (this compiler reads 1.0)"));
  }
  std::string kind = strOr(root, "kind", "the list", true);
  if (!kind.empty() && kind != "ftz_data_export_negative_list") {
    err(posOf(root["kind"]), strCat("kind must be ftz_data_export_negative_list, not \"", kind, "\""));
  }
  auto section = [&](const char* key, bool required) -> YAML::Node {
    YAML::Node n = root[key];
    if (!n.IsDefined() || n.IsNull()) {
      if (required) err(posOf(root), strCat("the list is missing required section \"", key, "\""));
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return n;
  };
  if (auto n = section("metadata", true); n.IsDefined()) parseMetadata(n, l);
  if (auto n = section("counting_rules", false); n.IsDefined()) parseCounting(n, l);
  if (auto n = section("mechanisms", true); n.IsDefined()) parseMechanisms(n, l);
  if (auto n = section("evaluation", true); n.IsDefined()) parseEvaluation(n, l);
  if (auto n = section("national_baseline", false); n.IsDefined()) parseBaseline(n, l);
  if (auto n = section("detectors", true); n.IsDefined()) parseDetectors(n, l);
  if (auto n = section("dictionaries", false); n.IsDefined()) parseDictionaries(n, l);
  if (auto n = section("destinations", false); n.IsDefined()) parseDestinations(n, l);
  if (auto n = section("tenants", false); n.IsDefined()) parseTenants(n, l);
  if (auto n = section("entries", true); n.IsDefined()) parseEntries(n, l);
  if (auto n = section("filings", false); n.IsDefined()) parseFilings(n, l);
  if (auto n = section("general_data_clarifications", false); n.IsDefined()) {
    if (n.IsSequence()) {
      for (const auto& g : n) checkMap(g, "a general-data clarification", {"id", "sector", "description"});
    } else {
      err(posOf(n), "general_data_clarifications must be a list");
    }
  }
  if (auto n = section("geo_table", false); n.IsDefined()) {
    if (auto s = str(n, "geo_table")) {
      std::filesystem::path p(*s);
      if (p.is_relative()) p = std::filesystem::path(baseDir) / p;
      l.geoTablePath = p.lexically_normal().string();
      l.geoTablePos = posOf(n);
    }
  }
}

void Parser::parseMetadata(const YAML::Node& n, NegativeList& l) {
  if (!checkMap(n, "metadata", {"list_id", "title", "title_zh", "issuer", "issuer_zh", "co_issuers",
                                "jurisdiction", "version", "previous_version", "effective_date",
                                "next_review_due", "approval", "legal_basis", "maintainer", "signing",
                                "change_log"})) {
    return;
  }
  l.listId = strOr(n, "list_id", "metadata", true);
  l.version = strOr(n, "version", "metadata", true);
  l.issuer = strOr(n, "issuer", "metadata", true);
  if (n["effective_date"].IsDefined()) {
    l.effectiveDate = date(n["effective_date"], "effective_date");
    l.effectiveDatePos = posOf(n["effective_date"]);
  } else {
    err(posOf(n), "metadata is missing required key \"effective_date\"");
  }
  if (n["next_review_due"].IsDefined()) date(n["next_review_due"], "next_review_due");
  if (YAML::Node a = n["approval"]; a.IsDefined()) {
    checkMap(a, "metadata.approval", {"approved_by", "approval_ref", "filed_with", "filing_ref"});
  }
  if (YAML::Node j = n["jurisdiction"]; j.IsDefined()) {
    if (checkMap(j, "metadata.jurisdiction", {"ftz", "area", "eligibility"})) {
      if (YAML::Node e = j["eligibility"]; e.IsDefined()) {
        if (checkMap(e, "eligibility", {"registered_in_zone", "export_activity_in_zone", "excludes_ciio"})) {
          l.policy.eligibilityRequiresRegistration = boolOr(e, "registered_in_zone", "eligibility", true);
          l.policy.eligibilityExcludesCiio = boolOr(e, "excludes_ciio", "eligibility", true);
        }
      }
    }
  }
}

void Parser::parseCounting(const YAML::Node& n, NegativeList& l) {
  if (!checkMap(n, "counting_rules", {"period", "timezone", "scope", "anti_splitting", "individual_identity",
                                      "sensitivity", "direction", "alert_ratios"})) {
    return;
  }
  std::string period = strOr(n, "period", "counting_rules", false);
  if (!period.empty() && period != "calendar_year") {
    err(posOf(n["period"]), "counting_rules.period must be calendar_year");
  }
  std::string scope = strOr(n, "scope", "counting_rules", false);
  if (!scope.empty() && scope != "per_data_handler") {
    err(posOf(n["scope"]), "counting_rules.scope must be per_data_handler (counters are per USCC)");
  }
  if (n["timezone"].IsDefined()) {
    std::string tz = strOr(n, "timezone", "counting_rules", false);
    auto off = parseTimezone(tz);
    if (!off) {
      err(posOf(n["timezone"]), strCat("unknown timezone \"", tz,
                                             "\" (use Asia/Shanghai, UTC or a fixed offset like +08:00)"));
    } else {
      l.policy.timezone = tz;
      l.policy.tzOffsetMinutes = *off;
    }
  }
  if (YAML::Node id = n["individual_identity"]; id.IsDefined()) {
    if (checkMap(id, "counting_rules.individual_identity", {"key_priority", "hashing", "key_rotation"})) {
      if (id["key_priority"].IsDefined()) l.policy.keyPriority = refs(id["key_priority"], "key_priority");
    }
  }
  if (YAML::Node s = n["sensitivity"]; s.IsDefined()) {
    if (checkMap(s, "counting_rules.sensitivity", {"sensitive_classes", "non_sensitive_identifiers"})) {
      if (s["sensitive_classes"].IsDefined()) {
        l.policy.sensitiveClasses = refs(s["sensitive_classes"], "sensitive_classes");
      }
      if (s["non_sensitive_identifiers"].IsDefined()) {
        l.policy.nonSensitiveIdentifiers = refs(s["non_sensitive_identifiers"], "non_sensitive_identifiers");
      }
    }
  }
  if (YAML::Node d = n["direction"]; d.IsDefined()) {
    if (checkMap(d, "counting_rules.direction", {"outbound_uploads", "inbound_initiated_pulls_count_as_export"})) {
      l.policy.inboundPullsCountAsExport =
          boolOr(d, "inbound_initiated_pulls_count_as_export", "counting_rules.direction", true);
    }
  }
  if (YAML::Node a = n["alert_ratios"]; a.IsDefined() && !a.IsSequence()) {
    err(posOf(a), "alert_ratios must be a list");
  } else if (a.IsDefined()) {
    for (const auto& r : a) {
      double v = 0;
      if (!r.IsScalar() || !YAML::convert<double>::decode(r, v) || !(v > 0.0 && v <= 1.0)) {
        err(posOf(r), "alert_ratios: each ratio must be a number in (0, 1]");
        continue;
      }
      if (!l.policy.alertRatios.empty() && v <= l.policy.alertRatios.back()) {
        err(posOf(r), "alert_ratios must be in ascending order");
        continue;
      }
      l.policy.alertRatios.push_back(v);
    }
  }
}

void Parser::parseMechanisms(const YAML::Node& n, NegativeList& l) {
  if (!checkNamedMap(n, "mechanisms")) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    Mechanism m;
    m.name = it->first.Scalar();
    m.pos = posOf(it->first);
    std::string ctx = strCat("mechanism \"", m.name, "\"");
    if (checkMap(it->second, ctx, {"zh", "default_action", "filing_types_accepted"})) {
      m.zh = strOr(it->second, "zh", ctx, false);
      m.defaultAction = strOr(it->second, "default_action", ctx, true);
      if (it->second["filing_types_accepted"].IsDefined()) {
        m.filingTypesAccepted = strings(it->second["filing_types_accepted"], "filing_types_accepted");
      }
      static const std::set<std::string> kActions = {"allow", "log", "alert", "hold", "block"};
      if (!m.defaultAction.empty() && !kActions.count(m.defaultAction)) {
        err(posOf(it->second["default_action"]),
            strCat("unknown action \"", m.defaultAction, "\" (allow, log, alert, hold, block)"));
      }
    }
    l.mechanisms.push_back(std::move(m));
  }
}

void Parser::parseEvaluation(const YAML::Node& n, NegativeList& l) {
  if (!checkMap(n, "evaluation", {"entry_selection", "precedence", "catch_all_entries", "catch_all_counts",
                                  "filing_match", "cap_exceeded_action", "exemptions_require_declaration",
                                  "unknown_tenant_action", "no_match_action", "covered_action",
                                  "filing_destination_match", "tier_edge", "tenant_attribution"})) {
    return;
  }
  if (n["precedence"].IsDefined()) {
    l.policy.precedence = refs(n["precedence"], "precedence");
    l.policy.precedencePos = posOf(n["precedence"]);
  } else {
    err(posOf(n), "evaluation is missing required key \"precedence\"");
  }
  if (n["catch_all_entries"].IsDefined()) l.policy.catchAllEntries = refs(n["catch_all_entries"], "catch_all_entries");
  // Keys whose only value is the rule this compiler implements: written in the list
  // so a reader sees the rule, rejected if someone expects a different one.
  auto fixed = [&](const char* key, std::string_view only) {
    std::string v = strOr(n, key, "evaluation", false);
    if (!v.empty() && v != only) {
      err(posOf(n[key]), strCat("evaluation.", key, " must be ", only, " (see docs/negative-list.md)"));
    }
  };
  fixed("catch_all_counts", "residual_only");
  fixed("filing_destination_match", "cidr_when_listed");
  fixed("tier_edge", "count_after_flow");
  fixed("tenant_attribution", "source_cidr_vlan_confirms");
  if (n["exemptions_require_declaration"].IsDefined() &&
      !boolOr(n, "exemptions_require_declaration", "evaluation", true)) {
    err(posOf(n["exemptions_require_declaration"]),
        "evaluation.exemptions_require_declaration must be true: entries with requires_filing_types always need it");
  }
  auto action = [&](const char* key, std::string* out) {
    std::string v = strOr(n, key, "evaluation", false);
    if (v.empty()) return;
    static const std::set<std::string> kActions = {"allow", "log", "alert", "hold", "block"};
    if (!kActions.count(v)) {
      err(posOf(n[key]), strCat("unknown action \"", v, "\" (allow, log, alert, hold, block)"));
      return;
    }
    *out = v;
  };
  action("unknown_tenant_action", &l.policy.unknownTenantAction);
  action("no_match_action", &l.policy.noMatchAction);
  action("covered_action", &l.policy.coveredAction);
  if (l.policy.noMatchAction != "allow" && l.policy.noMatchAction != "log") {
    err(posOf(n["no_match_action"]), "evaluation.no_match_action must be allow or log");
  }
  if (l.policy.coveredAction != "allow" && l.policy.coveredAction != "log") {
    err(posOf(n["covered_action"]), "evaluation.covered_action must be allow or log");
  }
}

void Parser::parseBaseline(const YAML::Node& n, NegativeList& l) {
  if (!checkMap(n, "national_baseline", {"ciio", "non_ciio"})) return;
  l.baseline.present = true;
  auto mech = [&](const YAML::Node& m, const char* key, std::string_view ctx) -> Ref {
    if (!m[key].IsDefined()) {
      err(posOf(m), strCat(ctx, " is missing required key \"", key, "\""));
      return {};
    }
    return {str(m[key], key).value_or(""), posOf(m[key])};
  };
  if (YAML::Node c = n["ciio"]; c.IsDefined()) {
    if (checkMap(c, "national_baseline.ciio", {"any_personal_information", "any_important_data"})) {
      l.baseline.ciioPersonalInformation = mech(c, "any_personal_information", "national_baseline.ciio");
      l.baseline.ciioImportantData = mech(c, "any_important_data", "national_baseline.ciio");
    }
  } else {
    err(posOf(n), "national_baseline is missing required key \"ciio\"");
  }
  if (YAML::Node c = n["non_ciio"]; c.IsDefined()) {
    if (checkMap(c, "national_baseline.non_ciio", {"important_data", "non_sensitive_pi_individuals_per_year",
                                                   "sensitive_pi_individuals_per_year"})) {
      l.baseline.nonCiioImportantData = mech(c, "important_data", "national_baseline.non_ciio");
      if (c["non_sensitive_pi_individuals_per_year"].IsDefined()) {
        l.baseline.nonSensitive = tiers(c["non_sensitive_pi_individuals_per_year"], "non_sensitive_pi_individuals_per_year");
        l.baseline.nonSensitivePos = posOf(c["non_sensitive_pi_individuals_per_year"]);
      } else {
        err(posOf(c), "national_baseline.non_ciio is missing \"non_sensitive_pi_individuals_per_year\"");
      }
      if (c["sensitive_pi_individuals_per_year"].IsDefined()) {
        l.baseline.sensitive = tiers(c["sensitive_pi_individuals_per_year"], "sensitive_pi_individuals_per_year");
        l.baseline.sensitivePos = posOf(c["sensitive_pi_individuals_per_year"]);
      } else {
        err(posOf(c), "national_baseline.non_ciio is missing \"sensitive_pi_individuals_per_year\"");
      }
    }
  } else {
    err(posOf(n), "national_baseline is missing required key \"non_ciio\"");
  }
}

void Parser::parseDetectors(const YAML::Node& n, NegativeList& l) {
  if (!checkNamedMap(n, "detectors")) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    Detector d;
    d.name = it->first.Scalar();
    d.pos = posOf(it->first);
    std::string ctx = strCat("detector \"", d.name, "\"");
    const YAML::Node v = it->second;  // a copy: it-> yields a temporary proxy
    if (checkMap(v, ctx, {"zh", "validator", "pi_class", "context_keywords", "proximity_chars",
                          "series_to_trajectory"})) {
      d.zh = strOr(v, "zh", ctx, false);
      d.validator = strOr(v, "validator", ctx, false);
      d.piClass = strOr(v, "pi_class", ctx, true);
      if (v["context_keywords"].IsDefined()) d.contextKeywords = strings(v["context_keywords"], "context_keywords");
      if (v["proximity_chars"].IsDefined()) {
        d.proximityChars = static_cast<uint32_t>(u64(v["proximity_chars"], "proximity_chars").value_or(0));
      }
    }
    l.detectors.push_back(std::move(d));
  }
}

void Parser::parseDictionaries(const YAML::Node& n, NegativeList& l) {
  if (!checkNamedMap(n, "dictionaries")) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    Dictionary d;
    d.name = it->first.Scalar();
    d.pos = posOf(it->first);
    d.keywords = strings(it->second, strCat("dictionary \"", d.name, "\""));
    l.dictionaries.push_back(std::move(d));
  }
}

void Parser::parseDestinations(const YAML::Node& n, NegativeList& l) {
  if (!checkNamedMap(n, "destinations")) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    Destination d;
    d.id = it->first.Scalar();
    d.pos = posOf(it->first);
    std::string ctx = strCat("destination \"", d.id, "\"");
    const YAML::Node v = it->second;  // a copy: it-> yields a temporary proxy
    if (checkMap(v, ctx, {"recipient", "recipient_zh", "country", "endpoints"})) {
      d.recipient = strOr(v, "recipient", ctx, false);
      d.country = strOr(v, "country", ctx, true);
      d.countryPos = posOf(v["country"]);
      if (YAML::Node e = v["endpoints"]; e.IsDefined()) {
        std::string ectx = strCat("endpoints of ", ctx);
        if (checkMap(e, ectx, {"cidrs", "fqdns"})) {
          if (e["cidrs"].IsDefined()) d.cidrs = cidrs(e["cidrs"], ectx);
          if (e["fqdns"].IsDefined()) d.fqdns = refs(e["fqdns"], ectx);
        }
      } else {
        err(posOf(v), strCat(ctx, " is missing required key \"endpoints\""));
      }
    }
    l.destinations.push_back(std::move(d));
  }
}

void Parser::parseTenants(const YAML::Node& n, NegativeList& l) {
  if (!n.IsSequence()) {
    err(posOf(n), "tenants must be a list");
    return;
  }
  for (const auto& t : n) {
    Tenant x;
    x.pos = posOf(t);
    if (!checkMap(t, "a tenant", {"id", "uscc", "name", "name_zh", "sources", "registered_in_zone", "ciio"})) continue;
    x.id = strOr(t, "id", "a tenant", true);
    std::string ctx = strCat("tenant \"", x.id, "\"");
    x.uscc = strOr(t, "uscc", ctx, true);
    x.usccPos = posOf(t["uscc"]);
    x.name = strOr(t, "name", ctx, false);
    if (YAML::Node s = t["sources"]; s.IsDefined()) {
      if (checkMap(s, strCat("sources of ", ctx), {"cidrs", "vlans"})) {
        if (s["cidrs"].IsDefined()) x.cidrs = cidrs(s["cidrs"], strCat("sources of ", ctx));
        if (YAML::Node vl = s["vlans"]; vl.IsDefined()) {
          if (!vl.IsSequence()) {
            err(posOf(vl), "vlans must be a list");
          } else {
            for (const auto& v : vl) {
              auto id = u64(v, "a VLAN id");
              if (id && (*id < 1 || *id > 4094)) {
                err(posOf(v), strCat("VLAN id ", *id, " out of range 1-4094"));
              } else if (id) {
                x.vlans.push_back(static_cast<uint32_t>(*id));
              }
            }
          }
        }
      }
    } else {
      err(x.pos, strCat(ctx, " is missing required key \"sources\""));
    }
    x.registeredInZone = boolOr(t, "registered_in_zone", ctx, true);
    x.ciio = boolOr(t, "ciio", ctx, false);
    l.tenants.push_back(std::move(x));
  }
}

void Parser::parseMatch(const YAML::Node& m, Entry& e, const std::string& ctx) {
  std::string mctx = strCat("match of ", ctx);
  if (!checkMap(m, mctx, {"all_of", "any_of", "dictionaries", "content_types", "endpoint_hints",
                          "server_names", "min_records_per_flow", "max_records_per_flow", "geofence_set"})) {
    return;
  }
  Match& x = e.match;
  x.present = true;
  x.pos = posOf(m);
  auto list = [&](const char* key, std::vector<Ref>* out) {
    if (!m[key].IsDefined()) return;
    *out = refs(m[key], strCat(key, " in ", mctx));
    if (m[key].IsSequence() && m[key].size() == 0) x.emptyLists.push_back({key, posOf(m[key])});
  };
  list("all_of", &x.allOf);
  list("any_of", &x.anyOf);
  list("dictionaries", &x.dictionaries);
  list("content_types", &x.contentTypes);
  list("server_names", &x.serverNames);
  if (m["endpoint_hints"].IsDefined()) x.endpointHints = strings(m["endpoint_hints"], "endpoint_hints");
  if (m["geofence_set"].IsDefined()) x.geofenceSet = str(m["geofence_set"], "geofence_set").value_or("");
  if (m["min_records_per_flow"].IsDefined()) {
    x.minRecordsPerFlow = static_cast<uint32_t>(u64(m["min_records_per_flow"], "min_records_per_flow").value_or(0));
  }
  if (m["max_records_per_flow"].IsDefined()) {
    x.maxRecordsPerFlow = static_cast<uint32_t>(u64(m["max_records_per_flow"], "max_records_per_flow").value_or(0));
    x.maxPos = posOf(m["max_records_per_flow"]);
  }
}

void Parser::parseEntries(const YAML::Node& n, NegativeList& l) {
  if (!n.IsSequence()) {
    err(posOf(n), "entries must be a list");
    return;
  }
  for (const auto& en : n) {
    Entry e;
    e.pos = posOf(en);
    if (!checkMap(en, "an entry", {"id", "sector", "scenario", "data_nature", "category", "sub_category",
                                   "description", "match", "scale", "destination_scope", "mechanism",
                                   "evidence", "modelled_on", "notes", "prerequisites",
                                   "below_threshold_falls_to", "exception_filing_types",
                                   "requires_filing_types", "prerequisite_filing_types", "exemption_basis"})) {
      continue;
    }
    e.id = strOr(en, "id", "an entry", true);
    e.idPos = posOf(en["id"]);
    std::string ctx = strCat("entry \"", e.id, "\"");
    if (en["sector"].IsDefined()) e.sector = text(en["sector"], strCat("sector of ", ctx));
    if (en["scenario"].IsDefined()) e.scenario = text(en["scenario"], strCat("scenario of ", ctx));
    if (en["category"].IsDefined()) {
      e.category = text(en["category"], strCat("category of ", ctx));
    } else {
      err(e.pos, strCat(ctx, " is missing required key \"category\""));
    }
    if (en["sub_category"].IsDefined()) text(en["sub_category"], strCat("sub_category of ", ctx));
    e.dataNature = strOr(en, "data_nature", ctx, true);
    e.dataNaturePos = posOf(en["data_nature"]);
    if (!e.dataNature.empty() && e.dataNature != "personal_information" && e.dataNature != "important_data" &&
        e.dataNature != "core_data") {
      err(e.dataNaturePos, strCat("data_nature must be personal_information, important_data or core_data, not \"",
                                        e.dataNature, "\""));
    }
    if (en["match"].IsDefined()) {
      parseMatch(en["match"], e, ctx);
    } else {
      err(e.pos, strCat(ctx, " is missing required key \"match\""));
    }
    if (YAML::Node s = en["scale"]; s.IsDefined()) {
      std::string sctx = strCat("scale of ", ctx);
      if (checkMap(s, sctx, {"unit", "sensitivity", "relaxed_from_national", "tiers"})) {
        e.unit = strOr(s, "unit", sctx, true);
        e.unitPos = posOf(s["unit"]);
        if (!e.unit.empty() && e.unit != "any" && e.unit != "individuals_per_year" && e.unit != "subjects_per_year") {
          err(e.unitPos, strCat("scale.unit must be any, individuals_per_year or subjects_per_year, not \"",
                                      e.unit, "\""));
        }
        e.sensitivity = strOr(s, "sensitivity", sctx, false);
        if (!e.sensitivity.empty() && e.sensitivity != "sensitive" && e.sensitivity != "non_sensitive" &&
            e.sensitivity != "mixed") {
          err(posOf(s["sensitivity"]), "scale.sensitivity must be sensitive, non_sensitive or mixed");
        }
        if (s["relaxed_from_national"].IsDefined()) boolean(s["relaxed_from_national"], "relaxed_from_national");
        if (s["tiers"].IsDefined()) {
          e.tiers = tiers(s["tiers"], strCat("tiers of ", ctx));
          e.tiersPos = posOf(s["tiers"]);
        }
      }
    } else {
      err(e.pos, strCat(ctx, " is missing required key \"scale\""));
    }
    if (en["mechanism"].IsDefined()) e.mechanism = Ref{strOr(en, "mechanism", ctx, false), posOf(en["mechanism"])};
    if (en["below_threshold_falls_to"].IsDefined()) {
      e.fallsTo = Ref{strOr(en, "below_threshold_falls_to", ctx, false), posOf(en["below_threshold_falls_to"])};
    }
    if (YAML::Node d = en["destination_scope"]; d.IsDefined()) {
      std::string dctx = strCat("destination_scope of ", ctx);
      if (checkMap(d, dctx, {"countries", "recipient_must_match_filing"})) {
        YAML::Node c = d["countries"];
        if (c.IsDefined()) {
          e.countriesPos = posOf(c);
          if (c.IsScalar() && c.Scalar() == "any") {
            e.anyCountry = true;
          } else {
            e.anyCountry = false;
            e.countries = refs(c, "countries");
          }
        }
        e.recipientMustMatchFiling = boolOr(d, "recipient_must_match_filing", dctx, false);
      }
    }
    if (en["exception_filing_types"].IsDefined()) e.exceptionFilingTypes = refs(en["exception_filing_types"], "exception_filing_types");
    if (en["requires_filing_types"].IsDefined()) e.requiresFilingTypes = refs(en["requires_filing_types"], "requires_filing_types");
    if (en["prerequisite_filing_types"].IsDefined()) {
      e.prerequisiteFilingTypes = refs(en["prerequisite_filing_types"], "prerequisite_filing_types");
    }
    if (YAML::Node ev = en["evidence"]; ev.IsDefined()) {
      std::string ectx = strCat("evidence of ", ctx);
      if (checkMap(ev, ectx, {"level", "retain_days"})) {
        e.evidenceLevel = strOr(ev, "level", ectx, false);
        if (ev["retain_days"].IsDefined()) e.retainDays = static_cast<uint32_t>(u64(ev["retain_days"], "retain_days").value_or(0));
      }
    }
    for (const char* k : {"description", "modelled_on", "notes", "exemption_basis"}) {
      if (en[k].IsDefined()) str(en[k], strCat(k, " of ", ctx));
    }
    if (en["prerequisites"].IsDefined()) strings(en["prerequisites"], "prerequisites");
    l.entries.push_back(std::move(e));
  }
}

void Parser::parseFilings(const YAML::Node& n, NegativeList& l) {
  if (!n.IsSequence()) {
    err(posOf(n), "filings must be a list");
    return;
  }
  for (const auto& fn : n) {
    Filing f;
    f.pos = posOf(fn);
    if (!checkMap(fn, "a filing", {"id", "type", "tenant", "authority", "reference", "contract_effective", "filed_on",
                                   "entries", "destinations", "purpose", "caps", "valid_from", "expires",
                                   "extension_window_opens", "status", "status_reason", "linked_records",
                                   "conditions", "grants_export"})) {
      continue;
    }
    f.id = strOr(fn, "id", "a filing", true);
    f.idPos = posOf(fn["id"]);
    std::string ctx = strCat("filing \"", f.id, "\"");
    f.type = strOr(fn, "type", ctx, true);
    f.typePos = posOf(fn["type"]);
    f.reference = strOr(fn, "reference", ctx, false);
    if (YAML::Node t = fn["tenant"]; t.IsDefined()) {
      if (checkMap(t, strCat("tenant of ", ctx), {"name", "name_zh", "uscc"})) {
        f.uscc = strOr(t, "uscc", strCat("tenant of ", ctx), true);
        f.usccPos = posOf(t["uscc"]);
      }
    } else {
      err(f.pos, strCat(ctx, " is missing required key \"tenant\""));
    }
    if (fn["entries"].IsDefined()) {
      f.entries = refs(fn["entries"], "entries");
    } else {
      err(f.pos, strCat(ctx, " is missing required key \"entries\""));
    }
    if (fn["destinations"].IsDefined()) {
      f.destinations = refs(fn["destinations"], "destinations");
    } else {
      err(f.pos, strCat(ctx, " is missing required key \"destinations\""));
    }
    if (fn["valid_from"].IsDefined()) {
      f.validFrom = date(fn["valid_from"], "valid_from");
      f.validFromPos = posOf(fn["valid_from"]);
    } else {
      err(f.pos, strCat(ctx, " is missing required key \"valid_from\""));
    }
    if (fn["expires"].IsDefined()) {
      f.expires = date(fn["expires"], "expires");
      f.expiresPos = posOf(fn["expires"]);
    } else {
      err(f.pos, strCat(ctx, " is missing required key \"expires\""));
    }
    for (const char* k : {"contract_effective", "filed_on", "extension_window_opens"}) {
      if (fn[k].IsDefined()) date(fn[k], k);
    }
    f.status = strOr(fn, "status", ctx, true);
    f.statusPos = posOf(fn["status"]);
    if (!f.status.empty() && f.status != "active" && f.status != "suspended" && f.status != "revoked" &&
        f.status != "expired" && f.status != "pending") {
      err(f.statusPos, "status must be active, pending, suspended, revoked or expired");
    }
    f.grantsExport = boolOr(fn, "grants_export", ctx, true);
    if (YAML::Node c = fn["caps"]; c.IsDefined()) {
      if (checkMap(c, strCat("caps of ", ctx), {"individuals_per_year", "sensitive"})) {
        if (c["individuals_per_year"].IsDefined()) f.capIndividualsPerYear = u64(c["individuals_per_year"], "caps.individuals_per_year");
        f.capSensitiveAllowed = boolOr(c, "sensitive", "caps", true);
      }
    }
    if (YAML::Node lr = fn["linked_records"]; lr.IsDefined()) {
      if (!lr.IsSequence()) {
        err(posOf(lr), "linked_records must be a list");
      } else {
        for (const auto& r : lr) {
          if (checkMap(r, "a linked record", {"type", "reference"})) {
            f.linkedRecordTypes.push_back(strOr(r, "type", "a linked record", true));
          }
        }
      }
    }
    if (fn["conditions"].IsDefined()) strings(fn["conditions"], "conditions");
    l.filings.push_back(std::move(f));
  }
}

}  // namespace

LoadResult loadListText(std::string_view yaml, std::string_view fileName, const LoadOptions& options,
                        std::string_view baseDir) {
  LoadResult r;
  NegativeList l;
  l.file = std::string(fileName);
  Parser p(l.file, &r.diagnostics);
  if (size_t good = firstInvalidUtf8(yaml); good != std::string_view::npos) {
    // Point at the first bad byte: YAML lists are UTF-8 text.
    int line = 1, col = 1;
    for (size_t i = 0; i < good; ++i) {
      if (yaml[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    p.err({line, col}, "the list is not valid UTF-8 (save it as UTF-8; GBK keywords are generated by the compiler)");
    return r;
  }
  YAML::Node root;
  // yaml-cpp reports syntax errors by exception; this is the one place we catch them.
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    Pos pos{e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
    p.err(pos, strCat("YAML syntax: ", e.msg));
    return r;
  }
  try {
    p.parseTop(root, l, baseDir);
    validateList(l, options, &r.diagnostics);
  } catch (const YAML::Exception& e) {
    Pos pos{e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
    p.err(pos, strCat("YAML: ", e.msg));
  }
  std::stable_sort(r.diagnostics.begin(), r.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return a.file < b.file;
    if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
    return a.pos.col < b.pos.col;
  });
  if (r.diagnostics.empty()) r.list = std::move(l);
  return r;
}

LoadResult loadListFile(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.diagnostics.push_back({path, {0, 0}, "cannot read the file"});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir = std::filesystem::path(path).parent_path().string();
  return loadListText(ss.str(), path, options, dir.empty() ? "." : dir);
}

}  // namespace xborder::rules::lang
