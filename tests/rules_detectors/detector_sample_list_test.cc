// The sample negative list's `detectors:` and `dictionaries:` sections build into one
// DetectorSet, every detector it names is implemented, and its pi_class agrees with
// the registry.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

#include "rules/detectors/detector_scanner.h"
#include "rules/detectors/detector_set.h"
#include "tests/rules_detectors/detector_test_util.h"

namespace xborder::rules::detectors {
namespace {

std::filesystem::path sharedDir() {
  const char* env = std::getenv("XB_SHARED_DIR");
  return env ? std::filesystem::path(env) : std::filesystem::path("../shared");
}

TEST(SampleList, DetectorsAndDictionariesBuild) {
  auto path = sharedDir() / "spec" / "sample-negative-list.yaml";
  if (!std::filesystem::exists(sharedDir())) GTEST_SKIP() << "../shared is absent";
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    FAIL() << path << ": " << e.what();
  }
  DetectorSetSpec spec;
  for (const auto& kv : doc["detectors"]) {
    DetectorSpec d;
    d.name = kv.first.as<std::string>();
    auto id = detectorByName(d.name);
    ASSERT_TRUE(id.has_value()) << "sample detector not implemented: " << d.name;
    EXPECT_EQ(piClassName(detectorInfo(*id).piClass), kv.second["pi_class"].as<std::string>()) << d.name;
    if (kv.second["context_keywords"]) d.contextKeywords = kv.second["context_keywords"].as<std::vector<std::string>>();
    if (kv.second["proximity_chars"]) d.proximityChars = kv.second["proximity_chars"].as<uint32_t>();
    spec.detectors.push_back(std::move(d));
  }
  for (const auto& kv : doc["dictionaries"]) {
    spec.dictionaries.push_back({.name = kv.first.as<std::string>(), .keywords = kv.second.as<std::vector<std::string>>()});
  }
  EXPECT_EQ(spec.detectors.size(), 14u);
  EXPECT_EQ(spec.dictionaries.size(), 16u);
  // The sample's classified_marking validator names kw_state_secret_marks.
  for (auto& d : spec.detectors) {
    if (d.name == "classified_marking") {
      d.contextKeywords = doc["dictionaries"]["kw_state_secret_marks"].as<std::vector<std::string>>();
    }
  }
  auto set = DetectorSet::build(spec);
  ASSERT_TRUE(set.ok()) << set.status();
  auto sc = Scanner::create(*set, testing::testKey(), 20251123);
  ASSERT_TRUE(sc.ok());
  auto r = testing::scanSplit(**sc, "临床试验 受试者 subject_id=17; 身份证 11010519491231002X; 机密★");
  auto trial = (*set)->dictionaryIndex("kw_clinical_trial");
  ASSERT_TRUE(trial.has_value());
  EXPECT_EQ(r.dictionaryHits[*trial], 3u);
  EXPECT_EQ(r.hitsOf(DetectorId::kCnResidentId), 1u);
  EXPECT_EQ(r.hitsOf(DetectorId::kClassifiedMarking), 1u);
}

}  // namespace
}  // namespace xborder::rules::detectors
