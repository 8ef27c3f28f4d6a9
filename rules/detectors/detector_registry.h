// The detectors this library implements, their personal-information classes and
// whether each class is "sensitive" (GB/T 45574-2025, DOMAIN.md §3.2).
// The list loader validates a list's `detectors:` names against detectorNames().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace xborder::rules::detectors {

// Stable indices: per-flow counters are arrays indexed by DetectorId.
enum class DetectorId : uint8_t {
  kCnResidentId = 0,
  kCnMobile,
  kBankCard,
  kCnPassport,
  kHkMacauPermit,
  kUscc,
  kVin,
  kCnPlate,
  kGpsCoordinate,
  kEmail,
  kMedicalRecordFields,
  kGenomicSequence,
  kFaceImageOrTemplate,
  kClassifiedMarking,
};
inline constexpr size_t kDetectorCount = 14;

// GB/T 45574-2025 categories plus "identifier" (non-sensitive person key) and "none".
enum class PiClass : uint8_t {
  kNone = 0,
  kIdentifier,
  kFinancialAccount,
  kPreciseLocation,
  kTrajectory,
  kHealthMedical,
  kBiometric,
  kMinorUnder14,
  kSpecificIdentity,
  kReligiousBelief,
};
inline constexpr size_t kPiClassCount = 10;

struct DetectorInfo {
  DetectorId id;
  std::string_view name;       // the negative list's name, e.g. "cn_resident_id"
  PiClass piClass;
  bool keyed;                  // produces a keyed hash of a normalized identifier
  bool requireContextDefault;  // counted only with a context keyword nearby
  uint32_t proximityCharsDefault;
};

// Every implemented detector, in DetectorId order.
std::span<const DetectorInfo> detectorRegistry();
// Names only, in DetectorId order (what the list loader validates against).
std::span<const std::string_view> detectorNames();
std::optional<DetectorId> detectorByName(std::string_view name);
const DetectorInfo& detectorInfo(DetectorId id);

std::string_view piClassName(PiClass c);
std::optional<PiClass> piClassByName(std::string_view name);
// DOMAIN.md §3.2: financial account, precise location/trajectory, health, biometrics,
// minors, specific identity and religion are sensitive; identifiers alone are not.
bool isSensitive(PiClass c);

// Built-in context keywords (used when a spec gives none). The sample list's keywords
// are the same for the detectors it annotates; the others come from DOMAIN.md §4.
std::span<const std::string_view> defaultContextKeywords(DetectorId id);

}  // namespace xborder::rules::detectors
