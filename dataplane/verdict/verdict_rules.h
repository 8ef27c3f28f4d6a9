// RulesPolicy: the FlowPolicy backed by a compiled negative list (rules/eval) and the
// content detectors (dataplane/inspect). At each decision point (first packet,
// classification complete, an inspection step that changed counts, flow end) it builds
// the flow's facts and evaluates them; block/hold decisions are sticky for the flow.
// At flow end it applies the counter increments, records the flow's individuals and
// hands a FlowOutcome to an OutcomeSink (the dry run's report; the dataplane's
// evidence path in issue 5).
//
// It can evaluate several ruleset versions over the same facts (the dry run's
// --against): version 0 drives the action, the others are reported only. Each version
// keeps its own counters and individuals.
//
// Tenant and direction (docs/negative-list.md): the end whose address a tenant's
// source CIDRs (and VLAN) claim is domestic. If the client is domestic the flow is an
// outbound transfer; if only the server is, it is a pull from abroad.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/inspect/inspect_flow.h"
#include "dataplane/verdict/verdict_policy.h"
#include "rules/eval/eval_ruleset.h"

namespace xborder::dp {

// Distinct individuals per (legal entity, year), by keyed hash. The dry run counts
// exactly in memory; issue 5 swaps in a persisted HyperLogLog behind this interface.
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

class RulesPolicy final : public FlowPolicy {
 public:
  static absl::StatusOr<std::unique_ptr<RulesPolicy>> create(
      const RulesPolicyConfig& config, std::vector<RulesVersion> versions,
      std::shared_ptr<const rules::detectors::DetectorSet> set, std::span<const uint8_t> hmac_key,
      OutcomeSink* sink);

  PolicyAction onPacket(const FlowView& flow, const PacketView& pkt) noexcept override;
  void onFlowEnd(const FlowView& flow, FlowLogFields* log) noexcept override;

  const FlowInspector& inspector() const { return *inspector_; }
  uint64_t evaluations() const { return evaluations_; }

 private:
  struct FlowState {
    uint32_t gen = 0;
    uint32_t slot = kNoInspectSlot;
    bool active = false;
    bool classified = false;
    bool stopped = false;  // encrypted: inspection released, judged on metadata
    std::array<PolicyAction, 2> action{};
  };
  struct VersionRt {
    RulesVersion v;
    std::vector<int32_t> detector_of;    // ruleset detector index -> DetectorId (or -1)
    std::vector<int32_t> dictionary_of;  // ruleset dictionary index -> DetectorSet index
    rules::eval::InMemoryCounters counters;
    InMemoryIndividuals individuals;
  };
  struct Facts {
    rules::eval::FlowFacts f;
    std::array<uint32_t, 64> det{};
    std::array<uint32_t, 64> dict{};
    bool outbound = true;
  };

  RulesPolicy() = default;
  rules::eval::Decision judge(VersionRt& v, const FlowView& flow, const FlowState& st,
                              Facts* facts, uint32_t* new_individuals) const;
  void fillFacts(const VersionRt& v, const FlowView& flow, const FlowState& st, Facts* facts) const;
  FlowState& state(const FlowView& flow) noexcept;

  RulesPolicyConfig config_;
  std::vector<VersionRt> versions_;
  std::shared_ptr<const rules::detectors::DetectorSet> set_;
  std::unique_ptr<FlowInspector> inspector_;
  std::vector<FlowState> flows_;
  OutcomeSink* sink_ = nullptr;
  uint64_t evaluations_ = 0;
  std::array<char, 4096> logbuf_{};
};

}  // namespace xborder::dp
