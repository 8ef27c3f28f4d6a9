// Deterministic labelled corpus for detector accuracy: true identifiers with valid
// checksums embedded in realistic carriers (JSON, CSV, form posts, Chinese and English
// prose, GBK text), near-misses (wrong checksum, bad date, wrong prefix, missing
// context) and benign text or binary (random bytes, deflate/gzip streams, PNG/JPEG-like
// files, order numbers, timestamps, hashes, product keys).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rules/detectors/detector_registry.h"

namespace xborder::rules::detectors::testing {

struct LabelledSample {
  std::string kind;                        // e.g. "cn_resident_id/json", "nearmiss/bank_card"
  std::string bytes;
  std::array<bool, kDetectorCount> expect{};  // detectors that must fire on this sample
};

// Same seed, same corpus (std::mt19937_64 only; no time, no locale).
std::vector<LabelledSample> generateCorpus(uint64_t seed, int perKind);

}  // namespace xborder::rules::detectors::testing
