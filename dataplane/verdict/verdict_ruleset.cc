#include "dataplane/verdict/verdict_ruleset.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "rules/compile/compile_detectors.h"
#include "rules/compile/compile_ruleset.h"
#include "rules/detectors/detector_registry.h"

namespace xborder::dp {
namespace {

using rules::eval::Basis;
using rules::eval::CounterKey;

std::array<uint8_t, 32> sha256Of(std::string_view bytes) {
  std::array<uint8_t, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data());
  return out;
}

absl::StatusOr<std::array<uint8_t, 32>> fromHex(std::string_view hex) {
  std::array<uint8_t, 32> out{};
  if (hex.size() != 64) return absl::InternalError("bad ruleset hash");
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    const int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return absl::InternalError("bad ruleset hash");
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

// Tier lower bounds above one: the counts at which the judgement changes (a first
// tier starting at 0 or 1 is where counting starts, not a threshold).
std::vector<uint64_t> boundariesOf(const google::protobuf::RepeatedPtrField<rules::pb::Tier>& tiers) {
  std::vector<uint64_t> b;
  for (const auto& t : tiers) {
    if (t.min() > 1) b.push_back(t.min());
  }
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> RulesetSnapshot::loadFile(const std::string& path,
                                                                                const RulesetSnapshot* previous) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return absl::DataLossError(absl::StrCat("read error on ", path));
  auto snap = fromBytes(ss.str(), previous);
  if (!snap.ok()) return absl::Status(snap.status().code(), absl::StrCat(path, ": ", snap.status().message()));
  return snap;
}

absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> RulesetSnapshot::fromBytes(std::string_view compiled,
                                                                                 const RulesetSnapshot* previous) {
  rules::pb::Ruleset rs;
  if (compiled.empty() || !rs.ParseFromArray(compiled.data(), static_cast<int>(compiled.size()))) {
    return absl::InvalidArgumentError("not a compiled ruleset (xborder-rulec -o output)");
  }
  return build(std::move(rs), rules::compile::sha256Hex(compiled), previous);
}

absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> RulesetSnapshot::fromRuleset(rules::pb::Ruleset ruleset,
                                                                                    const RulesetSnapshot* previous) {
  std::string hex = rules::compile::sha256Hex(rules::compile::serializeDeterministic(ruleset));
  return build(std::move(ruleset), std::move(hex), previous);
}

absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> RulesetSnapshot::build(rules::pb::Ruleset ruleset,
                                                                             std::string sha_hex,
                                                                             const RulesetSnapshot* previous) {
  std::shared_ptr<RulesetSnapshot> s(new RulesetSnapshot());
  auto sha = fromHex(sha_hex);
  if (!sha.ok()) return sha.status();
  s->sha_ = *sha;
  s->shaHex_ = std::move(sha_hex);
  if (ruleset.detectors_size() > 64 || ruleset.dictionaries_size() > 64) {
    return absl::InvalidArgumentError("more than 64 detectors or dictionaries");
  }
  // The detector database's identity: the definitions only (not the Hyperscan bytes,
  // which differ by platform for the same patterns).
  {
    rules::pb::Ruleset defs;
    *defs.mutable_detectors() = ruleset.detectors();
    *defs.mutable_dictionaries() = ruleset.dictionaries();
    s->detectorDigest_ = sha256Of(rules::compile::serializeDeterministic(defs));
  }
  const rules::detectors::DetectorSetSpec spec = rules::compile::detectorSpecOf(ruleset);
  if (previous != nullptr && previous->detectorDigest_ == s->detectorDigest_) {
    s->detectors_ = previous->detectors_;
  } else {
    absl::StatusOr<std::shared_ptr<const rules::detectors::DetectorSet>> set = absl::InternalError("none");
    if (!ruleset.hyperscan_db().empty()) set = rules::detectors::DetectorSet::deserialize(spec, ruleset.hyperscan_db());
    if (!set.ok()) set = rules::detectors::DetectorSet::build(spec);
    if (!set.ok()) return absl::Status(set.status().code(), absl::StrCat("detectors: ", set.status().message()));
    s->detectors_ = std::move(*set);
  }
  // The Evaluator keeps its own copy; the database bytes are not needed any more.
  ruleset.clear_hyperscan_db();
  auto ev = rules::eval::Evaluator::create(std::move(ruleset));
  if (!ev.ok()) return ev.status();
  s->evaluator_ = std::move(*ev);
  const rules::pb::Ruleset& rs = s->evaluator_->ruleset();

  for (const auto& d : rs.detectors()) {
    const auto id = rules::detectors::detectorByName(d.name());
    s->detectorOf_.push_back(id && s->detectors_->enabled(*id) ? static_cast<int32_t>(*id) : -1);
  }
  for (const auto& d : rs.dictionaries()) {
    const auto idx = s->detectors_->dictionaryIndex(d.name());
    s->dictionaryOf_.push_back(idx ? static_cast<int32_t>(*idx) : -1);
  }

  auto sides = ExportSides::build(rs);
  if (!sides.ok()) return sides.status();
  s->exportSides_ = std::move(*sides);

  auto names = std::make_shared<evidence_sink::RulesetNames>();
  names->sha256 = s->sha_;
  for (const auto& le : rs.legal_entities()) names->tenants.push_back(le);
  for (const auto& e : rs.entries()) names->entries.push_back(e.id());
  for (Basis b : {Basis::kBaselineCiioPi, Basis::kBaselineCiioImportant, Basis::kBaselineImportant,
                  Basis::kBaselineNonSensitive, Basis::kBaselineSensitive}) {
    rules::eval::Decision d;
    d.basis = b;
    names->entries.push_back(s->evaluator_->reportedEntry(d));
  }
  for (const auto& f : rs.filings()) names->filings.push_back(f.id());
  s->names_ = std::move(names);

  for (int i = 0; i < rs.entries_size(); ++i) {
    const auto& e = rs.entries(i);
    if (!e.counted()) continue;
    auto b = boundariesOf(e.tiers());
    if (!b.empty()) s->thresholds_.push_back({CounterKey::Kind::kEntry, static_cast<uint32_t>(i), std::move(b)});
  }
  if (auto b = boundariesOf(rs.baseline().non_sensitive()); !b.empty()) {
    s->thresholds_.push_back({CounterKey::Kind::kBaselineNonSensitive, 0, std::move(b)});
  }
  if (auto b = boundariesOf(rs.baseline().sensitive()); !b.empty()) {
    s->thresholds_.push_back({CounterKey::Kind::kBaselineSensitive, 0, std::move(b)});
  }
  for (int i = 0; i < rs.filings_size(); ++i) {
    if (rs.filings(i).cap_individuals_per_year() != 0) {
      s->thresholds_.push_back(
          {CounterKey::Kind::kFiling, static_cast<uint32_t>(i), {rs.filings(i).cap_individuals_per_year()}});
    }
  }
  for (double r : rs.policy().alert_ratios()) s->alertRatios_.push_back(r);
  if (s->alertRatios_.empty()) s->alertRatios_ = {0.5, 0.8, 1.0};
  return std::shared_ptr<const RulesetSnapshot>(std::move(s));
}

int32_t RulesetSnapshot::entryIndexOf(const rules::eval::Decision& d) const {
  if (d.basis == Basis::kEntry) return d.entry;
  if (d.basis >= Basis::kBaselineCiioPi) {
    return ruleset().entries_size() + (static_cast<int32_t>(d.basis) - static_cast<int32_t>(Basis::kBaselineCiioPi));
  }
  return -1;
}

}  // namespace xborder::dp
