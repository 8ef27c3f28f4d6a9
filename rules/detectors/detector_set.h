// DetectorSet: the immutable, shared half of content detection. It compiles the enabled
// detectors' candidate patterns, their context keywords and the list's keyword
// dictionaries into ONE Hyperscan streaming database (built on the control path, or
// loaded from bytes the ruleset compiler embedded), shared read-only by all workers.
// The per-worker half is Scanner and the per-flow half FlowScanState
// (rules/detectors/detector_scanner.h).
//
//   DetectorSetSpec spec;
//   spec.detectors.push_back({.name = "cn_resident_id"});
//   spec.dictionaries.push_back({.name = "kw_waybill", .keywords = {"运单", "waybill"}});
//   auto set = DetectorSet::build(spec);            // StatusOr<shared_ptr<const DetectorSet>>
//   auto bytes = (*set)->serialize();               // embed in the ruleset artifact
//   auto again = DetectorSet::deserialize(spec, *bytes);  // dataplane: no compile
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/detectors/detector_registry.h"

struct hs_database;

namespace xborder::rules::detectors {

inline constexpr size_t kMaxDictionaries = 32;
inline constexpr uint32_t kMaxProximityChars = 4096;

struct DetectorSpec {
  std::string name;  // a detectorNames() entry, e.g. "cn_mobile"
  // Context keywords (UTF-8). Empty = the built-in defaults (defaultContextKeywords()).
  std::vector<std::string> contextKeywords;
  // A keyword within this many characters of a hit raises it (or gates it, see below).
  // Measured in bytes as chars * 3 (the UTF-8 width of a CJK character). 0 = default.
  uint32_t proximityChars = 0;
  // Count hits only with context nearby. Unset = the registry default (cn_mobile,
  // bank_card, hk_macau_permit and ICD-10 codes of medical_record_fields need context).
  std::optional<bool> requireContext;
};

struct DictionarySpec {
  std::string name;                   // e.g. "kw_clinical_trial"
  std::vector<std::string> keywords;  // UTF-8
  bool includeGbk = true;             // also match GBK encodings of non-ASCII keywords
};

struct DetectorSetSpec {
  std::vector<DetectorSpec> detectors;
  std::vector<DictionarySpec> dictionaries;
};

// What a Hyperscan match id means. Internal to the library but exposed for tests.
enum class PatternRole : uint8_t {
  kCandidate,     // validate the candidate bytes, then count
  kSignature,     // count without validation (file magic, record structure)
  kFieldKey,      // a medical field name used as a key: counts; its value is not recounted
  kContext,       // context keyword of `detector`
  kMarking,       // classified marking keyword: counts when near the stream head
  kDictionary,    // keyword of dictionary `dictionary`
  kMediaType,     // Content-Type image/* or video/*
  kCameraPath,    // request path naming a camera/face endpoint
};

enum class CandidateForm : uint8_t {
  kNone, kResidentId, kResidentId15, kMobile, kBankCard, kPassport, kMrz, kPermit, kUscc, kVin,
  kPlateUtf8, kPlateGbk, kGpsLatLon, kGpsLonLat, kGpsNmea, kEmail, kIcd10,
};

struct PatternMeta {
  PatternRole role;
  DetectorId detector;
  CandidateForm form;
  uint8_t dictionary;
};

struct DetectorConfig {
  bool enabled = false;
  bool requireContext = false;
  uint32_t proximityBytes = 0;
};

class DetectorSet {
 public:
  static absl::StatusOr<std::shared_ptr<const DetectorSet>> build(const DetectorSetSpec& spec);
  // The pattern table follows the spec's order, so the same list must give the same spec
  // order (the ruleset compiler sorts) for serialized bytes to load.
  // Loads a database serialize() produced from the same spec on a compatible Hyperscan
  // build; fails (so the caller can build() instead) if the spec or platform differs.
  static absl::StatusOr<std::shared_ptr<const DetectorSet>> deserialize(
      const DetectorSetSpec& spec, std::string_view bytes);

  // Stream state the same patterns would need without start-of-match tracking; only
  // for measuring what HS_FLAG_SOM_LEFTMOST costs (benchmark, docs).
  static absl::StatusOr<size_t> streamBytesWithoutSomForTest(const DetectorSetSpec& spec);

  ~DetectorSet();
  DetectorSet(const DetectorSet&) = delete;
  DetectorSet& operator=(const DetectorSet&) = delete;

  // "XBDS" magic, format version, SHA-256 of the pattern table, Hyperscan bytes.
  absl::StatusOr<std::string> serialize() const;

  const hs_database* database() const { return db_; }
  size_t streamStateBytes() const { return streamBytes_; }
  size_t databaseBytes() const { return dbBytes_; }
  size_t patternCount() const { return metas_.size(); }
  const PatternMeta& meta(unsigned id) const { return metas_[id]; }
  const DetectorConfig& config(DetectorId d) const { return configs_[static_cast<size_t>(d)]; }
  bool enabled(DetectorId d) const { return config(d).enabled; }
  size_t dictionaryCount() const { return dictionaryNames_.size(); }
  const std::string& dictionaryName(size_t i) const { return dictionaryNames_[i]; }
  std::optional<size_t> dictionaryIndex(std::string_view name) const;
  // Licence-plate province/suffix characters, UTF-8 and GBK, for normalization.
  const std::vector<std::string>& plateChars(bool gbk) const { return gbk ? gbkChars_ : utf8Chars_; }

 private:
  struct Compiled;
  DetectorSet() = default;
  static absl::StatusOr<std::unique_ptr<DetectorSet>> prepare(const DetectorSetSpec& spec,
                                                              Compiled& out);

  hs_database* db_ = nullptr;
  size_t streamBytes_ = 0;
  size_t dbBytes_ = 0;
  std::vector<PatternMeta> metas_;
  std::array<DetectorConfig, kDetectorCount> configs_{};
  std::vector<std::string> dictionaryNames_;
  std::vector<std::string> utf8Chars_, gbkChars_;
  std::array<uint8_t, 32> fingerprint_{};
};

// Converts UTF-8 to GBK with glibc iconv; nullopt if a character has no GBK form.
std::optional<std::string> utf8ToGbk(std::string_view utf8);

}  // namespace xborder::rules::detectors
