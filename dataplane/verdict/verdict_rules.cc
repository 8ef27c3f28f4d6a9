#include "dataplane/verdict/verdict_rules.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>

#include <openssl/sha.h>

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

constexpr const char* kBasisNames[] = {"not-export",         "unknown-tenant",        "no-entry",
                                       "entry",              "baseline-ciio-pi",      "baseline-ciio-important",
                                       "baseline-important", "baseline-non-sensitive", "baseline-sensitive"};
constexpr const char* kMissNames[] = {"no-filing",     "suspended",     "not-yet-valid", "expired",
                                      "destination",   "no-export-grant", "prerequisite", "cap",
                                      "sensitive",     "wrong-type"};

const char* basisName(rules::eval::Basis b) {
  const auto i = static_cast<size_t>(b);
  return i < std::size(kBasisNames) ? kBasisNames[i] : "?";
}
const char* missName(rules::eval::Miss m) {
  const auto i = static_cast<size_t>(m);
  return i < std::size(kMissNames) ? kMissNames[i] : "?";
}

using counters::Sensitivity;
using counters::TallyKey;

// SipHash-2-4 (Aumasson & Bernstein), for the keyed flow and host identifiers in
// records. Written here because the keyed hashes OpenSSL offers (HMAC, EVP_MAC
// SIPHASH) allocate when (re)initialised, and this runs on the worker per record.
uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
uint64_t sipHash24(const std::array<uint64_t, 2>& k, const uint8_t* p, size_t n) {
  uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
  uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
  auto round = [&] {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  };
  const size_t full = n & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m;
    std::memcpy(&m, p + i, 8);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  uint64_t last = static_cast<uint64_t>(n) << 56;
  for (size_t i = full; i < n; ++i) last |= static_cast<uint64_t>(p[i]) << (8 * (i - full));
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

// Sum of the per-direction counts of the directions in `mask`.
uint32_t inMask(const uint32_t (&by_dir)[2], uint8_t mask) {
  return ((mask & 1) ? by_dir[0] : 0) + ((mask & 2) ? by_dir[1] : 0);
}

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
  p->inspector_->setKeyHashSink(p.get());
  p->flows_.resize(config.flow_capacity);
  if (auto st = p->initBlocks(); !st.ok()) return st;
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
      v.det_store.push_back(id && set->enabled(*id) ? static_cast<int32_t>(*id) : -1);
    }
    for (const auto& d : rs.dictionaries()) {
      const auto idx = set->dictionaryIndex(d.name());
      v.dict_store.push_back(idx ? static_cast<int32_t>(*idx) : -1);
    }
    v.ev = v.v.evaluator.get();
    v.hash = v.v.ruleset_hash;
    v.detector_of = v.det_store;
    v.dictionary_of = v.dict_store;
    v.counts = &v.counters;
    v.individuals = &v.inds;
    auto sides = ExportSides::build(rs);
    if (!sides.ok()) return sides.status();
    v.sides_store = std::move(*sides);
    v.sides = &v.sides_store;
  }
  return p;
}

absl::StatusOr<std::unique_ptr<RulesPolicy>> RulesPolicy::createDataplane(
    const RulesPolicyConfig& config, const DataplaneWiring& wiring, std::shared_ptr<const RulesetSnapshot> initial,
    std::span<const uint8_t> hmac_key) {
  if (!initial) return absl::InvalidArgumentError("no ruleset snapshot");
  if (wiring.shard == nullptr || wiring.counts == nullptr) {
    return absl::InvalidArgumentError("the dataplane policy needs a counter shard and the counter store");
  }
  std::unique_ptr<RulesPolicy> p(new (std::nothrow) RulesPolicy());
  if (!p) return absl::ResourceExhaustedError("out of memory");
  p->dataplane_ = true;
  p->config_ = config;
  p->wiring_ = wiring;
  p->hmac_key_.assign(hmac_key.begin(), hmac_key.end());
  // Four 128-bit SipHash keys derived from the appliance key (flow id, host id halves).
  for (uint8_t i = 0; i < 4; ++i) {
    std::vector<uint8_t> in{'x', 'b', '-', 'i', 'd', i};
    in.insert(in.end(), hmac_key.begin(), hmac_key.end());
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(in.data(), in.size(), md);
    std::memcpy(p->sip_key_[i].data(), md, 16);
  }
  auto prepared = p->prepare(std::move(initial));
  if (!prepared.ok()) return prepared.status();
  p->current_ = std::move(*prepared);
  p->inspector_ = std::move(p->current_->inspector_);
  p->set_ = p->current_->snap_->detectors();
  p->flows_.resize(config.flow_capacity);
  if (auto st = p->initBlocks(); !st.ok()) return st;
  p->versions_.resize(1);
  p->bindCurrent();
  return p;
}

absl::Status RulesPolicy::initBlocks() {
  if (config_.hash_blocks == 0 || config_.hash_blocks >= kNoBlock) {
    return absl::InvalidArgumentError("hash_blocks must be in [1, 2^32-1)");
  }
  blocks_.resize(config_.hash_blocks);
  for (uint32_t i = 0; i < config_.hash_blocks; ++i) blocks_[i].next = i + 1 < config_.hash_blocks ? i + 1 : kNoBlock;
  free_block_ = 0;
  return absl::OkStatus();
}

void RulesPolicy::onKeyHashes(uint32_t owner, uint8_t dir,
                              std::span<const rules::detectors::KeyHash> hashes) noexcept {
  FlowState& st = flows_[owner % flows_.size()];
  dir &= 1;
  // Only export directions' identifiers are kept (the dry run keeps those of every
  // version it judges; each judge counts its own directions').
  uint8_t keep = st.side[0].mask;
  if (!dataplane_ && versions_.size() > 1) keep |= st.side[1].mask;
  if (((keep >> dir) & 1) == 0) return;  // import: counted nowhere
  for (const auto& kh : hashes) {
    // Repeats within the last block are dropped (cheap); the sketches ignore the rest.
    const bool same_dir = st.chain_tail != kNoBlock && blocks_[st.chain_tail].dir == dir;
    if (same_dir) {
      const HashBlock& t = blocks_[st.chain_tail];
      bool dup = false;
      for (uint32_t i = 0; i < t.n && !dup; ++i) dup = t.h[i] == kh.hash;
      if (dup) continue;
    }
    if (!same_dir || blocks_[st.chain_tail].n == blocks_[st.chain_tail].h.size()) {
      if (free_block_ == kNoBlock) {
        ++st.ids_dropped[dir];
        ++dp_stats_.hashes_dropped;
        continue;
      }
      const uint32_t b = free_block_;
      free_block_ = blocks_[b].next;
      blocks_[b].next = kNoBlock;
      blocks_[b].n = 0;
      blocks_[b].dir = dir;
      if (st.chain_tail == kNoBlock) {
        st.chain_head = b;
      } else {
        blocks_[st.chain_tail].next = b;
      }
      st.chain_tail = b;
    }
    HashBlock& t = blocks_[st.chain_tail];
    t.h[t.n++] = kh.hash;
    ++st.ids[dir];
    ++st.ids_total[dir];
  }
}

void RulesPolicy::recycleChain(FlowState& st) noexcept {
  if (st.chain_head != kNoBlock) {
    blocks_[st.chain_tail].next = free_block_;
    free_block_ = st.chain_head;
  }
  st.chain_head = st.chain_tail = kNoBlock;
  st.ids[0] = st.ids[1] = 0;
}

void RulesPolicy::freeChain(FlowState& st) noexcept {
  recycleChain(st);
  st.ids_dropped[0] = st.ids_dropped[1] = 0;
  st.ids_total[0] = st.ids_total[1] = 0;
}

uint32_t RulesPolicy::unmergedFed(const FlowState& st) const noexcept {
  if ((st.fed_unmerged[0] | st.fed_unmerged[1]) == 0 || wiring_.shard == nullptr) return 0;
  const uint64_t merged = wiring_.shard->mergedSeq();
  return (merged >= st.fed_seq[0] ? 0 : st.fed_unmerged[0]) + (merged >= st.fed_seq[1] ? 0 : st.fed_unmerged[1]);
}

void RulesPolicy::feedCounters(const FlowView& flow, FlowState& st, const Decision& d, const Facts& facts,
                               bool at_end) noexcept {
  const int out = facts.outbound ? 0 : 1;
  const uint16_t country = d.country[0] != '?' ? counters::countryCode(d.country[0], d.country[1]) : 0;
  // Deltas since the previous feed (a count that went down, e.g. after the inspection
  // slot was retired, adds nothing).
  const uint64_t records = facts.f.records > st.fed_records ? facts.f.records - st.fed_records : 0;
  const uint64_t bytes = flow.bytes[out] > st.fed_bytes ? flow.bytes[out] - st.fed_bytes : 0;
  const auto updates = d.counterUpdates();
  for (const auto& u : updates) {
    Sensitivity sens = facts.sensitive ? Sensitivity::kSensitive : Sensitivity::kNonSensitive;
    if (u.key.kind == rules::eval::CounterKey::Kind::kBaselineSensitive) sens = Sensitivity::kSensitive;
    if (u.key.kind == rules::eval::CounterKey::Kind::kBaselineNonSensitive) sens = Sensitivity::kNonSensitive;
    const TallyKey key{u.key, country, sens};
    // Plain counts once; the hashes block by block, export directions' only (every
    // update the Evaluator pushes has add > 0: the flow's individuals count for it).
    bool plain = true;
    for (uint32_t b = st.chain_head; b != kNoBlock; b = blocks_[b].next) {
      if (((facts.mask >> blocks_[b].dir) & 1) == 0) continue;
      wiring_.shard->update(key, std::span<const uint64_t>(blocks_[b].h.data(), blocks_[b].n), plain ? records : 0,
                            plain ? bytes : 0, plain && at_end ? 1 : 0);
      plain = false;
    }
    if (plain) wiring_.shard->update(key, std::span<const uint64_t>(), records, bytes, at_end ? 1 : 0);
  }
  if (!updates.empty()) {
    st.fed_records = facts.f.records > st.fed_records ? facts.f.records : st.fed_records;
    st.fed_bytes = flow.bytes[out] > st.fed_bytes ? flow.bytes[out] : st.fed_bytes;
    if (const uint32_t ids = inMask(st.ids, facts.mask); ids > 0) {
      // Fed hashes the store already acknowledged are in its counts; the rest stay in
      // the flow's judge until the acknowledgement covers their feed.
      const uint64_t merged = wiring_.shard->mergedSeq();
      if (st.fed_unmerged[0] != 0 && merged >= st.fed_seq[0]) {  // the oldest is in: shift
        st.fed_unmerged[0] = st.fed_unmerged[1];
        st.fed_seq[0] = st.fed_seq[1];
        st.fed_unmerged[1] = 0;
      }
      if (st.fed_unmerged[0] != 0 && merged >= st.fed_seq[0]) st.fed_unmerged[0] = 0;
      const int i = st.fed_unmerged[0] == 0 ? 0 : 1;
      st.fed_unmerged[i] += ids;
      st.fed_seq[i] = wiring_.shard->seq();
    }
    if (!at_end) ++dp_stats_.feeds;
  }
  // Hashes of a decision that reaches no counter (no tenant, or a pull that is not
  // export), and any left from a direction that is no longer export, count nowhere.
  recycleChain(st);
}

RulesPolicy::~RulesPolicy() = default;

DataplaneStats RulesPolicy::dataplaneStats() const {
  DataplaneStats s;
  for (size_t i = 0; i < 5; ++i) s.decisions[i] = dp_stats_.decisions[i].get();
  s.events = dp_stats_.events.get();
  s.events_lost = dp_stats_.events_lost.get();
  s.fail_closed = dp_stats_.fail_closed.get();
  s.adopts = dp_stats_.adopts.get();
  s.orphaned_inspections = dp_stats_.orphaned_inspections.get();
  s.samples_lost = dp_stats_.samples_lost.get();
  s.hashes_dropped = dp_stats_.hashes_dropped.get();
  s.feeds = dp_stats_.feeds.get();
  return s;
}

void RulesPolicy::bindCurrent() noexcept {
  const RulesetSnapshot& s = *current_->snap_;
  VersionRt& v = versions_[0];
  v.ev = &s.evaluator();
  v.hash = s.sha256Hex();
  v.detector_of = s.detectorOf();
  v.dictionary_of = s.dictionaryOf();
  v.counts = wiring_.counts;
  v.individuals = nullptr;
  v.sides = &s.exportSides();
}

absl::StatusOr<std::unique_ptr<PreparedRuleset>> RulesPolicy::prepare(std::shared_ptr<const RulesetSnapshot> next) {
  if (!dataplane_) return absl::FailedPreconditionError("prepare() is for the dataplane policy");
  if (!next) return absl::InvalidArgumentError("no ruleset snapshot");
  auto p = std::make_unique<PreparedRuleset>();
  p->snap_ = next;
  if (!last_prepared_ || !next->sameDetectors(*last_prepared_)) {
    // Another detector database: Hyperscan streams of one database cannot be scanned
    // with another, so new flows get a fresh pool; flows in progress finish on the old.
    auto insp = FlowInspector::create(config_.inspect, next->detectors(), hmac_key_);
    if (!insp.ok()) return insp.status();
    p->inspector_ = std::move(*insp);
    p->inspector_->setKeyHashSink(this);
    if (last_prepared_) {
      for (const auto& d : next->ruleset().dictionaries()) {
        const auto idx = last_prepared_->detectors()->dictionaryIndex(d.name());
        p->dict_of_previous_.push_back(idx ? static_cast<int32_t>(*idx) : -1);
      }
    }
  }
  last_prepared_ = std::move(next);
  return p;
}

std::unique_ptr<PreparedRuleset> RulesPolicy::adopt(std::unique_ptr<PreparedRuleset> next) noexcept {
  if (!dataplane_ || !next) return next;
  std::unique_ptr<PreparedRuleset> old = std::move(current_);
  current_ = std::move(next);
  if (current_->inspector_) {
    // The database before the previous one is retired: its flows (if any are left)
    // are judged on metadata from now on; it is freed with `old` after the grace period.
    old->inspector_ = std::move(draining_);
    draining_ = std::move(inspector_);
    inspector_ = std::move(current_->inspector_);
    draining_dict_of_ = current_->dict_of_previous_;
    ++epoch_;
  }
  ++version_seq_;
  ++dp_stats_.adopts;
  bindCurrent();
  return old;
}

FlowInspector* RulesPolicy::inspectorOf(const FlowState& st) const noexcept {
  if (st.slot == kNoInspectSlot) return nullptr;
  if (st.epoch == epoch_) return inspector_.get();
  if (draining_ && st.epoch + 1 == epoch_) return draining_.get();
  return nullptr;
}

InspectSlot* RulesPolicy::slotOf(FlowState& st) noexcept {
  FlowInspector* in = inspectorOf(st);
  return in ? &in->at(st.slot) : nullptr;
}

const InspectSlot* RulesPolicy::slotOf(const FlowState& st) const {
  FlowInspector* in = inspectorOf(st);
  return in ? &in->at(st.slot) : nullptr;
}

void RulesPolicy::releaseSlot(FlowState& st) noexcept {
  if (FlowInspector* in = inspectorOf(st)) in->release(st.slot);
  st.slot = kNoInspectSlot;
}

RulesPolicy::FlowState& RulesPolicy::state(const FlowView& flow) noexcept {
  FlowState& st = flows_[flow.flow_index % flows_.size()];
  if (!st.active || st.gen != flow.flow_gen) {
    if (st.active && st.slot != kNoInspectSlot) {
      releaseSlot(st);  // a flow we never saw end (should not happen)
    }
    freeChain(st);
    st = FlowState{};
    st.active = true;
    st.gen = flow.flow_gen;
    st.slot = inspector_->acquire();
    st.epoch = epoch_;
    if (st.slot != kNoInspectSlot) inspector_->at(st.slot).owner = flow.flow_index;
    st.rec_version = version_seq_;
  } else if (st.slot != kNoInspectSlot && inspectorOf(st) == nullptr) {
    // Its detector database was retired (two database changes during the flow).
    st.slot = kNoInspectSlot;
    st.stopped = true;
    ++dp_stats_.orphaned_inspections;
  }
  return st;
}

void RulesPolicy::deriveSides(const FlowView& flow, FlowState& st) noexcept {
  if (st.side_seq == version_seq_ + 1) return;
  st.side_seq = version_seq_ + 1;
  const IpAddress client = ipOf(flow.client_ip, flow.ip_version);
  const IpAddress server = ipOf(flow.server_ip, flow.ip_version);
  uint8_t scan = 0;
  for (size_t i = 0; i < versions_.size() && i < st.side.size(); ++i) {
    st.side[i] = versions_[i].sides->sideOf(client, server, flow.vlan);
    scan |= st.side[i].mask;
  }
  if (FlowInspector* in = inspectorOf(st)) in->setDirections(st.slot, scan);
}

void RulesPolicy::fillFacts(const VersionRt& v, const FlowView& flow, const FlowState& st, uint8_t mask,
                            Facts* facts) const {
  rules::eval::FlowFacts& f = facts->f;
  f.vlan = flow.vlan;
  f.foreignName = flow.host;
  f.application = flow.app;
  f.timeUnix = config_.as_of_unix != 0 ? config_.as_of_unix
                                       : static_cast<int64_t>(flow.now_ns / 1000000000ull);
  facts->det.fill(0);
  facts->dict.fill(0);
  facts->distinct = 0;
  facts->dropped = 0;
  facts->sensitive = false;
  facts->mask = mask;
  if (const InspectSlot* sp = slotOf(st)) {
    const InspectSlot& s = *sp;
    // Export directions only: what came into the zone is not export.
    const bool d0 = (mask & 1) != 0, d1 = (mask & 2) != 0;
    const auto& r0 = s.dir[0].scan.result();
    const auto& r1 = s.dir[1].scan.result();
    f.contentType = s.contentTypeView();
    f.path = s.pathView();
    f.records = s.records(mask);
    for (size_t i = 0; i < v.detector_of.size(); ++i) {
      if (v.detector_of[i] < 0) continue;
      const auto id = static_cast<size_t>(v.detector_of[i]);
      // The scanner counts matches; used as "records with a hit" (an upper bound).
      facts->det[i] = (d0 ? r0.hits[id] : 0) + (d1 ? r1.hits[id] : 0);
    }
    // A flow still inspected under the previous detector database names its
    // dictionaries by that database's indexes.
    const std::span<const int32_t> dict_of = st.epoch == epoch_ ? v.dictionary_of : draining_dict_of_;
    for (size_t i = 0; i < v.dictionary_of.size() && i < dict_of.size(); ++i) {
      if (dict_of[i] < 0) continue;
      const auto idx = static_cast<size_t>(dict_of[i]);
      facts->dict[i] = (d0 ? r0.dictionaryHits[idx] : 0) + (d1 ? r1.dictionaryHits[idx] : 0);
    }
    facts->sensitive = (d0 && r0.sensitiveHits > 0) || (d1 && r1.sensitiveHits > 0);
    facts->dropped += (d0 ? r0.keyHashesDropped : 0) + (d1 ? r1.keyHashesDropped : 0);
  }
  facts->distinct = inMask(st.ids, mask) + (dataplane_ ? unmergedFed(st) : 0);
  facts->dropped += inMask(st.ids_dropped, mask);
  facts->total = inMask(st.ids_total, mask) + facts->dropped;
  if (f.path.empty()) f.path = flow.url;
  f.detectorRecords = {facts->det.data(), v.detector_of.size()};
  f.dictionaryRecords = {facts->dict.data(), v.dictionary_of.size()};
}

Decision RulesPolicy::judge(VersionRt& v, const ExportSide& side, const FlowView& flow, const FlowState& st,
                            Facts* facts, uint32_t* new_individuals) const {
  fillFacts(v, flow, st, side.mask, facts);
  rules::eval::FlowFacts& f = facts->f;
  const IpAddress client = ipOf(flow.client_ip, flow.ip_version);
  const IpAddress server = ipOf(flow.server_ip, flow.ip_version);
  // The side decided the direction and the tenant (the Evaluator's own attribution
  // rule; the tenant is handed over so it is not looked up again): a tenant client is
  // an outbound transfer, else a tenant server is a pull from abroad, else nobody is.
  f.direction = side.outbound ? Direction::kOutbound : Direction::kInboundPull;
  f.domesticIp = side.outbound ? client : server;
  f.foreignIp = side.outbound ? server : client;
  f.tenant = side.tenant;
  facts->outbound = side.outbound;
  Decision d = v.ev->evaluate(f, *v.counts);
  // Individuals: keyed hashes of this flow not yet counted for the legal entity.
  uint32_t fresh = 0;
  const InspectSlot* sp = slotOf(st);
  if (d.legalEntity >= 0 && (sp != nullptr || (v.individuals == nullptr && facts->distinct + facts->dropped > 0))) {
    if (v.individuals != nullptr) {
      const int32_t year = v.ev->yearOf(f.timeUnix);
      for (uint32_t b = st.chain_head; b != kNoBlock; b = blocks_[b].next) {
        if (((side.mask >> blocks_[b].dir) & 1) == 0) continue;
        for (uint32_t i = 0; i < blocks_[b].n; ++i) {
          if (!v.individuals->seen(static_cast<uint32_t>(d.legalEntity), year, blocks_[b].h[i])) ++fresh;
        }
      }
      fresh += facts->dropped;
    } else {
      // A sketch cannot tell who was seen: every identifier of the flow the store does
      // not count yet (not fed, or fed and not yet merged) counts as new, and keyed
      // hits the scanner could not keep too (an upper bound for the decision).
      fresh = facts->distinct + facts->dropped;
    }
  }
  if (fresh > 0) {
    (facts->sensitive ? f.newIndividualsSensitive : f.newIndividualsNonSensitive) = fresh;
    d = v.ev->evaluate(f, *v.counts);
  }
  if (new_individuals) *new_individuals = fresh;
  return d;
}

PolicyAction RulesPolicy::onPacket(const FlowView& flow, const PacketView& pkt) noexcept {
  FlowState& st = state(flow);
  deriveSides(flow, st);  // before any payload is scanned: import is never scanned
  bool point = flow.pkts[0] + flow.pkts[1] == 1;  // first packet
  if (flow.classified && !st.classified) {
    st.classified = true;
    point = true;
    if (isEncryptedApp(flow.app_proto) && st.slot != kNoInspectSlot) {
      // Encrypted: the payload says nothing; judge on metadata and free the slot.
      releaseSlot(st);
      st.stopped = true;
    }
  }
  // A FIN without payload ends its direction's inspection (so the flow can settle).
  if (st.slot != kNoInspectSlot && (pkt.payload_len > 0 || (pkt.tcp && (pkt.tcp_flags & 0x01) != 0))) {
    if (FlowInspector* in = inspectorOf(st)) point = in->feed(st.slot, pkt) || point;
  }
  if (!dataplane_) {
    if (point && !dropsTraffic(st.action[0])) {
      for (size_t i = 0; i < versions_.size(); ++i) {
        Facts facts;
        const Decision d = judge(versions_[i], st.side[i], flow, st, &facts, nullptr);
        ++evaluations_;
        const PolicyAction a = toPolicy(d.action);
        if (a > st.action[i]) st.action[i] = a;
      }
    }
    return st.action[0];
  }
  // Dataplane: a new ruleset version makes the next packet a decision point.
  point = point || st.rec_version != version_seq_;
  if (point && !dropsTraffic(st.action[0])) {
    Facts facts;
    const Decision d = judge(versions_[0], st.side[0], flow, st, &facts, nullptr);
    ++evaluations_;
    decide(flow, st, d, facts, false, wiring_.inline_mode);
    // Mid-flow: this packet's identifiers reach the counters now (other flows' judges
    // see them after the next merge), not when the flow ends.
    if (st.chain_head != kNoBlock) feedCounters(flow, st, d, facts, false);
  }
  st.last_bytes[0] = flow.bytes[0];
  st.last_bytes[1] = flow.bytes[1];
  return st.action[0];
}

bool RulesPolicy::settled(const FlowView& flow, PolicyAction action) const noexcept {
  if (!dataplane_) return false;
  const FlowState& st = flows_[flow.flow_index % flows_.size()];
  if (!st.active || st.gen != flow.flow_gen || st.rec_version != version_seq_) return false;
  if (dropsTraffic(action)) return true;
  if (!st.classified) return false;
  if (st.slot == kNoInspectSlot) return true;
  // Inspected: settled once its export directions will scan nothing more (budget
  // spent, FIN); the import direction is never scanned, so its bytes change nothing.
  const FlowInspector* in = inspectorOf(st);
  return in != nullptr && st.side_seq == version_seq_ + 1 && in->spent(st.slot, st.side[0].mask);
}

PolicyAction RulesPolicy::decide(const FlowView& flow, FlowState& st, const Decision& d, const Facts& facts,
                                 bool at_end, bool inline_mode) noexcept {
  const RulesetSnapshot& snap = *current_->snap_;
  const PolicyAction a = toPolicy(d.action);
  const int32_t entry = snap.entryIndexOf(d);
  // Flows that get a record: every decision other than allow, and every flow that
  // matched an entry (or a baseline class). Those at alert and above, and transfers a
  // filing covers, need it: without a record they are blocked under fail-closed.
  const bool qualifies = a != PolicyAction::kAllow || entry >= 0;
  const bool needs_evidence = a >= PolicyAction::kAlert || d.filing >= 0;
  // Block and hold are sticky: the flow's later packets never crossed.
  PolicyAction enforced = dropsTraffic(st.action[0]) && st.action[0] > a ? st.action[0] : a;
  const bool changed = !st.decided || enforced != st.rec_action || entry != st.rec_entry ||
                       d.filing != st.rec_filing || st.rec_version != version_seq_;
  evidence_sink::EvidenceSink* sink = wiring_.sink;
  if (changed && !at_end && inline_mode && sink != nullptr && !dropsTraffic(enforced) &&
      sink->mustBlock(wiring_.worker, needs_evidence)) {
    // A new decision that must be recorded and cannot be: stop the flow instead.
    enforced = PolicyAction::kBlock;
    if (!st.fail_closed) ++dp_stats_.fail_closed;
    st.fail_closed = true;
  }
  if (changed) {
    // Bytes that had crossed before this decision: a drop stops the current packet.
    const bool drops_now = !at_end && inline_mode && dropsTraffic(enforced) && !dropsTraffic(st.action[0]);
    st.before_bytes[0] = drops_now ? st.last_bytes[0] : flow.bytes[0];
    st.before_bytes[1] = drops_now ? st.last_bytes[1] : flow.bytes[1];
  }
  if (!st.decided || enforced > st.action[0]) ++dp_stats_.decisions[static_cast<size_t>(enforced)];
  if (at_end) {
    st.action[0] = enforced;
  } else if (enforced > st.action[0]) {
    st.action[0] = enforced;
  }
  const bool record_now = qualifies && (at_end || (changed && (enforced >= PolicyAction::kAlert || entry >= 0)));
  if (record_now && sink != nullptr) {
    evidence_sink::EvidenceEvent ev;
    fillEvent(flow, st, d, facts, enforced, at_end, &ev);
    ++dp_stats_.events;
    if (!sink->submit(wiring_.worker, ev)) ++dp_stats_.events_lost;
  }
  if (changed) {
    st.decided = true;
    st.rec_action = enforced;
    st.rec_entry = entry;
    st.rec_filing = d.filing;
  }
  st.recorded = st.recorded || record_now;
  st.rec_version = version_seq_;
  return st.action[0];
}

void RulesPolicy::fillEvent(const FlowView& flow, const FlowState& st, const Decision& d, const Facts& facts,
                            PolicyAction a, bool at_end, evidence_sink::EvidenceEvent* ev) noexcept {
  using evidence_sink::Decision;
  const RulesetSnapshot& snap = *current_->snap_;
  ev->decidedUnixNanos = static_cast<int64_t>(flow.now_ns);
  ev->startUnixNanos = static_cast<int64_t>(flow.first_ns);
  ev->endUnixNanos = at_end ? static_cast<int64_t>(flow.now_ns) : 0;
  const int out = facts.outbound ? 0 : 1;
  ev->bytesOutBeforeDecision = st.before_bytes[out];
  ev->bytesInBeforeDecision = st.before_bytes[1 - out];
  ev->bytesOut = flow.bytes[out];
  ev->bytesIn = flow.bytes[1 - out];
  ev->identifiersCount = facts.total;
  ev->records = facts.f.records;
  ev->flowSeq = (uint64_t{wiring_.worker} << 48) | (uint64_t{flow.flow_gen} << 24) | (flow.flow_index & 0xFFFFFF);
  ev->tenant = d.legalEntity >= 0 ? static_cast<uint32_t>(d.legalEntity) : UINT32_MAX;
  ev->entry = snap.entryIndexOf(d);
  ev->filing = d.filing;
  // The foreign party is the destination (the client, for a pull from abroad).
  const uint8_t* foreign = facts.outbound ? flow.server_ip : flow.client_ip;
  const uint8_t* domestic = facts.outbound ? flow.client_ip : flow.server_ip;
  ev->srcPort = facts.outbound ? flow.client_port : flow.server_port;
  ev->dstPort = facts.outbound ? flow.server_port : flow.client_port;
  ev->ipProto = flow.proto;
  ev->dstIpLen = flow.ip_version == 4 ? 4 : 16;
  std::memcpy(ev->dstIp, foreign, ev->dstIpLen);
  ev->hashKeyId = wiring_.hash_key_id;
  if (dropsTraffic(a) && !wiring_.inline_mode) {
    ev->decision = Decision::kAlert;
  } else {
    switch (a) {
      case PolicyAction::kBlock: ev->decision = Decision::kBlock; break;
      case PolicyAction::kHold: ev->decision = Decision::kHold; break;
      case PolicyAction::kAlert: ev->decision = Decision::kAlert; break;
      default: ev->decision = d.filing >= 0 ? Decision::kAllowFiling : Decision::kLog; break;
    }
  }
  if (!wiring_.inline_mode) ev->flags |= evidence_sink::kFlagTapMode;
  if (st.fail_closed) ev->flags |= evidence_sink::kFlagFailClosed;
  if (at_end) ev->flags |= evidence_sink::kFlagFlowEnd;
  if (d.country[0] != '?') {
    ev->dstCountry[0] = d.country[0];
    ev->dstCountry[1] = d.country[1];
  }
  ev->basis = static_cast<uint8_t>(d.basis);
  ev->reason = static_cast<uint8_t>(d.miss);
  std::memcpy(ev->rulesetSha256, snap.sha256().data(), 32);
  // Keyed hashes of the flow's identity and of the inside host; never the addresses.
  struct {
    uint8_t lo[16], hi[16];
    uint16_t lp, hp;
    uint8_t proto;
    uint8_t pad[3];
    uint64_t start;
  } id{};
  std::memcpy(id.lo, flow.client_ip, 16);
  std::memcpy(id.hi, flow.server_ip, 16);
  id.lp = flow.client_port;
  id.hp = flow.server_port;
  id.proto = flow.proto;
  id.start = flow.first_ns;
  const auto* idb = reinterpret_cast<const uint8_t*>(&id);
  const uint64_t f0 = sipHash24(sip_key_[0], idb, sizeof id), f1 = sipHash24(sip_key_[1], idb, sizeof id);
  std::memcpy(ev->flowId, &f0, 8);
  std::memcpy(ev->flowId + 8, &f1, 8);
  const uint64_t s0 = sipHash24(sip_key_[2], domestic, 16), s1 = sipHash24(sip_key_[3], domestic, 16);
  std::memcpy(ev->srcIdHash, &s0, 8);
  std::memcpy(ev->srcIdHash + 8, &s1, 8);
}

size_t RulesPolicy::formatReason(char* buf, size_t cap, const Decision& d) const noexcept {
  const RulesetSnapshot& snap = *current_->snap_;
  const auto& names = *snap.names();
  const int32_t entry = snap.entryIndexOf(d);
  const char* entry_name = entry >= 0 && static_cast<size_t>(entry) < names.entries.size()
                               ? names.entries[static_cast<size_t>(entry)].c_str() : "-";
  const char* filing_name = d.filing >= 0 && static_cast<size_t>(d.filing) < names.filings.size()
                                ? names.filings[static_cast<size_t>(d.filing)].c_str() : "-";
  int n = 0;
  if (d.filing >= 0) {
    n = std::snprintf(buf, cap, "%s: %s %s covered by filing %s (count %llu)",
                      kPolicyActionNames[static_cast<int>(toPolicy(d.action))], basisName(d.basis), entry_name,
                      filing_name, static_cast<unsigned long long>(d.count));
  } else if (entry >= 0 && d.mechanism >= 0 && d.mechanism < snap.ruleset().mechanisms_size() &&
             snap.ruleset().mechanisms(d.mechanism).default_action() <= rules::pb::ACTION_LOG) {
    // The count is in a tier (or the entry has a mechanism) that needs no filing: the
    // Evaluator still reports why the tenant's filings did not match (usually
    // wrong-type: a standard contract is not a filing type of "exempt"), which is beside
    // the point here.
    n = std::snprintf(buf, cap, "%s: %s %s, no filing needed (exempt-tier; mechanism %s; count %llu)",
                      kPolicyActionNames[static_cast<int>(toPolicy(d.action))], basisName(d.basis), entry_name,
                      snap.ruleset().mechanisms(d.mechanism).name().c_str(), static_cast<unsigned long long>(d.count));
  } else if (entry >= 0) {
    n = std::snprintf(buf, cap, "%s: %s %s, no filing covers it (%s; count %llu)",
                      kPolicyActionNames[static_cast<int>(toPolicy(d.action))], basisName(d.basis), entry_name,
                      missName(d.miss), static_cast<unsigned long long>(d.count));
  } else {
    n = std::snprintf(buf, cap, "%s: %s", kPolicyActionNames[static_cast<int>(toPolicy(d.action))],
                      basisName(d.basis));
  }
  return n < 0 ? 0 : (static_cast<size_t>(n) < cap ? static_cast<size_t>(n) : cap - 1);
}

void RulesPolicy::onFlowEnd(const FlowView& flow, FlowLogFields* log) noexcept {
  FlowState& st = state(flow);
  deriveSides(flow, st);  // before finish() hands over the last identifiers
  if (FlowInspector* in = inspectorOf(st)) in->finish(st.slot);
  if (dataplane_) {
    onFlowEndDataplane(flow, st, log);
  } else {
    onFlowEndDryRun(flow, st, log);
  }
  releaseSlot(st);
  freeChain(st);
  st = FlowState{};
}

namespace {
// Bounded JSON writer into a fixed buffer (no allocation).
struct JsonOut {
  char* b;
  size_t cap;
  size_t n = 0;
  void lit(std::string_view s) {
    if (n + s.size() < cap) {
      std::memcpy(b + n, s.data(), s.size());
      n += s.size();
    }
  }
  void str(std::string_view s) {
    lit("\"");
    n = appendEscaped(b, n, cap, s);
    lit("\"");
  }
  void num(uint64_t v) {
    char t[24];
    const int k = std::snprintf(t, sizeof t, "%llu", static_cast<unsigned long long>(v));
    lit(std::string_view(t, static_cast<size_t>(k)));
  }
};
}  // namespace

void RulesPolicy::onFlowEndDataplane(const FlowView& flow, FlowState& st, FlowLogFields* log) noexcept {
  Facts facts;
  VersionRt& v = versions_[0];
  const Decision d = judge(v, st.side[0], flow, st, &facts, nullptr);
  ++evaluations_;
  const PolicyAction action = decide(flow, st, d, facts, true, wiring_.inline_mode);
  const RulesetSnapshot& snap = *current_->snap_;
  const int out = facts.outbound ? 0 : 1;
  // The year's counters: the rest of the flow's keyed hashes, the plain remainder and
  // the flow itself, into each counter it reached. A flow whose identifiers the store
  // already counts in full is judged with none new, so its decision names no counter:
  // the counters come from judging it with all of them (as the mid-flow feeds did).
  const uint16_t country = d.country[0] != '?' ? counters::countryCode(d.country[0], d.country[1]) : 0;
  if (d.counterUpdates().empty() && facts.total > 0 && d.legalEntity >= 0) {
    rules::eval::FlowFacts g = facts.f;
    (facts.sensitive ? g.newIndividualsSensitive : g.newIndividualsNonSensitive) = facts.total;
    feedCounters(flow, st, v.ev->evaluate(g, *v.counts), facts, true);
  } else {
    feedCounters(flow, st, d, facts, true);
  }
  if (wiring_.samples != nullptr && d.legalEntity >= 0) {
    anomaly::FlowSample s;
    s.tenant = static_cast<uint32_t>(d.legalEntity);
    s.country = country;
    s.destination = d.destination;
    s.deltaBytesOut = flow.bytes[out];
    s.flowBytesOut = flow.bytes[out];
    s.covered = d.filing >= 0;
    s.openedFromAbroad = !facts.outbound;
    s.unixNanos = static_cast<int64_t>(flow.now_ns);
    if (!wiring_.samples->push(s)) ++dp_stats_.samples_lost;
  }
  if (log == nullptr) return;
  const auto& rs = snap.ruleset();
  const auto& names = *snap.names();
  JsonOut j{logbuf_.data(), logbuf_.size()};
  const PolicyAction shown = !wiring_.inline_mode && action >= PolicyAction::kAlert ? PolicyAction::kAlert : action;
  j.lit("\"verdict\":{\"action\":");
  j.str(kPolicyActionNames[static_cast<int>(shown)]);
  if (shown != action) {
    j.lit(",\"inline_action\":");
    j.str(kPolicyActionNames[static_cast<int>(action)]);
  }
  const int32_t entry = snap.entryIndexOf(d);
  const int32_t shown_entry = st.rec_entry >= 0 ? st.rec_entry : entry;
  j.lit(",\"entry_id\":");
  j.str(shown_entry >= 0 && static_cast<size_t>(shown_entry) < names.entries.size()
            ? std::string_view(names.entries[static_cast<size_t>(shown_entry)]) : std::string_view());
  j.lit(",\"filing_id\":");
  j.str(d.filing >= 0 ? std::string_view(rs.filings(d.filing).id()) : std::string_view());
  char reason[256];
  const size_t rn = st.fail_closed
                        ? static_cast<size_t>(std::snprintf(reason, sizeof reason,
                                                            "block: evidence could not be written (fail-closed)"))
                        : formatReason(reason, sizeof reason, d);
  j.lit(",\"reason\":");
  j.str(std::string_view(reason, rn < sizeof reason ? rn : sizeof reason - 1));
  j.lit(",\"ruleset\":");
  j.str(v.hash);
  j.lit(",\"bytes_before_decision\":{\"out\":");
  j.num(st.before_bytes[out]);
  j.lit(",\"in\":");
  j.num(st.before_bytes[1 - out]);
  j.lit("}");
  if (st.fail_closed) j.lit(",\"fail_closed\":true");
  j.lit(",\"identifiers\":");
  j.num(facts.total);
  j.lit("},\"detectors\":{");
  bool first = true;
  for (size_t i = 0; i < v.detector_of.size(); ++i) {
    if (!first) j.lit(",");
    first = false;
    j.str(rs.detectors(static_cast<int>(i)).name());
    j.lit(":");
    j.num(facts.det[i]);
  }
  j.lit("},\"tenant\":");
  j.str(d.tenant >= 0 ? std::string_view(rs.tenants(d.tenant).id()) : std::string_view());
  j.lit(",\"dest_country\":");
  j.str(std::string_view(d.country.data(), 2));
  log->append(std::string_view(j.b, j.n));
}

void RulesPolicy::onFlowEndDryRun(const FlowView& flow, FlowState& st, FlowLogFields* log) noexcept {
  FlowOutcome out;
  out.flow = &flow;
  out.inspected = slotOf(st) != nullptr;
  std::vector<Facts> facts(versions_.size());
  std::vector<Decision> decisions(versions_.size());
  for (size_t i = 0; i < versions_.size(); ++i) {
    VersionRt& v = versions_[i];
    VersionOutcome vo;
    decisions[i] = judge(v, st.side[i], flow, st, &facts[i], &vo.new_individuals);
    ++evaluations_;
    const Decision& d = decisions[i];
    vo.decision = d;
    const PolicyAction final_action = toPolicy(d.action);
    // A flow stopped by block/hold keeps that action even if later facts would judge
    // it otherwise (its later packets never crossed).
    vo.action = dropsTraffic(st.action[i]) && st.action[i] > final_action ? st.action[i] : final_action;
    const auto& rs = v.ev->ruleset();
    vo.entry_id = d.entry >= 0 || d.basis >= Basis::kBaselineCiioPi ? v.ev->reportedEntry(d) : "";
    vo.filing_id = d.filing >= 0 ? rs.filings(d.filing).id() : "";
    vo.tenant_id = d.tenant >= 0 ? rs.tenants(d.tenant).id() : "";
    vo.country = std::string(d.country.data(), 2);
    vo.reason = v.ev->describe(d);
    if (i == 0) {
      out.outbound = facts[i].outbound;
      out.content_type = facts[i].f.contentType;
      out.path = facts[i].f.path;
      out.records = facts[i].f.records;
    }
    // Apply this flow to the version's counters and individuals (the year's totals).
    v.counters.apply(d.counterUpdates());
    if (d.legalEntity >= 0) {
      const int32_t year = v.ev->yearOf(facts[i].f.timeUnix);
      for (uint32_t b = st.chain_head; b != kNoBlock; b = blocks_[b].next) {
        if (((facts[i].mask >> blocks_[b].dir) & 1) == 0) continue;  // import
        for (uint32_t k = 0; k < blocks_[b].n; ++k) v.inds.add(static_cast<uint32_t>(d.legalEntity), year, blocks_[b].h[k]);
      }
    }
    out.versions.push_back(std::move(vo));
  }
  // Detector match counts by the lists' names (first version's order, then others').
  const InspectSlot* sp = slotOf(st);
  for (size_t vi = 0; vi < versions_.size(); ++vi) {
    const VersionRt& v = versions_[vi];
    const uint8_t mask = facts[vi].mask;  // this version's export directions
    const auto& rs = v.ev->ruleset();
    for (size_t i = 0; i < v.detector_of.size(); ++i) {
      const std::string& name = rs.detectors(static_cast<int>(i)).name();
      bool dup = false;
      for (const auto& [n, c] : out.detectors) dup = dup || n == name;
      if (dup) continue;
      uint32_t c = 0;
      if (v.detector_of[i] >= 0 && sp != nullptr) {
        const auto id = static_cast<size_t>(v.detector_of[i]);
        c = ((mask & 1) ? sp->dir[0].scan.result().hits[id] : 0) + ((mask & 2) ? sp->dir[1].scan.result().hits[id] : 0);
      }
      out.detectors.emplace_back(name, c);
    }
  }
  if (sp != nullptr) out.gaps = sp->dir[0].gaps + sp->dir[1].gaps;
  if (log != nullptr) {
    const VersionOutcome& vo = out.versions[0];
    JsonOut j{logbuf_.data(), logbuf_.size()};
    j.lit("\"verdict\":{\"action\":");
    j.str(kPolicyActionNames[static_cast<int>(vo.action)]);
    j.lit(",\"entry_id\":");
    j.str(vo.entry_id);
    j.lit(",\"filing_id\":");
    j.str(vo.filing_id);
    j.lit(",\"reason\":");
    j.str(vo.reason);
    j.lit(",\"ruleset\":");
    j.str(versions_[0].hash);
    j.lit("},\"detectors\":{");
    bool first = true;
    for (const auto& [name, c] : out.detectors) {
      if (!first) j.lit(",");
      first = false;
      j.str(name);
      j.lit(":");
      j.num(c);
    }
    j.lit("},\"tenant\":");
    j.str(vo.tenant_id);
    j.lit(",\"dest_country\":");
    j.str(vo.country);
    log->append(std::string_view(j.b, j.n));
  }
  if (sink_ != nullptr) sink_->onOutcome(out);
}

}  // namespace xborder::dp
