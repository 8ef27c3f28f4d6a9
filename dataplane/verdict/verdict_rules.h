// RulesPolicy: the FlowPolicy backed by a compiled negative list (rules/eval) and the
// content detectors (dataplane/inspect). At each decision point (first packet,
// classification complete, an inspection step that changed counts, flow end) it builds
// the flow's facts and evaluates them; block/hold decisions are sticky for the flow.
// The flow's individuals (every keyed hash the inspector confirmed, kept in per-worker
// hash blocks) reach the counters at every decision point that judged new ones and at
// flow end (dataplane: mid-flow feeds, so open flows count towards the thresholds; see
// docs/enforcement.md), with the plain counts as deltas.
//
// Two modes:
// - dry run (create()): several ruleset versions over the same facts (--against):
//   version 0 drives the action, the others are reported only; each version keeps its
//   own exact counters and individuals; each finished flow goes to an OutcomeSink as a
//   FlowOutcome (allocates: strings, vectors).
// - dataplane (createDataplane()): one RulesetSnapshot in force, swapped with
//   prepare() (control thread) + adopt() (worker); counters in the worker's
//   CounterShard, read from the CounterStore; every decision that needs a record goes
//   to the EvidenceSink as a POD EvidenceEvent; each finished flow's FlowSample to the
//   anomaly ring. No allocation, lock, exception or syscall per packet or at flow end.
//
// Tenant and direction (docs/negative-list.md): the end whose address a tenant's
// source CIDRs (and VLAN) claim is domestic. If the client is domestic the flow is an
// outbound transfer; if only the server is, it is a pull from abroad. Only the export
// direction (the one leaving the zone, verdict_export_side.h) is scanned and counted:
// detector and dictionary hits, sensitive hits, records and identifiers of the import
// direction count for nothing. The direction is derived at the flow's first packet
// (before its payload is scanned) and again under each new ruleset version.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/anomaly/anomaly_samples.h"
#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/inspect/inspect_flow.h"
#include "dataplane/verdict/verdict_export_side.h"
#include "dataplane/verdict/verdict_policy.h"
#include "dataplane/verdict/verdict_ruleset.h"
#include "rules/eval/eval_ruleset.h"

namespace xborder::dp {

// Distinct individuals per (legal entity, year), by keyed hash. The dry run counts
// exactly in memory. The dataplane has none: a HyperLogLog cannot say whether a hash
// was seen, so every distinct hash of the flow counts as new for its decision (an
// upper bound for the flow) and the flow's hashes go to the CounterShard's sketches.
class IndividualCounter {
 public:
  virtual ~IndividualCounter() = default;
  virtual bool seen(uint32_t legal_entity, int32_t year, uint64_t hash) const = 0;
  virtual void add(uint32_t legal_entity, int32_t year, uint64_t hash) = 0;
};

class InMemoryIndividuals final : public IndividualCounter {
 public:
  bool seen(uint32_t legal_entity, int32_t year, uint64_t hash) const override;
  void add(uint32_t legal_entity, int32_t year, uint64_t hash) override;

 private:
  std::unordered_map<uint64_t, std::unordered_set<uint64_t>> sets_;  // key: entity<<32 | year
};

struct RulesVersion {
  std::shared_ptr<const rules::eval::Evaluator> evaluator;
  std::string ruleset_hash;  // SHA-256 hex of the compiled ruleset bytes
};

struct RulesPolicyConfig {
  uint32_t flow_capacity = 1u << 16;  // the engine's flow table capacity (slot indexes)
  InspectConfig inspect;
  int64_t as_of_unix = 0;  // judge every flow at this moment; 0 = at its capture time
  // Keyed hashes wait in blocks of 62 until the flow's decision says which counters
  // they count for (8192 blocks = 4 MiB, ~500,000 hashes per worker). Dry run: until
  // the flow ends. Dataplane: only until the decision point of the packet that carried
  // them (they are then fed to the CounterShard and the blocks recycled), so a flow
  // holds at most one packet's worth. When none is free, further hashes of a flow still
  // count in its decision (an upper bound) but do not reach the sketch (hashes_dropped).
  uint32_t hash_blocks = 8192;
};

// One version's judgement of a finished flow.
struct VersionOutcome {
  rules::eval::Decision decision;
  PolicyAction action = PolicyAction::kAllow;  // sticky: the most severe drop decision wins
  std::string entry_id, filing_id, tenant_id, reason;
  std::string country;
  uint32_t new_individuals = 0;
};

struct FlowOutcome {
  const FlowView* flow = nullptr;
  bool outbound = true;  // false: a pull from abroad (server is domestic)
  bool inspected = false;  // payload was scanned (else judged on metadata)
  std::string_view content_type, path;
  uint32_t records = 0;
  uint32_t gaps = 0;
  // Matches per detector, as the list names them (ruleset detectors of any version).
  std::vector<std::pair<std::string, uint32_t>> detectors;
  std::vector<VersionOutcome> versions;
};

class OutcomeSink {
 public:
  virtual ~OutcomeSink() = default;
  virtual void onOutcome(const FlowOutcome& outcome) = 0;
};

// The dataplane's wiring of one worker's policy. Pointers are not owned and must
// outlive the policy.
struct DataplaneWiring {
  uint32_t worker = 0;                                  // EvidenceSink worker index
  // false = tap: nothing is dropped; every verdict is reported (flow log, evidence)
  // as an alert (the engine must run with EngineConfig.inline_mode = false too).
  bool inline_mode = true;
  counters::CounterShard* shard = nullptr;              // required: this worker's shard
  const rules::eval::CounterSource* counts = nullptr;   // required: the CounterStore
  evidence_sink::EvidenceSink* sink = nullptr;          // optional: no records if null
  anomaly::FlowSampleRing* samples = nullptr;           // optional: this worker's ring
  uint8_t hash_key_id = 0;                              // written into FLOW records
};

// Per-worker resources for one snapshot, built on the control thread by
// RulesPolicy::prepare(). If the snapshot's detector database differs from the one the
// worker's policy last prepared, it holds a new FlowInspector (Hyperscan scratch and a
// stream pool for that database, allocated here, not on the worker).
class PreparedRuleset {
 public:
  const std::shared_ptr<const RulesetSnapshot>& snapshot() const { return snap_; }
  bool newDetectorDatabase() const { return inspector_ != nullptr; }

 private:
  friend class RulesPolicy;
  std::shared_ptr<const RulesetSnapshot> snap_;
  std::unique_ptr<FlowInspector> inspector_;  // null: same database as the previous one
  // Ruleset dictionary index -> dictionary index of the previous database (flows
  // still inspected under it after the switch).
  std::vector<int32_t> dict_of_previous_;
};

// A copy of a worker policy's counters (read from any thread: the worker keeps them
// in relaxed atomics).
struct DataplaneStats {
  // Flows whose enforced action reached this level (a flow counts once per level it
  // reaches: log -> alert -> block counts in all three), by PolicyAction.
  uint64_t decisions[5] = {0, 0, 0, 0, 0};
  uint64_t events = 0;           // EvidenceEvents submitted (accepted or lost)
  uint64_t events_lost = 0;      // the sink's ring was full
  uint64_t fail_closed = 0;      // flows blocked because evidence could not be written
  uint64_t adopts = 0;
  uint64_t orphaned_inspections = 0;  // flows whose detector database was retired twice
  uint64_t samples_lost = 0;
  uint64_t hashes_dropped = 0;  // no free hash block (see RulesPolicyConfig::hash_blocks)
  uint64_t feeds = 0;           // mid-flow hand-overs of identifiers to the CounterShard
};

class RulesPolicy final : public FlowPolicy, private KeyHashSink {
 public:
  // Dry run (see the file comment).
  static absl::StatusOr<std::unique_ptr<RulesPolicy>> create(
      const RulesPolicyConfig& config, std::vector<RulesVersion> versions,
      std::shared_ptr<const rules::detectors::DetectorSet> set, std::span<const uint8_t> hmac_key,
      OutcomeSink* sink);

  // Dataplane: one policy per worker (control thread; allocates the flow states, the
  // inspector pool and the first snapshot's resources).
  static absl::StatusOr<std::unique_ptr<RulesPolicy>> createDataplane(
      const RulesPolicyConfig& config, const DataplaneWiring& wiring,
      std::shared_ptr<const RulesetSnapshot> initial, std::span<const uint8_t> hmac_key);
  ~RulesPolicy() override;

  // Control thread, dataplane mode: resources for `next` on this worker. Call once per
  // snapshot and worker, in publication order, then hand the result to the worker.
  absl::StatusOr<std::unique_ptr<PreparedRuleset>> prepare(std::shared_ptr<const RulesetSnapshot> next);
  // Worker thread, between bursts: switches to `next` (no allocation, lock or wait).
  // Flows are re-evaluated under it at their next decision point. Returns the previous
  // version's resources: free them on the control thread after the RCU grace period
  // (they may hold a retired inspector whose flows this worker no longer touches).
  std::unique_ptr<PreparedRuleset> adopt(std::unique_ptr<PreparedRuleset> next) noexcept;
  // The version in force (worker thread, or any thread when the worker is quiescent).
  const RulesetSnapshot& current() const { return *current_->snap_; }

  PolicyAction onPacket(const FlowView& flow, const PacketView& pkt) noexcept override;
  void onFlowEnd(const FlowView& flow, FlowLogFields* log) noexcept override;
  // Dataplane: a flow is settled once blocked/held, or classified and no longer
  // inspected in its export direction (encrypted, budget spent, FIN; an import
  // direction is never inspected), and judged under the version in force;
  // epoch() = adopts so far.
  bool settled(const FlowView& flow, PolicyAction action) const noexcept override;
  uint64_t epoch() const noexcept override { return version_seq_; }

  const FlowInspector& inspector() const { return *inspector_; }
  uint64_t evaluations() const { return evaluations_; }
  DataplaneStats dataplaneStats() const;

 private:
  struct FlowState {
    uint32_t gen = 0;
    uint32_t slot = kNoInspectSlot;
    uint32_t epoch = 0;    // inspector epoch the slot belongs to (dataplane)
    bool active = false;
    bool classified = false;
    bool stopped = false;  // encrypted: inspection released, judged on metadata
    bool fail_closed = false;  // blocked because evidence could not be written
    bool recorded = false;     // an EvidenceEvent was submitted for this flow
    bool decided = false;      // rec_* hold the last decision
    // The export direction per version (dry run: up to two), derived before the flow's
    // first payload is scanned and again under each new version (side_seq is the
    // version_seq_ + 1 it was derived under; 0 = not yet).
    std::array<ExportSide, 2> side{};
    uint32_t side_seq = 0;
    std::array<PolicyAction, 2> action{};
    // Dataplane: the last decision (records are written when it changes) and the
    // bytes that had crossed before it.
    PolicyAction rec_action = PolicyAction::kAllow;
    int32_t rec_entry = -1, rec_filing = -1;
    uint32_t rec_version = 0;   // adopt counter when recorded
    uint64_t before_bytes[2] = {0, 0};   // [0] client->server, [1] server->client
    uint64_t last_bytes[2] = {0, 0};     // before the current packet
    // The flow's keyed hashes not yet handed to the counters (dry run: all of them),
    // per direction of the payload that carried them ([0] client->server); only
    // export directions' hashes are kept.
    uint32_t chain_head = kNoBlock, chain_tail = kNoBlock;
    uint32_t ids[2] = {0, 0};          // hashes kept in the chain
    uint32_t ids_dropped[2] = {0, 0};  // hashes that found no free block (never reach a sketch)
    uint32_t ids_total[2] = {0, 0};    // every hash kept for the flow, fed or not (records, log)
    // Dataplane, fed mid-flow: hashes handed to the shard that the store may not count
    // yet, in two buckets by feed sequence: [0] the oldest unacknowledged feed, [1] the
    // feeds after it (up to fed_seq[1]). A bucket drops out once
    // CounterShard::mergedSeq() reaches its sequence. Two buckets bound the overcount
    // to what the flow fed since its oldest unacknowledged feed (about one merge
    // interval's worth) instead of everything since the flow began.
    uint32_t fed_unmerged[2] = {0, 0};
    uint64_t fed_seq[2] = {0, 0};
    uint32_t fed_records = 0;
    uint64_t fed_bytes = 0;
  };
  static constexpr uint32_t kNoBlock = 0xFFFFFFFFu;
  struct HashBlock {
    uint32_t next = kNoBlock;
    uint16_t n = 0;
    uint8_t dir = 0;  // every hash of a block came from one direction
    std::array<uint64_t, 62> h{};
  };
  struct VersionRt {
    const rules::eval::Evaluator* ev = nullptr;
    std::string_view hash;
    std::span<const int32_t> detector_of;    // ruleset detector index -> DetectorId (or -1)
    std::span<const int32_t> dictionary_of;  // ruleset dictionary index -> DetectorSet index
    const rules::eval::CounterSource* counts = nullptr;
    IndividualCounter* individuals = nullptr;  // null: every hash of the flow is new
    const ExportSides* sides = nullptr;        // tenant attribution -> export direction
    // Dry run: storage the views above point into.
    RulesVersion v;
    std::vector<int32_t> det_store, dict_store;
    rules::eval::InMemoryCounters counters;
    InMemoryIndividuals inds;
    ExportSides sides_store;
  };
  struct Facts {
    rules::eval::FlowFacts f;
    std::array<uint32_t, 64> det{};
    std::array<uint32_t, 64> dict{};
    bool outbound = true;
    uint8_t mask = kExportBoth;  // the directions judged (export)
    bool sensitive = false;
    // Keyed hashes of the flow the store does not count yet: in the chain, or fed but
    // not yet merged (dataplane). Dry run: the chain (the whole flow).
    uint32_t distinct = 0;
    uint32_t dropped = 0;   // keyed hits not kept (no block, or the scanner's 16 were full)
    uint32_t total = 0;     // every identifier of the flow (records, flow log)
  };

  RulesPolicy() = default;
  rules::eval::Decision judge(VersionRt& v, const ExportSide& side, const FlowView& flow, const FlowState& st,
                              Facts* facts, uint32_t* new_individuals) const;
  void fillFacts(const VersionRt& v, const FlowView& flow, const FlowState& st, uint8_t mask, Facts* facts) const;
  // Derives the flow's export direction under each version, once per flow and version
  // in force, and tells the inspector which directions to scan.
  void deriveSides(const FlowView& flow, FlowState& st) noexcept;
  FlowState& state(const FlowView& flow) noexcept;
  // The flow's inspection slot under the inspector it started with (null: none).
  InspectSlot* slotOf(FlowState& st) noexcept;
  const InspectSlot* slotOf(const FlowState& st) const;
  FlowInspector* inspectorOf(const FlowState& st) const noexcept;
  void releaseSlot(FlowState& st) noexcept;
  void onFlowEndDryRun(const FlowView& flow, FlowState& st, FlowLogFields* log) noexcept;
  void onFlowEndDataplane(const FlowView& flow, FlowState& st, FlowLogFields* log) noexcept;
  // Dataplane: records a decision if it needs one; returns the action to enforce.
  PolicyAction decide(const FlowView& flow, FlowState& st, const rules::eval::Decision& d, const Facts& facts,
                      bool at_end, bool inline_mode) noexcept;
  void fillEvent(const FlowView& flow, const FlowState& st, const rules::eval::Decision& d, const Facts& facts,
                 PolicyAction a, bool at_end, evidence_sink::EvidenceEvent* ev) noexcept;
  void bindCurrent() noexcept;
  void onKeyHashes(uint32_t owner, uint8_t dir, std::span<const rules::detectors::KeyHash> hashes) noexcept override;
  void freeChain(FlowState& st) noexcept;
  void recycleChain(FlowState& st) noexcept;  // returns the blocks; ids = 0
  // Dataplane: fed hashes the store has not acknowledged merging (0 once it has).
  uint32_t unmergedFed(const FlowState& st) const noexcept;
  // Dataplane: hands the chain's hashes and the plain count deltas (records, bytes;
  // flows = 1 at the end) to the shard under each counter `d` reached; recycles the chain.
  void feedCounters(const FlowView& flow, FlowState& st, const rules::eval::Decision& d, const Facts& facts,
                    bool at_end) noexcept;
  absl::Status initBlocks();
  size_t formatReason(char* buf, size_t cap, const rules::eval::Decision& d) const noexcept;

  RulesPolicyConfig config_;
  std::vector<VersionRt> versions_;
  std::shared_ptr<const rules::detectors::DetectorSet> set_;
  std::unique_ptr<FlowInspector> inspector_;
  std::vector<FlowState> flows_;
  OutcomeSink* sink_ = nullptr;
  uint64_t evaluations_ = 0;
  std::array<char, 4096> logbuf_{};
  std::vector<HashBlock> blocks_;
  uint32_t free_block_ = kNoBlock;
  // Dataplane mode.
  bool dataplane_ = false;
  DataplaneWiring wiring_;
  std::vector<uint8_t> hmac_key_;
  std::array<std::array<uint64_t, 2>, 4> sip_key_{};  // flow/host identifier keys
  std::unique_ptr<PreparedRuleset> current_;
  std::unique_ptr<FlowInspector> draining_;  // the previous database's inspector
  std::span<const int32_t> draining_dict_of_;
  uint32_t epoch_ = 0;                       // inspector epoch (inspector_ is current)
  uint32_t version_seq_ = 0;                 // adopts so far
  std::shared_ptr<const RulesetSnapshot> last_prepared_;  // control thread only
  // Single writer (the worker), any reader: relaxed atomics, incremented by load+store.
  struct Counter {
    std::atomic<uint64_t> v{0};
    void operator++() noexcept { v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
  };
  struct {
    Counter decisions[5];
    Counter events, events_lost, fail_closed, adopts, orphaned_inspections, samples_lost, hashes_dropped, feeds;
  } dp_stats_;
};

}  // namespace xborder::dp
