#include "dataplane/verdict/verdict_rules.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>

#include "rules/detectors/detector_registry.h"

namespace xborder::dp {
namespace {

using rules::eval::Action;
using rules::eval::Basis;
using rules::eval::Decision;
using rules::eval::Direction;
using rules::geo::IpAddress;

IpAddress ipOf(const uint8_t* a, uint8_t version) {
  if (version == 4) {
    return IpAddress::fromV4((uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3]);
  }
  rules::geo::Uint128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | a[i];
  return IpAddress::fromV6(v);
}

PolicyAction toPolicy(Action a) { return static_cast<PolicyAction>(static_cast<uint8_t>(a)); }

uint64_t entityYearKey(uint32_t entity, int32_t year) {
  return (uint64_t{entity} << 32) | static_cast<uint32_t>(year);
}

// Appends JSON string contents with escapes; returns the new length (bounded).
size_t appendEscaped(char* buf, size_t len, size_t cap, std::string_view s) {
  for (char c : s) {
    if (len + 7 >= cap) break;
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      buf[len++] = '\\';
      buf[len++] = c;
    } else if (u < 0x20) {
      len += static_cast<size_t>(std::snprintf(buf + len, cap - len, "\\u%04x", u));
    } else {
      buf[len++] = c;
    }
  }
  return len;
}

}  // namespace

bool InMemoryIndividuals::seen(uint32_t legal_entity, int32_t year, uint64_t hash) const {
  const auto it = sets_.find(entityYearKey(legal_entity, year));
  return it != sets_.end() && it->second.count(hash) != 0;
}

void InMemoryIndividuals::add(uint32_t legal_entity, int32_t year, uint64_t hash) {
  sets_[entityYearKey(legal_entity, year)].insert(hash);
}

absl::StatusOr<std::unique_ptr<RulesPolicy>> RulesPolicy::create(
    const RulesPolicyConfig& config, std::vector<RulesVersion> versions,
    std::shared_ptr<const rules::detectors::DetectorSet> set, std::span<const uint8_t> hmac_key,
    OutcomeSink* sink) {
  if (versions.empty() || versions.size() > 2) {
    return absl::InvalidArgumentError("one or two ruleset versions");
  }
  std::unique_ptr<RulesPolicy> p(new (std::nothrow) RulesPolicy());
  if (!p) return absl::ResourceExhaustedError("out of memory");
  p->config_ = config;
  p->set_ = set;
  p->sink_ = sink;
  auto insp = FlowInspector::create(config.inspect, set, hmac_key);
  if (!insp.ok()) return insp.status();
  p->inspector_ = std::move(*insp);
  p->flows_.resize(config.flow_capacity);
  p->versions_.resize(versions.size());
  for (size_t i = 0; i < versions.size(); ++i) {
    VersionRt& v = p->versions_[i];
    v.v = std::move(versions[i]);
    const auto& rs = v.v.evaluator->ruleset();
    if (rs.detectors_size() > 64 || rs.dictionaries_size() > 64) {
      return absl::InvalidArgumentError("more than 64 detectors or dictionaries");
    }
    for (const auto& d : rs.detectors()) {
      const auto id = rules::detectors::detectorByName(d.name());
      v.detector_of.push_back(id && set->enabled(*id) ? static_cast<int32_t>(*id) : -1);
    }
    for (const auto& d : rs.dictionaries()) {
      const auto idx = set->dictionaryIndex(d.name());
      v.dictionary_of.push_back(idx ? static_cast<int32_t>(*idx) : -1);
    }
  }
  return p;
}

RulesPolicy::FlowState& RulesPolicy::state(const FlowView& flow) noexcept {
  FlowState& st = flows_[flow.flow_index % flows_.size()];
  if (!st.active || st.gen != flow.flow_gen) {
    if (st.active && st.slot != kNoInspectSlot) {
      inspector_->release(st.slot);  // a flow we never saw end (should not happen)
    }
    st = FlowState{};
    st.active = true;
    st.gen = flow.flow_gen;
    st.slot = inspector_->acquire();
  }
  return st;
}

void RulesPolicy::fillFacts(const VersionRt& v, const FlowView& flow, const FlowState& st,
                            Facts* facts) const {
  rules::eval::FlowFacts& f = facts->f;
  f.vlan = flow.vlan;
  f.foreignName = flow.host;
  f.application = flow.app;
  f.timeUnix = config_.as_of_unix != 0 ? config_.as_of_unix
                                       : static_cast<int64_t>(flow.now_ns / 1000000000ull);
  facts->det.fill(0);
  facts->dict.fill(0);
  if (st.slot != kNoInspectSlot) {
    const InspectSlot& s = inspector_->at(st.slot);
    f.contentType = s.contentTypeView();
    f.path = s.pathView();
    f.records = s.records();
    for (size_t i = 0; i < v.detector_of.size(); ++i) {
      if (v.detector_of[i] < 0) continue;
      const auto id = static_cast<size_t>(v.detector_of[i]);
      // The scanner counts matches; used as "records with a hit" (an upper bound).
      facts->det[i] = s.dir[0].scan.result().hits[id] + s.dir[1].scan.result().hits[id];
    }
    for (size_t i = 0; i < v.dictionary_of.size(); ++i) {
      if (v.dictionary_of[i] < 0) continue;
      const auto idx = static_cast<size_t>(v.dictionary_of[i]);
      facts->dict[i] = s.dir[0].scan.result().dictionaryHits[idx] + s.dir[1].scan.result().dictionaryHits[idx];
    }
  }
  if (f.path.empty()) f.path = flow.url;
  f.detectorRecords = {facts->det.data(), v.detector_of.size()};
  f.dictionaryRecords = {facts->dict.data(), v.dictionary_of.size()};
}

Decision RulesPolicy::judge(VersionRt& v, const FlowView& flow, const FlowState& st, Facts* facts,
                            uint32_t* new_individuals) const {
  fillFacts(v, flow, st, facts);
  rules::eval::FlowFacts& f = facts->f;
  const IpAddress client = ipOf(flow.client_ip, flow.ip_version);
  const IpAddress server = ipOf(flow.server_ip, flow.ip_version);
  f.direction = Direction::kOutbound;
  f.domesticIp = client;
  f.foreignIp = server;
  facts->outbound = true;
  Decision d = v.v.evaluator->evaluate(f, v.counters);
  if (d.basis == Basis::kUnknownTenant) {
    // The client is not a tenant: if the server is, a party abroad pulls from the zone.
    rules::eval::FlowFacts g = f;
    g.direction = Direction::kInboundPull;
    g.domesticIp = server;
    g.foreignIp = client;
    Decision d2 = v.v.evaluator->evaluate(g, v.counters);
    if (d2.basis != Basis::kUnknownTenant) {
      f = g;
      d = d2;
      facts->outbound = false;
    }
  }
  // Individuals: keyed hashes of this flow not yet counted for the legal entity.
  uint32_t fresh = 0;
  bool sensitive = false;
  if (d.legalEntity >= 0 && st.slot != kNoInspectSlot) {
    const InspectSlot& s = inspector_->at(st.slot);
    const int32_t year = v.v.evaluator->yearOf(f.timeUnix);
    for (const auto& dir : s.dir) {
      const auto& r = dir.scan.result();
      sensitive = sensitive || r.sensitiveHits > 0;
      for (const auto& kh : r.hashes()) {
        if (!v.individuals.seen(static_cast<uint32_t>(d.legalEntity), year, kh.hash)) ++fresh;
      }
    }
  }
  if (fresh > 0) {
    (sensitive ? f.newIndividualsSensitive : f.newIndividualsNonSensitive) = fresh;
    d = v.v.evaluator->evaluate(f, v.counters);
  }
  if (new_individuals) *new_individuals = fresh;
  return d;
}

PolicyAction RulesPolicy::onPacket(const FlowView& flow, const PacketView& pkt) noexcept {
  FlowState& st = state(flow);
  bool point = flow.pkts[0] + flow.pkts[1] == 1;  // first packet
  if (flow.classified && !st.classified) {
    st.classified = true;
    point = true;
    if (isEncryptedApp(flow.app_proto) && st.slot != kNoInspectSlot) {
      // Encrypted: the payload says nothing; judge on metadata and free the slot.
      inspector_->release(st.slot);
      st.slot = kNoInspectSlot;
      st.stopped = true;
    }
  }
  if (st.slot != kNoInspectSlot && pkt.payload_len > 0) {
    point = inspector_->feed(st.slot, pkt) || point;
  }
  if (point && !dropsTraffic(st.action[0])) {
    for (size_t i = 0; i < versions_.size(); ++i) {
      Facts facts;
      const Decision d = judge(versions_[i], flow, st, &facts, nullptr);
      ++evaluations_;
      const PolicyAction a = toPolicy(d.action);
      if (a > st.action[i]) st.action[i] = a;
    }
  }
  return st.action[0];
}

void RulesPolicy::onFlowEnd(const FlowView& flow, FlowLogFields* log) noexcept {
  FlowState& st = state(flow);
  if (st.slot != kNoInspectSlot) inspector_->finish(st.slot);
  FlowOutcome out;
  out.flow = &flow;
  out.inspected = st.slot != kNoInspectSlot;
  std::vector<Facts> facts(versions_.size());
  std::vector<Decision> decisions(versions_.size());
  for (size_t i = 0; i < versions_.size(); ++i) {
    VersionRt& v = versions_[i];
    VersionOutcome vo;
    decisions[i] = judge(v, flow, st, &facts[i], &vo.new_individuals);
    ++evaluations_;
    const Decision& d = decisions[i];
    vo.decision = d;
    const PolicyAction final_action = toPolicy(d.action);
    // A flow stopped by block/hold keeps that action even if later facts would judge
    // it otherwise (its later packets never crossed).
    vo.action = dropsTraffic(st.action[i]) && st.action[i] > final_action ? st.action[i] : final_action;
    const auto& rs = v.v.evaluator->ruleset();
    vo.entry_id = d.entry >= 0 || d.basis >= Basis::kBaselineCiioPi ? v.v.evaluator->reportedEntry(d) : "";
    vo.filing_id = d.filing >= 0 ? rs.filings(d.filing).id() : "";
    vo.tenant_id = d.tenant >= 0 ? rs.tenants(d.tenant).id() : "";
    vo.country = std::string(d.country.data(), 2);
    vo.reason = v.v.evaluator->describe(d);
    if (i == 0) {
      out.outbound = facts[i].outbound;
      out.content_type = facts[i].f.contentType;
      out.path = facts[i].f.path;
      out.records = facts[i].f.records;
    }
    // Apply this flow to the version's counters and individuals (the year's totals).
    v.counters.apply(d.counterUpdates());
    if (d.legalEntity >= 0 && st.slot != kNoInspectSlot) {
      const int32_t year = v.v.evaluator->yearOf(facts[i].f.timeUnix);
      for (const auto& dir : inspector_->at(st.slot).dir) {
        for (const auto& kh : dir.scan.result().hashes()) {
          v.individuals.add(static_cast<uint32_t>(d.legalEntity), year, kh.hash);
        }
      }
    }
    out.versions.push_back(std::move(vo));
  }
  // Detector match counts by the lists' names (first version's order, then others').
  for (const auto& v : versions_) {
    const auto& rs = v.v.evaluator->ruleset();
    for (size_t i = 0; i < v.detector_of.size(); ++i) {
      const std::string& name = rs.detectors(static_cast<int>(i)).name();
      bool dup = false;
      for (const auto& [n, c] : out.detectors) dup = dup || n == name;
      if (dup) continue;
      uint32_t c = 0;
      if (v.detector_of[i] >= 0 && st.slot != kNoInspectSlot) {
        const auto id = static_cast<size_t>(v.detector_of[i]);
        const auto& s = inspector_->at(st.slot);
        c = s.dir[0].scan.result().hits[id] + s.dir[1].scan.result().hits[id];
      }
      out.detectors.emplace_back(name, c);
    }
  }
  if (st.slot != kNoInspectSlot) {
    const auto& s = inspector_->at(st.slot);
    out.gaps = s.dir[0].gaps + s.dir[1].gaps;
  }
  if (log != nullptr) {
    const VersionOutcome& vo = out.versions[0];
    char* b = logbuf_.data();
    const size_t cap = logbuf_.size();
    size_t n = 0;
    auto lit = [&](std::string_view s) {
      if (n + s.size() < cap) {
        std::memcpy(b + n, s.data(), s.size());
        n += s.size();
      }
    };
    auto str = [&](std::string_view s) {
      lit("\"");
      n = appendEscaped(b, n, cap, s);
      lit("\"");
    };
    lit("\"verdict\":{\"action\":");
    str(kPolicyActionNames[static_cast<int>(vo.action)]);
    lit(",\"entry_id\":");
    str(vo.entry_id);
    lit(",\"filing_id\":");
    str(vo.filing_id);
    lit(",\"reason\":");
    str(vo.reason);
    lit(",\"ruleset\":");
    str(versions_[0].v.ruleset_hash);
    lit("},\"detectors\":{");
    bool first = true;
    for (const auto& [name, c] : out.detectors) {
      if (!first) lit(",");
      first = false;
      str(name);
      char num[16];
      const int k = std::snprintf(num, sizeof(num), ":%u", c);
      lit(std::string_view(num, static_cast<size_t>(k)));
    }
    lit("},\"tenant\":");
    str(vo.tenant_id);
    lit(",\"dest_country\":");
    str(vo.country);
    log->append(std::string_view(b, n));
  }
  if (sink_ != nullptr) sink_->onOutcome(out);
  if (st.slot != kNoInspectSlot) inspector_->release(st.slot);
  st = FlowState{};
}

}  // namespace xborder::dp
