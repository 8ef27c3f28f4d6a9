#include "rules/compile/compile_ruleset.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <set>

#include "rules/compile/compile_detectors.h"
#include "rules/geo/geo_strcat.h"
#include "rules/lang/lang_keyword.h"

namespace xborder::rules::compile {

namespace {

pb::Action actionOf(std::string_view a) {
  if (a == "allow") return pb::ACTION_ALLOW;
  if (a == "log") return pb::ACTION_LOG;
  if (a == "alert") return pb::ACTION_ALERT;
  if (a == "hold") return pb::ACTION_HOLD;
  return pb::ACTION_BLOCK;
}

// Sort key for prefixes: IPv4 before IPv6, then address bytes, then length.
std::string prefixKey(const geo::Cidr& c) {
  std::string k(1, c.addr.v6 ? '\x01' : '\x00');
  k += c.addr.toBytes();
  k.push_back(static_cast<char>(c.length));
  return k;
}

void setPrefix(const geo::Cidr& c, pb::Prefix* p) {
  p->set_addr(c.addr.toBytes());
  p->set_length(c.length);
}

std::vector<geo::Cidr> sortedCidrs(const std::vector<lang::CidrRef>& in) {
  std::vector<geo::Cidr> out;
  for (const auto& c : in) out.push_back(c.cidr);
  std::sort(out.begin(), out.end(), [](const geo::Cidr& a, const geo::Cidr& b) { return prefixKey(a) < prefixKey(b); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

template <typename T>
std::vector<std::string> sortedNames(const std::vector<T>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(r.name);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void setKeyword(const std::string& k, pb::Keyword* kw) {
  kw->set_utf8(k);
  if (!lang::isAscii(k)) {
    if (auto g = lang::utf8ToGbk(k)) kw->set_gbk(*g);
  }
  kw->set_ascii_case_insensitive(true);
  kw->set_ascii_word_boundary(lang::needsWordBoundary(k));
}

void setTiers(const std::vector<lang::Tier>& in, google::protobuf::RepeatedPtrField<pb::Tier>* out) {
  for (const auto& t : in) {
    auto* o = out->Add();
    o->set_min(t.min);
    o->set_max(t.max.value_or(0));
    o->set_mechanism(t.mechanism.name);
  }
}

int64_t dayStartUnix(const lang::Date& d, int tzMinutes) { return d.daysSinceEpoch() * 86400 - tzMinutes * 60; }

}  // namespace

absl::StatusOr<pb::Ruleset> compileList(const lang::NegativeList& l, const CompileOptions& options) {
  pb::Ruleset r;
  r.set_schema_version(l.schemaVersion);
  r.set_list_id(l.listId);
  r.set_version(l.version);
  if (l.effectiveDate) r.set_effective_date(l.effectiveDate->toString());
  r.set_issuer(l.issuer);

  auto* pol = r.mutable_policy();
  pol->set_no_match_action(actionOf(l.policy.noMatchAction));
  pol->set_covered_action(actionOf(l.policy.coveredAction));
  pol->set_unknown_tenant_action(actionOf(l.policy.unknownTenantAction));
  pol->set_inbound_pulls_count_as_export(l.policy.inboundPullsCountAsExport);
  pol->set_tz_offset_minutes(l.policy.tzOffsetMinutes);
  pol->set_eligibility_requires_registration(l.policy.eligibilityRequiresRegistration);
  pol->set_eligibility_excludes_ciio(l.policy.eligibilityExcludesCiio);
  for (double ratio : l.policy.alertRatios) pol->add_alert_ratios(ratio);

  // Mechanisms in precedence order (strictest first).
  std::map<std::string, uint32_t> precedence;
  for (const auto& p : l.policy.precedence) precedence.emplace(p.name, static_cast<uint32_t>(precedence.size()));
  std::vector<const lang::Mechanism*> mechs;
  for (const auto& m : l.mechanisms) mechs.push_back(&m);
  std::sort(mechs.begin(), mechs.end(), [&](auto* a, auto* b) { return precedence[a->name] < precedence[b->name]; });
  for (const auto* m : mechs) {
    auto* o = r.add_mechanisms();
    o->set_name(m->name);
    o->set_zh(m->zh);
    o->set_default_action(actionOf(m->defaultAction));
    std::vector<std::string> acc = m->filingTypesAccepted;
    std::sort(acc.begin(), acc.end());
    for (auto& a : acc) o->add_filing_types_accepted(a);
    o->set_precedence(precedence[m->name]);
  }

  // Detectors and dictionaries, by name.
  if (l.detectors.size() > kMaxDetectors) {
    return absl::InvalidArgumentError(strCat("more than ", kMaxDetectors, " detectors"));
  }
  std::set<std::string> sensitiveClasses;
  for (const auto& c : l.policy.sensitiveClasses) sensitiveClasses.insert(c.name);
  std::vector<const lang::Detector*> dets;
  for (const auto& d : l.detectors) dets.push_back(&d);
  std::sort(dets.begin(), dets.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::map<std::string, uint32_t> detIndex;
  for (const auto* d : dets) {
    detIndex[d->name] = static_cast<uint32_t>(r.detectors_size());
    auto* o = r.add_detectors();
    o->set_name(d->name);
    o->set_zh(d->zh);
    o->set_validator(d->validator);
    o->set_pi_class(d->piClass);
    o->set_sensitive(sensitiveClasses.count(d->piClass) > 0);
    std::vector<std::string> kws = d->contextKeywords;
    std::sort(kws.begin(), kws.end());
    kws.erase(std::unique(kws.begin(), kws.end()), kws.end());
    for (const auto& k : kws) setKeyword(k, o->add_context_keywords());
    o->set_proximity_chars(d->proximityChars);
  }
  std::vector<const lang::Dictionary*> dicts;
  for (const auto& d : l.dictionaries) dicts.push_back(&d);
  std::sort(dicts.begin(), dicts.end(), [](auto* a, auto* b) { return a->name < b->name; });
  std::map<std::string, uint32_t> dictIndex;
  for (const auto* d : dicts) {
    dictIndex[d->name] = static_cast<uint32_t>(r.dictionaries_size());
    auto* o = r.add_dictionaries();
    o->set_name(d->name);
    std::vector<std::string> kws = d->keywords;
    std::sort(kws.begin(), kws.end());
    kws.erase(std::unique(kws.begin(), kws.end()), kws.end());
    for (const auto& k : kws) setKeyword(k, o->add_keywords());
  }

  // Legal entities and tenants.
  std::set<std::string> usccs;
  for (const auto& t : l.tenants) usccs.insert(t.uscc);
  std::map<std::string, uint32_t> entityIndex;
  for (const auto& u : usccs) {
    entityIndex[u] = static_cast<uint32_t>(r.legal_entities_size());
    r.add_legal_entities(u);
  }
  std::vector<const lang::Tenant*> tens;
  for (const auto& t : l.tenants) tens.push_back(&t);
  std::sort(tens.begin(), tens.end(), [](auto* a, auto* b) { return a->id < b->id; });
  for (const auto* t : tens) {
    auto* o = r.add_tenants();
    o->set_id(t->id);
    o->set_uscc(t->uscc);
    o->set_name(t->name);
    o->set_legal_entity(entityIndex[t->uscc]);
    for (const auto& c : sortedCidrs(t->cidrs)) setPrefix(c, o->add_source_cidrs());
    std::vector<uint32_t> vl = t->vlans;
    std::sort(vl.begin(), vl.end());
    vl.erase(std::unique(vl.begin(), vl.end()), vl.end());
    for (auto v : vl) o->add_vlans(v);
    o->set_registered_in_zone(t->registeredInZone);
    o->set_ciio(t->ciio);
    bool eligible = (!l.policy.eligibilityRequiresRegistration || t->registeredInZone) &&
                    (!l.policy.eligibilityExcludesCiio || !t->ciio);
    o->set_eligible(eligible);
  }

  // Destinations.
  std::vector<const lang::Destination*> dsts;
  for (const auto& d : l.destinations) dsts.push_back(&d);
  std::sort(dsts.begin(), dsts.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::map<std::string, uint32_t> dstIndex;
  for (const auto* d : dsts) {
    dstIndex[d->id] = static_cast<uint32_t>(r.destinations_size());
    auto* o = r.add_destinations();
    o->set_id(d->id);
    o->set_recipient(d->recipient);
    o->set_country(d->country);
    for (const auto& c : sortedCidrs(d->cidrs)) setPrefix(c, o->add_cidrs());
    std::vector<std::string> names;
    for (const auto& f : d->fqdns) {
      std::string n = f.name;
      std::transform(n.begin(), n.end(), n.begin(), [](char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; });
      names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (auto& n : names) o->add_fqdns(n);
  }

  // Entries, by id.
  std::vector<const lang::Entry*> ents;
  for (const auto& e : l.entries) ents.push_back(&e);
  std::sort(ents.begin(), ents.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::map<std::string, uint32_t> entIndex;
  for (const auto* e : ents) entIndex[e->id] = static_cast<uint32_t>(entIndex.size());
  std::set<std::string> catchAll;
  for (const auto& c : l.policy.catchAllEntries) catchAll.insert(c.name);
  auto idxList = [](const std::vector<lang::Ref>& refs, const std::map<std::string, uint32_t>& idx) {
    std::vector<uint32_t> out;
    for (const auto& r2 : refs) {
      auto it = idx.find(r2.name);
      if (it != idx.end()) out.push_back(it->second);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  for (const auto* e : ents) {
    auto* o = r.add_entries();
    o->set_id(e->id);
    o->set_sector_en(e->sector.en);
    o->set_sector_zh(e->sector.zh);
    o->set_scenario_en(e->scenario.en);
    o->set_scenario_zh(e->scenario.zh);
    o->set_category_en(e->category.en);
    o->set_category_zh(e->category.zh);
    o->set_data_nature(e->dataNature);
    for (auto i : idxList(e->match.allOf, detIndex)) o->add_all_of(i);
    for (auto i : idxList(e->match.anyOf, detIndex)) o->add_any_of(i);
    for (auto i : idxList(e->match.dictionaries, dictIndex)) o->add_dictionaries(i);
    o->set_geofence_set(e->match.geofenceSet);
    for (const auto& c : sortedNames(e->match.contentTypes)) {
      std::string lc = c;
      std::transform(lc.begin(), lc.end(), lc.begin(), [](char ch) { return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch; });
      o->add_content_types(lc);
    }
    std::vector<std::string> names;
    for (const auto& n : e->match.serverNames) {
      std::string lc = n.name;
      std::transform(lc.begin(), lc.end(), lc.begin(), [](char ch) { return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch; });
      if (!lc.empty() && lc.back() == '.') lc.pop_back();
      names.push_back(std::move(lc));
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (auto& n : names) o->add_server_names(n);
    std::vector<std::string> hints = e->match.endpointHints;
    std::sort(hints.begin(), hints.end());
    for (auto& h : hints) o->add_endpoint_hints(h);
    o->set_min_records_per_flow(e->match.minRecordsPerFlow.value_or(0));
    o->set_max_records_per_flow(e->match.maxRecordsPerFlow.value_or(0));
    bool counted = e->unit == "individuals_per_year" || e->unit == "subjects_per_year";
    o->set_counted(counted);
    o->set_unit(e->unit);
    o->set_sensitivity(e->sensitivity == "sensitive"       ? pb::SENSITIVITY_SENSITIVE
                       : e->sensitivity == "non_sensitive" ? pb::SENSITIVITY_NON_SENSITIVE
                                                           : pb::SENSITIVITY_MIXED);
    setTiers(e->tiers, o->mutable_tiers());
    if (e->mechanism) o->set_mechanism(e->mechanism->name);
    o->set_falls_to(e->fallsTo && entIndex.count(e->fallsTo->name) ? static_cast<int32_t>(entIndex[e->fallsTo->name]) : -1);
    if (!e->anyCountry) {
      for (const auto& c : sortedNames(e->countries)) o->add_countries(c);
    }
    o->set_recipient_must_match_filing(e->recipientMustMatchFiling);
    for (const auto& t : sortedNames(e->exceptionFilingTypes)) o->add_exception_filing_types(t);
    for (const auto& t : sortedNames(e->requiresFilingTypes)) o->add_requires_filing_types(t);
    for (const auto& t : sortedNames(e->prerequisiteFilingTypes)) o->add_prerequisite_filing_types(t);
    o->set_catch_all(catchAll.count(e->id) > 0);
    o->set_evidence_level(e->evidenceLevel);
    o->set_retain_days(e->retainDays);
  }

  // Filings, by id.
  std::vector<const lang::Filing*> fils;
  for (const auto& f : l.filings) fils.push_back(&f);
  std::sort(fils.begin(), fils.end(), [](auto* a, auto* b) { return a->id < b->id; });
  for (const auto* f : fils) {
    auto* o = r.add_filings();
    o->set_id(f->id);
    o->set_type(f->type);
    std::vector<std::string> linked = f->linkedRecordTypes;
    std::sort(linked.begin(), linked.end());
    for (auto& t : linked) o->add_linked_record_types(t);
    o->set_legal_entity(entityIndex.count(f->uscc) ? entityIndex[f->uscc] : 0);
    o->set_uscc(f->uscc);
    for (auto i : idxList(f->entries, entIndex)) o->add_entries(i);
    for (auto i : idxList(f->destinations, dstIndex)) o->add_destinations(i);
    if (f->validFrom) {
      o->set_valid_from(f->validFrom->toString());
      o->set_valid_from_unix(dayStartUnix(*f->validFrom, l.policy.tzOffsetMinutes));
    }
    if (f->expires) {
      o->set_expires(f->expires->toString());
      o->set_expires_unix(dayStartUnix(*f->expires, l.policy.tzOffsetMinutes) + 86400 - 1);
    }
    o->set_status(f->status);
    o->set_active(f->status == "active");
    o->set_grants_export(f->grantsExport);
    o->set_cap_individuals_per_year(f->capIndividualsPerYear.value_or(0));
    o->set_cap_sensitive_allowed(f->capSensitiveAllowed);
    o->set_reference(f->reference);
  }

  // National baseline.
  auto* b = r.mutable_baseline();
  setTiers(l.baseline.nonSensitive, b->mutable_non_sensitive());
  setTiers(l.baseline.sensitive, b->mutable_sensitive());
  b->set_ciio_personal_information(l.baseline.ciioPersonalInformation.name);
  b->set_ciio_important_data(l.baseline.ciioImportantData.name);
  b->set_non_ciio_important_data(l.baseline.nonCiioImportantData.name);

  // Geo table, by address; a later duplicate line replaces an earlier one.
  std::map<std::string, std::pair<geo::Cidr, std::string>> geoSorted;
  for (const auto& g : l.geo) geoSorted[prefixKey(g.cidr)] = {g.cidr, g.country};
  for (const auto& [k, v] : geoSorted) {
    auto* o = r.add_geo();
    setPrefix(v.first, o->mutable_prefix());
    o->set_country(v.second);
  }

  // Evaluation order: strictest possible mechanism first, then id.
  auto strictest = [&](const pb::Entry& e) {
    uint32_t best = UINT32_MAX;
    if (!e.mechanism().empty()) best = precedence[e.mechanism()];
    for (const auto& t : e.tiers()) best = std::min(best, precedence[t.mechanism()]);
    return best;
  };
  std::vector<uint32_t> order(static_cast<size_t>(r.entries_size()));
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t c) { return strictest(r.entries(a)) < strictest(r.entries(c)); });
  for (auto i : order) r.add_evaluation_order(i);

  if (options.embedHyperscan) {
    auto set = detectors::DetectorSet::build(detectorSpecOf(r));
    if (!set.ok()) return absl::InvalidArgumentError(strCat("detectors: ", std::string(set.status().message())));
    auto bytes = (*set)->serialize();
    if (!bytes.ok()) return absl::InternalError(strCat("detectors: ", std::string(bytes.status().message())));
    r.set_hyperscan_db(*bytes);
  }
  return r;
}

std::string serializeDeterministic(const pb::Ruleset& ruleset) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream zs(&out);
    google::protobuf::io::CodedOutputStream cs(&zs);
    cs.SetSerializationDeterministic(true);
    ruleset.SerializeToCodedStream(&cs);
  }
  return out;
}

std::string sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

}  // namespace xborder::rules::compile
