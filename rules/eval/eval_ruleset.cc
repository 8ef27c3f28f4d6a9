#include "rules/eval/eval_ruleset.h"

#include <algorithm>
#include <cstring>

#include "rules/geo/geo_strcat.h"

namespace xborder::rules::eval {

std::string_view actionName(Action a) {
  switch (a) {
    case Action::kAllow: return "allow";
    case Action::kLog: return "log";
    case Action::kAlert: return "alert";
    case Action::kHold: return "hold";
    case Action::kBlock: return "block";
  }
  return "?";
}

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != b[i]) return false;  // b is already lower case
  }
  return true;
}

std::string_view mediaType(std::string_view ct) {
  size_t semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  while (!ct.empty() && ct.front() == ' ') ct.remove_prefix(1);
  return ct;
}

bool contentTypeMatches(std::string_view flowType, std::string_view pattern) {
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == "/*") {
    std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // "video/"
    return flowType.size() > prefix.size() && iequals(flowType.substr(0, prefix.size()), prefix);
  }
  return iequals(flowType, pattern);
}

int32_t civilYear(int64_t days) {
  // Howard Hinnant's civil_from_days, year only.
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t m = mp + (mp < 10 ? 3 : -9);
  return static_cast<int32_t>(y + (m <= 2 ? 1 : 0));
}

Action toAction(pb::Action a) { return static_cast<Action>(static_cast<int>(a)); }

}  // namespace

int32_t Evaluator::yearOf(int64_t unix) const {
  int64_t local = unix + static_cast<int64_t>(rs_.policy().tz_offset_minutes()) * 60;
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  return civilYear(days);
}

absl::StatusOr<std::unique_ptr<Evaluator>> Evaluator::create(pb::Ruleset ruleset) {
  std::unique_ptr<Evaluator> e(new Evaluator(std::move(ruleset)));
  if (auto s = e->build(); !s.ok()) return s;
  return e;
}

absl::StatusOr<std::unique_ptr<Evaluator>> Evaluator::fromBytes(std::string_view bytes) {
  pb::Ruleset rs;
  if (!rs.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("not a ruleset (protobuf parse failed)");
  }
  return create(std::move(rs));
}

absl::Status Evaluator::build() {
  auto bad = [](std::string m) { return absl::InvalidArgumentError(m); };
  if (rs_.detectors_size() > 64) return bad("more than 64 detectors");
  std::unordered_map<std::string, int32_t> mechIdx;
  for (int i = 0; i < rs_.mechanisms_size(); ++i) {
    const auto& m = rs_.mechanisms(i);
    mechIdx[m.name()] = i;
    mechAction_.push_back(toAction(m.default_action()));
    mechPrecedence_.push_back(m.precedence());
    mechAccepted_.emplace_back(m.filing_types_accepted().begin(), m.filing_types_accepted().end());
  }
  auto mech = [&](const std::string& n) -> int32_t {
    auto it = mechIdx.find(n);
    return it == mechIdx.end() ? -1 : it->second;
  };
  for (int i = 0; i < rs_.detectors_size(); ++i) {
    const auto& d = rs_.detectors(i);
    if (d.pi_class() != "none") piDetectorMask_ |= uint64_t{1} << i;
    if (d.sensitive()) sensitiveDetectorMask_ |= uint64_t{1} << i;
  }
  for (const auto& pe : rs_.entries()) {
    EntryRt e;
    for (auto i : pe.all_of()) e.allOf |= uint64_t{1} << (i & 63);
    for (auto i : pe.any_of()) e.anyOf |= uint64_t{1} << (i & 63);
    e.dictionaries.assign(pe.dictionaries().begin(), pe.dictionaries().end());
    e.geofence = !pe.geofence_set().empty();
    e.minRecords = pe.min_records_per_flow();
    e.maxRecords = pe.max_records_per_flow();
    e.contentTypes.assign(pe.content_types().begin(), pe.content_types().end());
    e.serverNames.assign(pe.server_names().begin(), pe.server_names().end());
    e.counted = pe.counted();
    e.sensitivity = pe.sensitivity();
    for (const auto& t : pe.tiers()) {
      int32_t m = mech(t.mechanism());
      if (m < 0) return bad(strCat("entry ", pe.id(), ": unknown mechanism ", t.mechanism()));
      e.tiers.push_back({t.min(), t.max(), m});
    }
    if (!pe.mechanism().empty()) {
      e.mechanism = mech(pe.mechanism());
      if (e.mechanism < 0) return bad(strCat("entry ", pe.id(), ": unknown mechanism ", pe.mechanism()));
    }
    if (!e.counted && e.mechanism < 0) return bad(strCat("entry ", pe.id(), " has no mechanism"));
    e.fallsTo = pe.falls_to();
    if (e.fallsTo >= rs_.entries_size()) return bad(strCat("entry ", pe.id(), ": bad falls_to"));
    for (const auto& c : pe.countries()) {
      if (c.size() == 2) e.countries.push_back({c[0], c[1]});
    }
    e.catchAll = pe.catch_all();
    e.bindsEveryone = pe.mechanism() == "prohibited" || pe.data_nature() == "core_data";
    e.important = pe.data_nature() == "important_data" || pe.data_nature() == "core_data";
    e.requiresTypes.assign(pe.requires_filing_types().begin(), pe.requires_filing_types().end());
    e.requiresDeclaration = !e.requiresTypes.empty();
    e.prerequisiteTypes.assign(pe.prerequisite_filing_types().begin(), pe.prerequisite_filing_types().end());
    e.exceptionTypes.assign(pe.exception_filing_types().begin(), pe.exception_filing_types().end());
    e.hints.assign(pe.endpoint_hints().begin(), pe.endpoint_hints().end());
    entries_.push_back(std::move(e));
  }
  filingsByEntity_.resize(static_cast<size_t>(rs_.legal_entities_size()));
  for (int i = 0; i < rs_.filings_size(); ++i) {
    const auto& pf = rs_.filings(i);
    FilingRt f;
    f.legalEntity = pf.legal_entity();
    f.from = pf.valid_from_unix();
    f.to = pf.expires_unix();
    f.active = pf.active();
    f.grantsExport = pf.grants_export();
    f.cap = pf.cap_individuals_per_year();
    f.capSensitive = pf.cap_sensitive_allowed();
    f.destinations.assign(pf.destinations().begin(), pf.destinations().end());
    f.entries.assign(pf.entries().begin(), pf.entries().end());
    if (f.legalEntity >= filingsByEntity_.size()) return bad(strCat("filing ", pf.id(), ": bad legal entity"));
    filingsByEntity_[f.legalEntity].push_back(static_cast<uint32_t>(i));
    filings_.push_back(std::move(f));
  }
  for (int i = 0; i < rs_.tenants_size(); ++i) {
    const auto& t = rs_.tenants(i);
    for (const auto& p : t.source_cidrs()) {
      auto ip = geo::IpAddress::fromBytes(p.addr());
      if (!ip) return bad(strCat("tenant ", t.id(), ": bad prefix"));
      tenantTable_.add({*ip, p.length()}, static_cast<uint32_t>(i));
    }
    tenantVlans_.emplace_back(t.vlans().begin(), t.vlans().end());
    tenantEntity_.push_back(t.legal_entity());
    tenantEligible_.push_back(t.eligible());
    tenantCiio_.push_back(t.ciio());
  }
  tenantTable_.build();
  for (int i = 0; i < rs_.destinations_size(); ++i) {
    const auto& d = rs_.destinations(i);
    for (const auto& p : d.cidrs()) {
      auto ip = geo::IpAddress::fromBytes(p.addr());
      if (!ip) return bad(strCat("destination ", d.id(), ": bad prefix"));
      destTable_.add({*ip, p.length()}, static_cast<uint32_t>(i));
    }
  }
  destTable_.build();
  for (const auto& d : rs_.destinations()) {
    destCountry_.push_back({d.country().size() == 2 ? d.country()[0] : '?', d.country().size() == 2 ? d.country()[1] : '?'});
    destHasCidrs_.push_back(d.cidrs_size() > 0);
  }
  size_t names = 0;
  for (const auto& d : rs_.destinations()) names += static_cast<size_t>(d.fqdns_size());
  size_t cap = 16;
  while (cap < names * 2) cap <<= 1;
  domainSlots_.assign(cap, DomainSlot{});
  domainMask_ = cap - 1;
  for (int i = 0; i < rs_.destinations_size(); ++i) {
    for (const auto& n : rs_.destinations(i).fqdns()) addDomain(n, static_cast<uint32_t>(i));
  }
  for (const auto& g : rs_.geo()) {
    auto ip = geo::IpAddress::fromBytes(g.prefix().addr());
    if (!ip || g.country().size() != 2) return bad("bad geo prefix");
    geoTable_.add({*ip, g.prefix().length()}, static_cast<uint32_t>(geoCountries_.size()));
    geoCountries_.push_back({g.country()[0], g.country()[1]});
  }
  geoTable_.build();
  const auto& b = rs_.baseline();
  for (const auto& t : b.non_sensitive()) baseNonSensitive_.push_back({t.min(), t.max(), mech(t.mechanism())});
  for (const auto& t : b.sensitive()) baseSensitive_.push_back({t.min(), t.max(), mech(t.mechanism())});
  baseCiioPi_ = mech(b.ciio_personal_information());
  baseCiioImportant_ = mech(b.ciio_important_data());
  baseImportant_ = mech(b.non_ciio_important_data());
  order_.assign(rs_.evaluation_order().begin(), rs_.evaluation_order().end());
  for (auto i : order_) {
    if (i >= entries_.size()) return bad("bad evaluation order");
  }
  return absl::OkStatus();
}

namespace {
// FNV-1a: names are short and already lower case; the table verifies every hit.
uint64_t hashName(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}
}  // namespace

void Evaluator::addDomain(std::string_view name, uint32_t destination) {
  const uint64_t h = hashName(name);
  for (uint64_t p = h & domainMask_;; p = (p + 1) & domainMask_) {
    DomainSlot& s = domainSlots_[p];
    if (s.destination == UINT32_MAX) {
      s = {h, destination, static_cast<uint32_t>(domainNames_.size())};
      domainNames_.push_back(name);
      return;
    }
    if (s.hash == h && domainNames_[s.name] == name) return;  // the first destination keeps it
  }
}

int32_t Evaluator::lookupDomain(std::string_view name) const {
  char buf[256];
  if (name.empty() || name.size() >= sizeof(buf)) return -1;
  size_t n = name.size();
  for (size_t i = 0; i < n; ++i) buf[i] = lower(name[i]);
  if (buf[n - 1] == '.') --n;
  // Strip a ":port" a Host header may carry.
  for (size_t i = 0; i < n; ++i) {
    if (buf[i] == ':') {
      n = i;
      break;
    }
  }
  std::string_view s(buf, n);
  // Longest suffix first, label by label: "a.ffp.example.com", "ffp.example.com", ...
  while (!s.empty()) {
    const uint64_t h = hashName(s);
    for (uint64_t p = h & domainMask_;; p = (p + 1) & domainMask_) {
      const DomainSlot& slot = domainSlots_[p];
      if (slot.destination == UINT32_MAX) break;
      if (slot.hash == h && domainNames_[slot.name] == s) return static_cast<int32_t>(slot.destination);
    }
    size_t dot = s.find('.');
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
  }
  return -1;
}

// SNI / Host `name` (any case, maybe ":port" or a trailing dot) equals `pattern` (lower
// case) or is a sub-domain of it: "a.blocked.example.net" matches "blocked.example.net",
// "notblocked.example.net" does not.
static bool serverNameMatches(std::string_view name, std::string_view pattern) {
  if (size_t colon = name.find(':'); colon != std::string_view::npos) name = name.substr(0, colon);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.size() < pattern.size() || pattern.empty()) return false;
  const size_t off = name.size() - pattern.size();
  if (off > 0 && name[off - 1] != '.') return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = name[off + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != pattern[i]) return false;
  }
  return true;
}

bool Evaluator::entryMatches(const EntryRt& e, const FlowFacts& f, uint64_t mask, const char* country) const {
  if ((mask & e.allOf) != e.allOf) return false;
  if (e.anyOf != 0 && (mask & e.anyOf) == 0) return false;
  if (!e.dictionaries.empty() || e.geofence) {
    bool ok = e.geofence && f.geofenceHit;
    for (auto d : e.dictionaries) {
      if (d < f.dictionaryRecords.size() && f.dictionaryRecords[d] > 0) ok = true;
    }
    if (!ok) return false;
  }
  if (e.minRecords != 0 && f.records < e.minRecords) return false;
  if (e.maxRecords != 0 && f.records > e.maxRecords) return false;
  if (!e.contentTypes.empty()) {
    std::string_view ct = mediaType(f.contentType);
    bool ok = false;
    for (const auto& p : e.contentTypes) ok = ok || contentTypeMatches(ct, p);
    if (!ok) return false;
  }
  if (!e.serverNames.empty()) {
    bool ok = false;
    for (const auto& n : e.serverNames) ok = ok || serverNameMatches(f.foreignName, n);
    if (!ok) return false;
  }
  if (!e.countries.empty()) {
    bool ok = false;
    for (const auto& c : e.countries) ok = ok || (c[0] == country[0] && c[1] == country[1]);
    if (!ok) return false;
  }
  return true;
}

int32_t Evaluator::tierMechanism(const std::vector<EntryRt::Tier>& tiers, uint64_t count, uint64_t* tmin,
                                 uint64_t* tmax) const {
  for (const auto& t : tiers) {
    if (count >= t.min && (t.max == 0 || count <= t.max)) {
      *tmin = t.min;
      *tmax = t.max;
      return t.mechanism;
    }
  }
  return -1;
}

bool Evaluator::filingDestinationOk(const FilingRt& f, int32_t destination, bool destByName) const {
  if (destination < 0) return false;
  if (std::find(f.destinations.begin(), f.destinations.end(), static_cast<uint32_t>(destination)) ==
      f.destinations.end()) {
    return false;
  }
  // cidr_when_listed: a name (SNI/Host, forgeable) only counts for destinations with no CIDRs.
  return !destByName || !destHasCidrs_[static_cast<size_t>(destination)];
}

bool Evaluator::typeCovers(const std::string& type, const pb::Filing& pf, int32_t mechanism, const EntryRt& e) const {
  auto in = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  if (mechanism >= 0 && in(mechAccepted_[mechanism], type)) return true;
  if (in(e.exceptionTypes, type) || in(e.requiresTypes, type)) return true;
  for (const auto& lt : pf.linked_record_types()) {
    if (in(e.exceptionTypes, lt)) return true;
  }
  return false;
}

int32_t Evaluator::findFiling(const EntryRt& e, uint32_t entryIdx, int32_t mechanism, uint32_t legalEntity,
                              int32_t destination, bool destByName, int64_t now, uint64_t increment,
                              bool sensitive, int32_t year, const CounterSource& counters,
                              const std::vector<std::string>* onlyTypes, Miss* miss, int32_t* missFiling) const {
  int best = -1;  // furthest stage reached by a failing filing
  auto fail = [&](int stage, Miss m, uint32_t fi) {
    if (stage > best) {
      best = stage;
      *miss = m;
      *missFiling = static_cast<int32_t>(fi);
    }
  };
  if (legalEntity >= filingsByEntity_.size()) return -1;
  for (uint32_t fi : filingsByEntity_[legalEntity]) {
    const FilingRt& f = filings_[fi];
    if (std::find(f.entries.begin(), f.entries.end(), entryIdx) == f.entries.end()) continue;
    const pb::Filing& pf = rs_.filings(static_cast<int>(fi));
    if (onlyTypes && std::find(onlyTypes->begin(), onlyTypes->end(), pf.type()) == onlyTypes->end()) continue;
    if (!f.active) { fail(1, Miss::kSuspended, fi); continue; }
    if (now < f.from) { fail(2, Miss::kNotYetValid, fi); continue; }
    if (now > f.to) { fail(2, Miss::kExpired, fi); continue; }
    if (!filingDestinationOk(f, destination, destByName)) { fail(3, Miss::kDestination, fi); continue; }
    if (!f.grantsExport) { fail(4, Miss::kNoExportGrant, fi); continue; }
    if (!onlyTypes && !typeCovers(pf.type(), pf, mechanism, e)) { fail(4, Miss::kWrongType, fi); continue; }
    if (sensitive && !f.capSensitive) { fail(5, Miss::kSensitive, fi); continue; }
    if (f.cap != 0) {
      CounterKey k{CounterKey::Kind::kFiling, legalEntity, fi, year};
      if (counters.count(k) + increment > f.cap) { fail(6, Miss::kCap, fi); continue; }
    }
    if (!e.prerequisiteTypes.empty()) {
      bool have = false;
      for (uint32_t pi : filingsByEntity_[legalEntity]) {
        const FilingRt& p = filings_[pi];
        const std::string& pt = rs_.filings(static_cast<int>(pi)).type();
        if (std::find(e.prerequisiteTypes.begin(), e.prerequisiteTypes.end(), pt) == e.prerequisiteTypes.end()) continue;
        if (std::find(p.entries.begin(), p.entries.end(), entryIdx) == p.entries.end()) continue;
        if (p.active && now >= p.from && now <= p.to) have = true;
      }
      if (!have) { fail(7, Miss::kPrerequisite, fi); continue; }
    }
    return static_cast<int32_t>(fi);
  }
  return -1;
}

namespace {
struct Outcome {
  Action action = Action::kAllow;
  Basis basis = Basis::kNoEntry;
  int32_t entry = -1, matched = -1, filing = -1, mechanism = -1;
  uint32_t precedence = UINT32_MAX;
  uint64_t count = 0, tmin = 0, tmax = 0;
  Miss miss = Miss::kNone;
  int32_t missFiling = -1;
  bool hint = false;
  bool catchAll = false;
};
// Strictest resulting action wins; then the stricter mechanism; then a scenario entry
// over a catch-all; then the first entry id.
bool stronger(const Outcome& a, const Outcome& b) {
  if (a.action != b.action) return a.action > b.action;
  if (a.precedence != b.precedence) return a.precedence < b.precedence;
  if (a.catchAll != b.catchAll) return !a.catchAll;
  return a.entry >= 0 && (b.entry < 0 || a.entry < b.entry);
}
}  // namespace

Decision Evaluator::evaluate(const FlowFacts& f, const CounterSource& counters) const {
  Decision d;
  d.year = yearOf(f.timeUnix);
  const auto& pol = rs_.policy();
  if (f.direction == Direction::kInboundPull && !pol.inbound_pulls_count_as_export()) {
    d.action = Action::kAllow;
    d.basis = Basis::kNotExport;
    return d;
  }
  auto push = [&](CounterKey k, uint64_t add) {
    if (add == 0) return;
    for (uint8_t i = 0; i < d.updateCount; ++i) {
      if (d.updates[i].key == k) {  // the same persons reach a counter once per flow
        d.updates[i].add = std::max(d.updates[i].add, add);
        return;
      }
    }
    if (d.updateCount < Decision::kMaxUpdates) {
      d.updates[d.updateCount++] = {k, add};
    } else {
      d.updatesTruncated = true;
    }
  };

  // Tenant: the source CIDR attributes; a VLAN tag, when present, must agree.
  int32_t t = f.tenant;
  if (t < 0 || t >= rs_.tenants_size()) {
    t = -1;
    uint32_t v = tenantTable_.lookup(f.domesticIp);
    if (v != geo::PrefixTable::kNone) {
      const auto& vl = tenantVlans_[v];
      if (f.vlan == 0 || vl.empty() || std::find(vl.begin(), vl.end(), f.vlan) != vl.end()) t = static_cast<int32_t>(v);
    }
  }
  d.tenant = t;
  uint32_t le = t >= 0 ? tenantEntity_[t] : 0;
  if (t >= 0) d.legalEntity = static_cast<int32_t>(le);

  // Destination: by address first; by name (SNI/Host) only when no address matched.
  uint32_t dv = destTable_.lookup(f.foreignIp);
  if (dv != geo::PrefixTable::kNone) {
    d.destination = static_cast<int32_t>(dv);
  } else if (!f.foreignName.empty()) {
    int32_t x = lookupDomain(f.foreignName);
    if (x >= 0) {
      d.destination = x;
      d.destinationByName = true;
    }
  }
  uint32_t g = geoTable_.lookup(f.foreignIp);
  if (d.destination >= 0 && (!d.destinationByName || g == geo::PrefixTable::kNone)) {
    const auto& c = destCountry_[static_cast<size_t>(d.destination)];
    d.country = {c[0], c[1], 0};
  } else if (g != geo::PrefixTable::kNone) {
    d.country = {geoCountries_[g][0], geoCountries_[g][1], 0};
  }

  uint64_t mask = 0;
  for (size_t i = 0; i < f.detectorRecords.size() && i < 64; ++i) {
    if (f.detectorRecords[i] > 0) mask |= uint64_t{1} << i;
  }
  const uint64_t flowSens = f.newIndividualsSensitive, flowNon = f.newIndividualsNonSensitive;
  if (t >= 0) {
    push({CounterKey::Kind::kBaselineNonSensitive, le, 0, d.year}, flowNon);
    push({CounterKey::Kind::kBaselineSensitive, le, 0, d.year}, flowSens);
  }
  auto incrementFor = [&](pb::Sensitivity s) -> uint64_t {
    if (s == pb::SENSITIVITY_SENSITIVE) return flowSens;
    if (s == pb::SENSITIVITY_NON_SENSITIVE) return flowNon;
    return flowSens + flowNon;
  };

  Outcome best;
  bool any = false;
  auto consider = [&](const Outcome& o) {
    ++d.matchedEntries;
    if (!any || stronger(o, best)) best = o;
    any = true;
  };
  const Action covered = toAction(pol.covered_action());

  // Judges one matched entry: its mechanism (tiers on the count after this flow, or the
  // fixed mechanism), then whether a valid filing covers it.
  auto judge = [&](uint32_t idx, uint64_t inc) {
    const EntryRt& e = entries_[idx];
    Outcome o;
    o.basis = Basis::kEntry;
    o.matched = static_cast<int32_t>(idx);
    o.entry = static_cast<int32_t>(idx);
    const uint32_t reported = idx;
    const uint64_t judgedInc = inc;
    const bool sensitive = e.sensitivity == pb::SENSITIVITY_SENSITIVE ||
                     (e.sensitivity == pb::SENSITIVITY_MIXED && (flowSens > 0 || (mask & sensitiveDetectorMask_)));
    if (e.counted) {
      CounterKey k{CounterKey::Kind::kEntry, le, idx, d.year};
      uint64_t count = counters.count(k) + inc;
      if (t >= 0) push(k, inc);
      o.count = count;
      o.mechanism = tierMechanism(e.tiers, std::max<uint64_t>(count, 1), &o.tmin, &o.tmax);
    } else {
      o.mechanism = e.mechanism;
    }
    if (o.mechanism < 0) return;  // validated lists always have a tier; be safe
    o.catchAll = entries_[reported].catchAll;
    o.action = mechAction_[o.mechanism];
    o.precedence = mechPrecedence_[o.mechanism];
    const EntryRt& re = entries_[reported];
    for (const auto& h : re.hints) {
      if (!f.path.empty() && f.path.find(h) != std::string_view::npos) o.hint = true;
    }
    if (t >= 0) {
      int32_t fi = findFiling(re, reported, o.mechanism, le, d.destination, d.destinationByName, f.timeUnix,
                              judgedInc, sensitive, d.year, counters, nullptr, &o.miss, &o.missFiling);
      if (fi >= 0) {
        o.filing = fi;
        o.action = covered;
        if (filings_[fi].cap != 0) push({CounterKey::Kind::kFiling, le, static_cast<uint32_t>(fi), d.year}, judgedInc);
      }
    }
    consider(o);
  };

  const bool eligible = t >= 0 && tenantEligible_[t];
  if (eligible) {
    uint64_t claimed = 0;
    bool fedSens = false, fedNon = false;
    std::array<uint32_t, 8> fallen{};
    size_t fallenCount = 0;
    for (uint32_t idx : order_) {
      const EntryRt& e = entries_[idx];
      if (e.catchAll || !entryMatches(e, f, mask, d.country.data())) continue;
      if (e.requiresDeclaration) {
        // Exemptions need the tenant's declaration; without one the entry does not
        // apply and the data falls to the catch-all entries.
        Miss m = Miss::kNone;
        int32_t mf = -1;
        if (findFiling(e, idx, e.mechanism, le, d.destination, d.destinationByName, f.timeUnix, 0, false, d.year,
                       counters, &e.requiresTypes, &m, &mf) < 0) {
          continue;
        }
      }
      uint64_t inc = e.counted ? incrementFor(e.sensitivity) : 0;
      if (e.fallsTo >= 0 && e.counted) {
        // Below its lowest tier the entry steps aside: it keeps counting (so the
        // threshold can be reached) but neither decides nor claims its detectors, so
        // the entry it falls to (usually a catch-all) judges the data.
        CounterKey k{CounterKey::Kind::kEntry, le, idx, d.year};
        uint64_t count = counters.count(k) + inc;
        if (count < e.tiers.front().min) {
          push(k, inc);
          if (fallenCount < fallen.size()) fallen[fallenCount++] = idx;
          continue;
        }
      }
      claimed |= e.allOf | e.anyOf;
      if (e.counted) {
        fedSens = fedSens || e.sensitivity != pb::SENSITIVITY_NON_SENSITIVE;
        fedNon = fedNon || e.sensitivity != pb::SENSITIVITY_SENSITIVE;
      }
      judge(idx, inc);
    }
    // Catch-alls see only detectors no scenario entry claimed, and count only the
    // individuals of a basket no scenario entry counted (residual_only).
    const uint64_t residualMask = mask & ~claimed;
    for (uint32_t idx : order_) {
      const EntryRt& e = entries_[idx];
      if (!e.catchAll || !entryMatches(e, f, residualMask, d.country.data())) continue;
      uint64_t inc = 0;
      if (e.counted) {
        if (e.sensitivity == pb::SENSITIVITY_SENSITIVE) {
          inc = fedSens ? 0 : flowSens;
        } else if (e.sensitivity == pb::SENSITIVITY_NON_SENSITIVE) {
          inc = fedNon ? 0 : flowNon;
        } else {
          inc = (fedSens ? 0 : flowSens) + (fedNon ? 0 : flowNon);
        }
      }
      judge(idx, inc);
    }
    for (size_t i = 0; i < fallenCount && any; ++i) {
      if (entries_[fallen[i]].fallsTo == best.entry) best.matched = static_cast<int32_t>(fallen[i]);
    }
  } else {
    // Not eligible (or unknown): prohibited and core-data entries still bind.
    bool important = false;
    for (uint32_t idx : order_) {
      const EntryRt& e = entries_[idx];
      if (!entryMatches(e, f, mask, d.country.data())) continue;
      if (e.bindsEveryone) {
        judge(idx, 0);
      } else if (e.important) {
        bool met = true;
        if (e.counted && !e.tiers.empty()) {
          CounterKey k{CounterKey::Kind::kEntry, le, idx, d.year};
          met = t >= 0 && counters.count(k) + incrementFor(e.sensitivity) >= e.tiers.front().min;
        }
        important = important || met;
      }
    }
    if (t < 0) {
      Outcome o;
      o.basis = Basis::kUnknownTenant;
      o.action = toAction(pol.unknown_tenant_action());
      consider(o);
    } else {
      const bool pi = flowSens + flowNon > 0 || (mask & piDetectorMask_) != 0;
      const bool sens = flowSens > 0 || (mask & sensitiveDetectorMask_) != 0;
      auto baseline = [&](Basis basis, int32_t mech, uint64_t count, uint64_t tmin, uint64_t tmax, uint64_t inc) {
        if (mech < 0) return;
        Outcome o;
        o.basis = basis;
        o.mechanism = mech;
        o.action = mechAction_[mech];
        o.precedence = mechPrecedence_[mech];
        o.count = count;
        o.tmin = tmin;
        o.tmax = tmax;
        // A baseline decision is covered by any valid filing of the tenant to this
        // destination whose type the mechanism accepts.
        for (uint32_t fi : filingsByEntity_[le]) {
          const FilingRt& fr = filings_[fi];
          const auto& acc = mechAccepted_[mech];
          if (!fr.active || !fr.grantsExport || f.timeUnix < fr.from || f.timeUnix > fr.to) continue;
          if (!filingDestinationOk(fr, d.destination, d.destinationByName)) continue;
          if (std::find(acc.begin(), acc.end(), rs_.filings(static_cast<int>(fi)).type()) == acc.end()) continue;
          if (fr.cap != 0 && counters.count({CounterKey::Kind::kFiling, le, fi, d.year}) + inc > fr.cap) continue;
          o.filing = static_cast<int32_t>(fi);
          o.action = covered;
          break;
        }
        consider(o);
      };
      if (tenantCiio_[t]) {
        if (pi) baseline(Basis::kBaselineCiioPi, baseCiioPi_, 0, 0, 0, flowSens + flowNon);
        if (important) baseline(Basis::kBaselineCiioImportant, baseCiioImportant_, 0, 0, 0, 0);
      } else {
        if (important) baseline(Basis::kBaselineImportant, baseImportant_, 0, 0, 0, 0);
        if (pi && (flowNon > 0 || !sens)) {
          uint64_t c = counters.count({CounterKey::Kind::kBaselineNonSensitive, le, 0, d.year}) + flowNon;
          uint64_t tmin = 0, tmax = 0;
          int32_t m = tierMechanism(baseNonSensitive_, std::max<uint64_t>(c, 1), &tmin, &tmax);
          baseline(Basis::kBaselineNonSensitive, m, c, tmin, tmax, flowNon);
        }
        if (sens) {
          uint64_t c = counters.count({CounterKey::Kind::kBaselineSensitive, le, 0, d.year}) + flowSens;
          uint64_t tmin = 0, tmax = 0;
          int32_t m = tierMechanism(baseSensitive_, std::max<uint64_t>(c, 1), &tmin, &tmax);
          baseline(Basis::kBaselineSensitive, m, c, tmin, tmax, flowSens);
        }
      }
    }
  }

  if (!any) {
    d.action = toAction(pol.no_match_action());
    d.basis = Basis::kNoEntry;
    return d;
  }
  d.action = best.action;
  d.basis = best.basis;
  d.entry = best.entry;
  d.matchedEntry = best.matched;
  d.filing = best.filing;
  d.mechanism = best.mechanism;
  d.count = best.count;
  d.tierMin = best.tmin;
  d.tierMax = best.tmax;
  d.miss = best.filing >= 0 ? Miss::kNone : best.miss;
  d.missFiling = best.filing >= 0 ? -1 : best.missFiling;
  d.hintMatched = best.hint;
  return d;
}

std::string Evaluator::entryName(int32_t i) const {
  return i >= 0 && i < rs_.entries_size() ? rs_.entries(i).id() : std::string();
}

std::string Evaluator::reportedEntry(const Decision& d) const {
  switch (d.basis) {
    case Basis::kEntry: return entryName(d.entry);
    case Basis::kBaselineCiioPi: return "BASELINE-CIIO-PI";
    case Basis::kBaselineCiioImportant: return "BASELINE-CIIO-IMPORTANT-DATA";
    case Basis::kBaselineImportant: return "BASELINE-IMPORTANT-DATA";
    case Basis::kBaselineNonSensitive: return "BASELINE-PI";
    case Basis::kBaselineSensitive: return "BASELINE-SENSITIVE-PI";
    default: return "";
  }
}

std::string Evaluator::describe(const Decision& d) const {
  std::string s = strCat(actionName(d.action), ": ");
  auto mechText = [&]() -> std::string {
    if (d.mechanism < 0) return "";
    const auto& m = rs_.mechanisms(d.mechanism);
    return strCat("mechanism ", m.name(), m.zh().empty() ? "" : strCat(" (", m.zh(), ")"));
  };
  auto countText = [&]() -> std::string {
    if (d.tierMin == 0 && d.count == 0) return "";
    return strCat("; ", d.count, " individuals this year, tier ", d.tierMin, "-",
                  d.tierMax == 0 ? std::string("up") : std::to_string(d.tierMax));
  };
  auto filingText = [&]() -> std::string {
    if (d.filing >= 0) {
      const auto& f = rs_.filings(d.filing);
      return strCat("; covered by filing ", f.id(), " (", f.type(), ", valid ", f.valid_from(), " to ", f.expires(), ")");
    }
    if (d.mechanism >= 0 && rs_.mechanisms(d.mechanism).default_action() <= pb::ACTION_LOG) return "";
    if (d.missFiling < 0) return "; no filing of this tenant names it";
    const auto& f = rs_.filings(d.missFiling);
    std::string why;
    switch (d.miss) {
      case Miss::kSuspended: why = strCat("status ", f.status()); break;
      case Miss::kNotYetValid: why = strCat("valid only from ", f.valid_from()); break;
      case Miss::kExpired: why = strCat("expired ", f.expires()); break;
      case Miss::kDestination:
        why = d.destinationByName ? "the SNI/Host names its destination but the address is outside its CIDRs"
                                  : "the destination is not one it names";
        break;
      case Miss::kNoExportGrant: why = "it does not grant export by itself"; break;
      case Miss::kPrerequisite: why = "its prerequisite filing is missing"; break;
      case Miss::kCap: why = strCat("this flow exceeds its cap of ", f.cap_individuals_per_year(), " individuals"); break;
      case Miss::kSensitive: why = "its caps exclude sensitive personal information"; break;
      case Miss::kWrongType: why = strCat("type ", f.type(), " is not accepted for this mechanism"); break;
      case Miss::kNone: why = "not applicable"; break;
    }
    return strCat("; filing ", f.id(), " does not cover it: ", why);
  };
  switch (d.basis) {
    case Basis::kNotExport:
      s += "inbound pull by a party abroad, which this list does not count as export";
      break;
    case Basis::kUnknownTenant:
      s += "source not attributed to a registered tenant (unknown_tenant_action)";
      break;
    case Basis::kNoEntry:
      s += "no entry matched";
      break;
    case Basis::kEntry: {
      const auto& e = rs_.entries(d.entry);
      s += strCat("entry ", e.id(), " (", e.category_en(), e.category_zh().empty() ? "" : strCat(" / ", e.category_zh()), ")");
      if (d.matchedEntry != d.entry) {
        s += strCat(", which ", entryName(d.matchedEntry), " falls to below its lowest tier");
      }
      s += strCat("; ", mechText(), countText(), filingText());
      if (d.hintMatched) s += "; endpoint hint matched";
      break;
    }
    default:
      s += strCat("national baseline ", reportedEntry(d), "; ", mechText(), countText(), filingText());
      break;
  }
  s += strCat(" [tenant ", d.tenant >= 0 ? rs_.tenants(d.tenant).id() : std::string("unknown"), ", destination ", d.destination >= 0 ? rs_.destinations(d.destination).id() : std::string("none"),
              d.destinationByName ? " (by name)" : "", ", country ", std::string_view(d.country.data(), 2), "]");
  return s;
}

namespace {
template <typename F>
int32_t findIndex(int n, F name, std::string_view want) {
  for (int i = 0; i < n; ++i) {
    if (name(i) == want) return i;
  }
  return -1;
}
}  // namespace

int32_t Evaluator::detectorIndex(std::string_view n) const {
  return findIndex(rs_.detectors_size(), [&](int i) { return rs_.detectors(i).name(); }, n);
}
int32_t Evaluator::dictionaryIndex(std::string_view n) const {
  return findIndex(rs_.dictionaries_size(), [&](int i) { return rs_.dictionaries(i).name(); }, n);
}
int32_t Evaluator::entryIndex(std::string_view n) const {
  return findIndex(rs_.entries_size(), [&](int i) { return rs_.entries(i).id(); }, n);
}
int32_t Evaluator::tenantIndex(std::string_view n) const {
  return findIndex(rs_.tenants_size(), [&](int i) { return rs_.tenants(i).id(); }, n);
}
int32_t Evaluator::filingIndex(std::string_view n) const {
  return findIndex(rs_.filings_size(), [&](int i) { return rs_.filings(i).id(); }, n);
}
int32_t Evaluator::destinationIndex(std::string_view n) const {
  return findIndex(rs_.destinations_size(), [&](int i) { return rs_.destinations(i).id(); }, n);
}

uint64_t InMemoryCounters::count(const CounterKey& key) const {
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}
void InMemoryCounters::set(const CounterKey& key, uint64_t value) { counts_[key] = value; }
void InMemoryCounters::apply(std::span<const CounterUpdate> updates) {
  for (const auto& u : updates) counts_[u.key] += u.add;
}

}  // namespace xborder::rules::eval
