// Semantic checks of a parsed list: everything that needs more than one place of the
// document (references, overlaps, dates). Each problem is reported where a person
// would fix it.

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "rules/geo/geo_strcat.h"
#include "rules/lang/lang_detector_registry.h"
#include "rules/lang/lang_keyword.h"
#include "rules/lang/list_loader.h"

namespace xborder::rules::lang {

namespace {

class Validator {
 public:
  Validator(NegativeList& l, const LoadOptions& o, std::vector<Diagnostic>* out) : l_(l), opt_(o), out_(out) {}

  void run() {
    indexNames();
    checkMechanisms();
    checkDetectors();
    checkDictionaries();
    checkTenants();
    checkDestinations();
    checkEntries();
    checkFilings();
    checkBaseline();
    loadGeo();
  }

 private:
  void err(Pos p, std::string m) { out_->push_back({l_.file, p, std::move(m)}); }

  void indexNames() {
    for (const auto& m : l_.mechanisms) mechanisms_[m.name] = &m;
    for (const auto& d : l_.detectors) detectors_[d.name] = &d;
    for (const auto& d : l_.dictionaries) dictionaries_.insert(d.name);
    for (const auto& d : l_.destinations) destinations_.insert(d.id);
    for (const auto& t : l_.tenants) usccs_.insert(t.uscc);
    for (const auto& e : l_.entries) {
      if (e.id.empty()) continue;
      auto [it, fresh] = entries_.emplace(e.id, &e);
      if (!fresh) err(e.idPos, strCat("duplicate entry id \"", e.id, "\" (first at line ", it->second->idPos.line, ")"));
    }
    std::map<std::string, Pos> filings;
    for (const auto& f : l_.filings) {
      auto [it, fresh] = filings.emplace(f.id, f.idPos);
      if (!fresh && !f.id.empty()) {
        err(f.idPos, strCat("duplicate filing id \"", f.id, "\" (first at line ", it->second.line, ")"));
      }
    }
    std::map<std::string, Pos> tenants;
    for (const auto& t : l_.tenants) {
      auto [it, fresh] = tenants.emplace(t.id, t.pos);
      if (!fresh && !t.id.empty()) {
        err(t.pos, strCat("duplicate tenant id \"", t.id, "\" (first at line ", it->second.line, ")"));
      }
    }
  }

  bool mechanismKnown(const Ref& r) {
    if (r.name.empty()) return false;
    if (!mechanisms_.count(r.name)) {
      err(r.pos, strCat("unknown mechanism \"", r.name, "\" (not defined under mechanisms:)"));
      return false;
    }
    return true;
  }

  void checkMechanisms() {
    std::set<std::string> inPrecedence;
    for (const auto& r : l_.policy.precedence) {
      if (!mechanismKnown(r)) continue;
      if (!inPrecedence.insert(r.name).second) {
        err(r.pos, strCat("mechanism \"", r.name, "\" appears twice in evaluation.precedence"));
      }
    }
    for (const auto& m : l_.mechanisms) {
      if (!inPrecedence.count(m.name) && !l_.policy.precedence.empty()) {
        err(m.pos, strCat("mechanism \"", m.name, "\" is missing from evaluation.precedence"));
      }
    }
    for (const auto& r : l_.policy.catchAllEntries) {
      if (!entries_.count(r.name)) err(r.pos, strCat("unknown entry \"", r.name, "\" in catch_all_entries"));
    }
  }

  void detectorRef(const Ref& r, std::string_view where) {
    if (!detectors_.count(r.name)) {
      err(r.pos, strCat("unknown detector \"", r.name, "\" in ", where, " (not defined under detectors:)"));
    }
  }

  void checkDetectors() {
    std::set<std::string> classes = {"none", "identifier"};
    for (const auto& c : l_.policy.sensitiveClasses) classes.insert(c.name);
    for (const auto& d : l_.detectors) {
      if (!isImplementedDetector(d.name)) {
        err(d.pos, strCat("detector \"", d.name, "\" has no implementation (known: ",
                                strJoin(implementedDetectors(), ", "), ")"));
      }
      if (!d.piClass.empty() && !classes.count(d.piClass)) {
        err(d.pos, strCat("detector \"", d.name, "\": pi_class \"", d.piClass,
                                "\" is neither none, identifier nor a sensitive class"));
      }
    }
    for (const auto& r : l_.policy.keyPriority) detectorRef(r, "key_priority");
    for (const auto& r : l_.policy.nonSensitiveIdentifiers) detectorRef(r, "non_sensitive_identifiers");
  }

  void checkDictionaries() {
    for (const auto& d : l_.dictionaries) {
      if (d.keywords.empty()) err(d.pos, strCat("dictionary \"", d.name, "\" has no keywords"));
      std::set<std::string> seen;
      for (const auto& k : d.keywords) {
        if (k.empty()) {
          err(d.pos, strCat("dictionary \"", d.name, "\" has an empty keyword"));
        } else if (!isValidUtf8(k)) {
          err(d.pos, strCat("dictionary \"", d.name, "\" has a keyword that is not UTF-8"));
        } else if (!isAscii(k) && !utf8ToGbk(k)) {
          err(d.pos, strCat("dictionary \"", d.name, "\": keyword \"", k, "\" has no GBK form"));
        }
      }
    }
  }

  static bool usccValid(std::string_view u) {
    static const std::string_view kCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    if (u.size() != 18) return false;
    for (char c : u) {
      if (kCharset.find(c) == std::string_view::npos) return false;
    }
    return true;
  }

  void checkTenants() {
    std::map<std::pair<std::string, uint32_t>, std::string> seen;
    for (const auto& t : l_.tenants) {
      if (!t.uscc.empty() && !usccValid(t.uscc)) {
        err(t.usccPos, strCat("USCC \"", t.uscc, "\" is not 18 characters of 0-9A-HJ-NPQRTUWXY"));
      }
      if (t.cidrs.empty() && t.vlans.empty()) {
        err(t.pos, strCat("tenant \"", t.id, "\" has no source CIDRs: no traffic can be attributed to it"));
      }
      for (const auto& c : t.cidrs) {
        auto key = std::make_pair(c.cidr.addr.toBytes(), c.cidr.length);
        auto [it, fresh] = seen.emplace(key, t.id);
        if (!fresh) {
          err(c.pos, strCat("source CIDR ", c.cidr.toString(), " is already assigned to tenant \"", it->second, "\""));
        }
      }
    }
  }

  static bool fqdnValid(std::string_view f) {
    if (f.empty() || f.size() > 253 || f.front() == '.' || f.back() == '.') return false;
    size_t label = 0;
    for (char c : f) {
      if (c == '.') {
        if (label == 0) return false;
        label = 0;
        continue;
      }
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok || ++label > 63) return false;
    }
    return label > 0;
  }

  void checkDestinations() {
    std::map<std::pair<std::string, uint32_t>, std::string> seen;
    for (const auto& d : l_.destinations) {
      if (!d.country.empty() && !geo::isCountryCode(d.country)) {
        err(d.countryPos, strCat("country \"", d.country, "\" is not an ISO 3166-1 alpha-2 code"));
      }
      if (d.cidrs.empty() && d.fqdns.empty()) {
        err(d.pos, strCat("destination \"", d.id, "\" has no endpoints: no flow can match it"));
      }
      for (const auto& c : d.cidrs) {
        auto [it, fresh] = seen.emplace(std::make_pair(c.cidr.addr.toBytes(), c.cidr.length), d.id);
        if (!fresh) {
          err(c.pos, strCat("CIDR ", c.cidr.toString(), " is already an endpoint of destination \"", it->second, "\""));
        }
      }
      for (const auto& f : d.fqdns) {
        if (!fqdnValid(f.name)) err(f.pos, strCat("bad domain name \"", f.name, "\""));
      }
    }
  }

  // Bands must start at `first` (1 unless something else handles lower counts), never
  // overlap, leave no gap, and end open-ended.
  void checkTiers(const std::vector<Tier>& tiers, Pos where, std::string_view ctx, bool fallsTo) {
    if (tiers.empty()) {
      err(where, strCat(ctx, ": tiers is empty"));
      return;
    }
    for (size_t i = 0; i < tiers.size(); ++i) {
      const Tier& t = tiers[i];
      mechanismKnown(t.mechanism);
      if (t.min == 0) err(t.pos, strCat(ctx, ": tier min must be at least 1"));
      if (t.max && *t.max < t.min) {
        err(t.pos, strCat(ctx, ": tier ", t.min, "..", *t.max, " has max below min"));
        continue;
      }
      if (i == 0) {
        if (t.min > 1 && !fallsTo) {
          err(t.pos, strCat(ctx, ": tiers leave a gap: counts 1..", t.min - 1,
                                  " have no mechanism (add a tier or below_threshold_falls_to)"));
        }
        continue;
      }
      const Tier& p = tiers[i - 1];
      if (!p.max || t.min <= *p.max || t.min < p.min) {
        err(t.pos, strCat(ctx, ": tier starting at ", t.min, " overlaps the tier starting at ", p.min));
      } else if (t.min > *p.max + 1) {
        err(t.pos, strCat(ctx, ": tiers leave a gap: counts ", *p.max + 1, "..", t.min - 1, " have no mechanism"));
      }
    }
    if (tiers.back().max) {
      err(tiers.back().pos, strCat(ctx, ": tiers leave a gap: counts above ", *tiers.back().max,
                                         " have no mechanism (end with max: null)"));
    }
  }

  // A DNS name as it appears in SNI / Host: labels of letters, digits, '-' and '_',
  // 1..63 bytes each, at most 253 bytes; an optional trailing dot.
  static bool serverNameValid(std::string_view n) {
    if (!n.empty() && n.back() == '.') n.remove_suffix(1);
    if (n.empty() || n.size() > 253) return false;
    size_t label = 0;
    for (char c : n) {
      if (c == '.') {
        if (label == 0) return false;
        label = 0;
        continue;
      }
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok || ++label > 63) return false;
    }
    return label > 0;
  }

  static bool contentTypeValid(std::string_view c) {
    size_t slash = c.find('/');
    return slash != std::string_view::npos && slash > 0 && slash + 1 < c.size() &&
           c.find('/', slash + 1) == std::string_view::npos && c.find(' ') == std::string_view::npos;
  }

  void checkEntries() {
    for (const auto& e : l_.entries) {
      std::string ctx = strCat("entry \"", e.id, "\"");
      const Match& m = e.match;
      for (const auto& r : m.allOf) detectorRef(r, strCat("all_of of ", ctx));
      for (const auto& r : m.anyOf) detectorRef(r, strCat("any_of of ", ctx));
      for (const auto& r : m.dictionaries) {
        if (!dictionaries_.count(r.name)) {
          err(r.pos, strCat("unknown dictionary \"", r.name, "\" in ", ctx, " (not defined under dictionaries:)"));
        }
      }
      for (const auto& r : m.serverNames) {
        if (!serverNameValid(r.name)) {
          err(r.pos, strCat("server name \"", r.name, "\" in ", ctx,
                            " is not a DNS name (letters, digits, '-', '.'; a name also covers its sub-domains, "
                            "so no '*')"));
        }
      }
      for (const auto& r : m.contentTypes) {
        if (!contentTypeValid(r.name)) {
          err(r.pos, strCat("content type \"", r.name, "\" is not type/subtype or type/*"));
        }
      }
      if (m.present) {
        for (const auto& [key, pos] : m.emptyLists) {
          err(pos, strCat(ctx, " can never match: ", key, " is an empty list"));
        }
        if (m.minRecordsPerFlow && m.maxRecordsPerFlow && *m.minRecordsPerFlow > *m.maxRecordsPerFlow) {
          err(m.maxPos, strCat(ctx, " can never match: max_records_per_flow ", *m.maxRecordsPerFlow,
                                     " is below min_records_per_flow ", *m.minRecordsPerFlow));
        }
        if (m.maxRecordsPerFlow && *m.maxRecordsPerFlow == 0) {
          err(m.maxPos, strCat(ctx, " can never match: max_records_per_flow is 0"));
        }
        if (m.allOf.empty() && m.anyOf.empty() && m.dictionaries.empty() && m.serverNames.empty() &&
            m.emptyLists.empty()) {
          err(m.pos, strCat(ctx, " has no content condition (all_of, any_of, dictionaries or server_names): it would "
                                 "match every flow"));
        }
        std::set<std::string> all;
        for (const auto& r : m.allOf) all.insert(r.name);
        for (const auto& r : m.anyOf) {
          if (all.count(r.name) && m.anyOf.size() == 1) {
            // harmless but a sign of a typo; not an error
          }
        }
      }
      if (!e.anyCountry) {
        if (e.countries.empty()) err(e.countriesPos, strCat(ctx, " can never match: countries is an empty list"));
        for (const auto& c : e.countries) {
          if (!geo::isCountryCode(c.name)) {
            err(c.pos, strCat("country \"", c.name, "\" is not an ISO 3166-1 alpha-2 code (or write countries: any)"));
          }
        }
      }
      bool counted = e.unit == "individuals_per_year" || e.unit == "subjects_per_year";
      if (e.unit == "any") {
        if (!e.tiers.empty()) err(e.tiersPos, strCat(ctx, ": scale.unit any cannot have tiers"));
        if (!e.mechanism) {
          err(e.pos, strCat(ctx, " has scale.unit any but no mechanism"));
        } else {
          mechanismKnown(*e.mechanism);
        }
        if (e.fallsTo) err(e.fallsTo->pos, strCat(ctx, ": below_threshold_falls_to needs tiers"));
      } else if (counted) {
        if (e.mechanism) {
          err(e.mechanism->pos, strCat(ctx, ": give either mechanism (with unit any) or tiers, not both"));
        }
        if (e.tiers.empty()) {
          err(e.unitPos, strCat(ctx, ": scale.unit ", e.unit, " needs tiers"));
        } else {
          checkTiers(e.tiers, e.tiersPos, ctx, e.fallsTo.has_value());
        }
      }
      if (e.fallsTo) {
        auto it = entries_.find(e.fallsTo->name);
        if (it == entries_.end()) {
          err(e.fallsTo->pos, strCat("below_threshold_falls_to names unknown entry \"", e.fallsTo->name, "\""));
        } else if (it->second == &e) {
          err(e.fallsTo->pos, strCat(ctx, " falls to itself"));
        } else if (it->second->fallsTo) {
          err(e.fallsTo->pos, strCat(ctx, " falls to \"", e.fallsTo->name,
                                           "\", which itself falls to another entry (no chains)"));
        } else if (!e.tiers.empty() && e.tiers.front().min <= 1) {
          err(e.fallsTo->pos, strCat(ctx, ": below_threshold_falls_to is never used: the first tier starts at 1"));
        }
      }
    }
  }

  std::set<std::string> coveringTypes(const Entry& e) {
    std::set<std::string> types;
    auto addMech = [&](const std::string& name) {
      auto it = mechanisms_.find(name);
      if (it != mechanisms_.end()) types.insert(it->second->filingTypesAccepted.begin(), it->second->filingTypesAccepted.end());
    };
    if (e.mechanism) addMech(e.mechanism->name);
    for (const auto& t : e.tiers) addMech(t.mechanism.name);
    for (const auto* v : {&e.exceptionFilingTypes, &e.requiresFilingTypes, &e.prerequisiteFilingTypes}) {
      for (const auto& r : *v) types.insert(r.name);
    }
    return types;
  }

  void checkFilings() {
    std::optional<Date> asOf = opt_.asOf ? opt_.asOf : l_.effectiveDate;
    for (const auto& f : l_.filings) {
      std::string ctx = strCat("filing \"", f.id, "\"");
      if (!f.uscc.empty() && !usccs_.count(f.uscc)) {
        err(f.usccPos, strCat(ctx, " names USCC ", f.uscc, ", which no tenant has"));
      }
      if (f.entries.empty()) err(f.pos, strCat(ctx, " covers no entries"));
      for (const auto& r : f.entries) {
        auto it = entries_.find(r.name);
        if (it == entries_.end()) {
          err(r.pos, strCat(ctx, " names unknown entry \"", r.name, "\""));
          continue;
        }
        auto types = coveringTypes(*it->second);
        bool ok = types.count(f.type) > 0;
        for (const auto& lt : f.linkedRecordTypes) ok = ok || types.count(lt) > 0;
        if (!ok) {
          err(r.pos, strCat(ctx, " of type ", f.type, " cannot cover entry \"", r.name, "\" (it accepts: ",
                                  types.empty() ? std::string("no filing") : strJoin(types, ", "), ")"));
        }
      }
      if (f.destinations.empty()) err(f.pos, strCat(ctx, " names no destinations"));
      for (const auto& r : f.destinations) {
        if (!destinations_.count(r.name)) err(r.pos, strCat(ctx, " names unknown destination \"", r.name, "\""));
      }
      if (f.validFrom && f.expires && f.expires->daysSinceEpoch() < f.validFrom->daysSinceEpoch()) {
        err(f.expiresPos, strCat(ctx, " expires (", f.expires->toString(), ") before it becomes valid (",
                                       f.validFrom->toString(), ")"));
      } else if (f.expires && asOf && f.expires->daysSinceEpoch() < asOf->daysSinceEpoch()) {
        err(f.expiresPos, strCat(ctx, " has expired: ", f.expires->toString(), " is before ",
                                       opt_.asOf ? "the --as-of date " : "the list's effective_date ", asOf->toString()));
      }
      if (f.capIndividualsPerYear && *f.capIndividualsPerYear == 0) {
        err(f.pos, strCat(ctx, ": caps.individuals_per_year 0 covers nothing"));
      }
    }
  }

  void checkBaseline() {
    if (!l_.baseline.present) return;
    mechanismKnown(l_.baseline.ciioPersonalInformation);
    mechanismKnown(l_.baseline.ciioImportantData);
    mechanismKnown(l_.baseline.nonCiioImportantData);
    if (!l_.baseline.nonSensitive.empty() || l_.baseline.nonSensitivePos.line) {
      checkTiers(l_.baseline.nonSensitive, l_.baseline.nonSensitivePos, "national_baseline non-sensitive PI", false);
    }
    if (!l_.baseline.sensitive.empty() || l_.baseline.sensitivePos.line) {
      checkTiers(l_.baseline.sensitive, l_.baseline.sensitivePos, "national_baseline sensitive PI", false);
    }
  }

  void loadGeo() {
    std::string path = opt_.geoOverride.empty() ? l_.geoTablePath : opt_.geoOverride;
    if (path.empty()) return;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (opt_.geoOverride.empty()) {
        err(l_.geoTablePos, strCat("cannot read geo_table \"", path, "\""));
      } else {
        out_->push_back({path, {0, 0}, "cannot read the prefix-to-country table"});
      }
      return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<geo::CsvProblem> problems;
    l_.geo = geo::parseCountryCsvAll(ss.str(), &problems);
    for (const auto& p : problems) out_->push_back({path, {p.line, p.col}, p.message});
  }

  NegativeList& l_;
  const LoadOptions& opt_;
  std::vector<Diagnostic>* out_;
  std::map<std::string, const Mechanism*> mechanisms_;
  std::map<std::string, const Detector*> detectors_;
  std::set<std::string> dictionaries_;
  std::set<std::string> destinations_;
  std::set<std::string> usccs_;
  std::map<std::string, const Entry*> entries_;
};

}  // namespace

void validateList(NegativeList& list, const LoadOptions& options, std::vector<Diagnostic>* out) {
  Validator(list, options, out).run();
}

}  // namespace xborder::rules::lang
