// RulesetSnapshot: one compiled negative-list version, immutable once loaded, shared by
// every worker (docs/enforcement.md "Ruleset versions"). Loading (parse, validate,
// build the Evaluator, load or compile the detector database) happens on the control
// thread and may allocate; a snapshot that fails to load returns why and changes
// nothing. Workers read a snapshot only through RulesPolicy (see PreparedRuleset in
// verdict_rules.h), never free it: the app frees an old snapshot after the RCU grace
// period.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/verdict/verdict_export_side.h"
#include "rules/detectors/detector_set.h"
#include "rules/eval/eval_ruleset.h"

namespace xborder::dp {

class RulesetSnapshot {
 public:
  // What xborder-rulec writes (-o FILE). The detector database embedded in the file is
  // loaded as is; if it is absent or was built for another Hyperscan/CPU it is compiled
  // from the ruleset's detector spec. `previous` (optional): when its detector spec is
  // identical, its DetectorSet is shared (no compile; flows keep their streams).
  static absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> loadFile(
      const std::string& path, const RulesetSnapshot* previous = nullptr);
  static absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> fromBytes(
      std::string_view compiled, const RulesetSnapshot* previous = nullptr);
  // A ruleset already in memory (tests, the dry run's --list). Hashes its
  // deterministic serialisation.
  static absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> fromRuleset(
      rules::pb::Ruleset ruleset, const RulesetSnapshot* previous = nullptr);

  const rules::eval::Evaluator& evaluator() const { return *evaluator_; }
  const std::shared_ptr<const rules::eval::Evaluator>& evaluatorPtr() const { return evaluator_; }
  const std::shared_ptr<const rules::detectors::DetectorSet>& detectors() const { return detectors_; }
  const rules::pb::Ruleset& ruleset() const { return evaluator_->ruleset(); }

  // SHA-256 of the compiled bytes: the version hash every decision cites.
  const std::array<uint8_t, 32>& sha256() const { return sha_; }
  const std::string& sha256Hex() const { return shaHex_; }
  // SHA-256 over the detector and dictionary definitions: equal digests mean the same
  // detector database, so a flow's Hyperscan stream state stays valid across versions.
  const std::array<uint8_t, 32>& detectorDigest() const { return detectorDigest_; }
  bool sameDetectors(const RulesetSnapshot& other) const { return detectorDigest_ == other.detectorDigest_; }

  // Names by index, for records (shared with the evidence writer, which outlives the
  // snapshot): tenants by legal-entity index (USCC), entries (then BASELINE-* names,
  // see entryIndexOf), filings.
  const std::shared_ptr<const evidence_sink::RulesetNames>& names() const { return names_; }
  // The index an EvidenceEvent carries for a decision's reported entry: the entry
  // index, or entries_size() + k for the national-baseline classes; -1 for none.
  int32_t entryIndexOf(const rules::eval::Decision& d) const;

  // Thresholds the CounterStore watches (every tier boundary of counted entries, the
  // national baseline tiers, filing caps) and the list's warning ratios
  // (counting_rules.alert_ratios; 0.5 / 0.8 / 1.0 when the list gives none).
  const std::vector<counters::ThresholdSpec>& thresholds() const { return thresholds_; }
  const std::vector<double>& alertRatios() const { return alertRatios_; }

  // Ruleset detector / dictionary index -> DetectorId / DetectorSet dictionary index
  // (-1: not in the database).
  std::span<const int32_t> detectorOf() const { return detectorOf_; }
  std::span<const int32_t> dictionaryOf() const { return dictionaryOf_; }
  // Which direction of a flow is export under this version (tenant attribution).
  const ExportSides& exportSides() const { return exportSides_; }

 private:
  RulesetSnapshot() = default;
  static absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> build(rules::pb::Ruleset ruleset,
                                                                       std::string sha_hex,
                                                                       const RulesetSnapshot* previous);

  std::shared_ptr<const rules::eval::Evaluator> evaluator_;
  std::shared_ptr<const rules::detectors::DetectorSet> detectors_;
  std::array<uint8_t, 32> sha_{};
  std::string shaHex_;
  std::array<uint8_t, 32> detectorDigest_{};
  std::shared_ptr<const evidence_sink::RulesetNames> names_;
  std::vector<counters::ThresholdSpec> thresholds_;
  std::vector<double> alertRatios_;
  std::vector<int32_t> detectorOf_, dictionaryOf_;
  ExportSides exportSides_;
};

}  // namespace xborder::dp
