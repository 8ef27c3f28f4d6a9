// Precision and recall per detector on the deterministic labelled corpus, and the
// streaming-correctness check (every sample split at every byte boundary).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "rules/detectors/detector_scanner.h"
#include "tests/rules_detectors/detector_corpus.h"
#include "tests/rules_detectors/detector_test_util.h"

namespace xborder::rules::detectors {
namespace {

using testing::generateCorpus;
using testing::scanSplit;

constexpr uint64_t kSeed = 20251123;
constexpr uint32_t kToday = 20251123;

std::unique_ptr<Scanner> makeScanner() {
  auto set = DetectorSet::build(testing::fullSpec());
  EXPECT_TRUE(set.ok()) << set.status();
  if (!set.ok()) return nullptr;
  auto sc = Scanner::create(*set, testing::testKey(), kToday);
  EXPECT_TRUE(sc.ok());
  return sc.ok() ? std::move(*sc) : nullptr;
}

TEST(DetectorCorpus, IsDeterministic) {
  auto a = generateCorpus(kSeed, 3), b = generateCorpus(kSeed, 3), c = generateCorpus(kSeed + 1, 3);
  ASSERT_EQ(a.size(), b.size());
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].bytes, b[i].bytes) << a[i].kind;
    differs = differs || a[i].bytes != c[i].bytes;
  }
  EXPECT_TRUE(differs);
}

TEST(DetectorAccuracy, PrecisionAndRecallPerDetector) {
  auto scanner = makeScanner();
  ASSERT_NE(scanner, nullptr);
  // XB_DETECTOR_CORPUS_PER_KIND raises the sample count for a longer manual run.
  int perKind = 150;
  if (const char* env = std::getenv("XB_DETECTOR_CORPUS_PER_KIND")) perKind = std::max(1, std::atoi(env));
  auto corpus = generateCorpus(kSeed, perKind);
  std::array<int, kDetectorCount> tp{}, fp{}, fn{};
  std::set<std::string> fpKinds, fnKinds;
  for (const auto& s : corpus) {
    auto r = scanSplit(*scanner, s.bytes);
    for (size_t d = 0; d < kDetectorCount; ++d) {
      bool got = r.hits[d] > 0;
      if (got && s.expect[d]) ++tp[d];
      if (got && !s.expect[d]) {
        ++fp[d];
        fpKinds.insert(std::string(detectorRegistry()[d].name) + " on " + s.kind);
      }
      if (!got && s.expect[d]) {
        ++fn[d];
        fnKinds.insert(std::string(detectorRegistry()[d].name) + " on " + s.kind);
      }
    }
  }
  // Detectors with a checksum or a strong format must reach 99% / 99%.
  const std::set<DetectorId> strong = {DetectorId::kCnResidentId, DetectorId::kCnMobile, DetectorId::kBankCard,
                                       DetectorId::kUscc,         DetectorId::kVin,      DetectorId::kEmail,
                                       DetectorId::kCnPassport,   DetectorId::kGpsCoordinate,
                                       DetectorId::kGenomicSequence, DetectorId::kMedicalRecordFields,
                                       DetectorId::kCnPlate};
  std::printf("%zu samples\n%-24s %6s %6s %6s %10s %8s\n", corpus.size(), "detector", "tp", "fp", "fn", "precision",
              "recall");
  for (size_t d = 0; d < kDetectorCount; ++d) {
    double precision = tp[d] + fp[d] ? 1.0 * tp[d] / (tp[d] + fp[d]) : 1.0;
    double recall = tp[d] + fn[d] ? 1.0 * tp[d] / (tp[d] + fn[d]) : 1.0;
    const auto& info = detectorRegistry()[d];
    std::printf("%-24s %6d %6d %6d %9.2f%% %7.2f%%\n", std::string(info.name).c_str(), tp[d], fp[d], fn[d],
                100 * precision, 100 * recall);
    if (strong.count(info.id)) {
      EXPECT_GT(tp[d], 0) << info.name;
      EXPECT_GE(precision, 0.99) << info.name;
      EXPECT_GE(recall, 0.99) << info.name;
    }
  }
  for (const auto& k : fpKinds) std::printf("false positive: %s\n", k.c_str());
  for (const auto& k : fnKinds) std::printf("false negative: %s\n", k.c_str());
}

TEST(DetectorStreaming, EverySplitPointGivesTheSameHits) {
  auto scanner = makeScanner();
  ASSERT_NE(scanner, nullptr);
  auto corpus = generateCorpus(kSeed + 7, 4);
  size_t splits = 0;
  for (const auto& s : corpus) {
    auto whole = scanSplit(*scanner, s.bytes);
    for (size_t cut = 1; cut < s.bytes.size(); ++cut) {
      auto r = scanSplit(*scanner, s.bytes, {cut});
      ++splits;
      ASSERT_EQ(r.hits, whole.hits) << s.kind << " cut at " << cut;
      ASSERT_EQ(r.dictionaryHits, whole.dictionaryHits) << s.kind << " cut at " << cut;
      ASSERT_EQ(r.keyHashCount, whole.keyHashCount) << s.kind << " cut at " << cut;
      for (size_t i = 0; i < r.keyHashCount; ++i) ASSERT_EQ(r.keyHashes[i].hash, whole.keyHashes[i].hash);
    }
    // And in tiny segments (three bytes at a time).
    std::vector<size_t> cuts;
    for (size_t c = 3; c < s.bytes.size(); c += 3) cuts.push_back(c);
    auto r3 = scanSplit(*scanner, s.bytes, cuts);
    ASSERT_EQ(r3.hits, whole.hits) << s.kind << " in 3-byte segments";
  }
  std::printf("%zu samples, %zu two-segment splits\n", corpus.size(), splits);
}

}  // namespace
}  // namespace xborder::rules::detectors
