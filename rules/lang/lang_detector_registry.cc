#include "rules/lang/lang_detector_registry.h"

#include <algorithm>

namespace xborder::rules::lang {

const std::vector<std::string_view>& implementedDetectors() {
  // The detector names of shared/spec/sample-negative-list.yaml, which the detectors
  // library (rules/detectors) implements under the same names.
  static const std::vector<std::string_view> kKinds = {
      "bank_card",       "classified_marking", "cn_mobile",   "cn_passport",
      "cn_plate",        "cn_resident_id",     "email",       "face_image_or_template",
      "genomic_sequence", "gps_coordinate",    "hk_macau_permit", "medical_record_fields",
      "uscc",            "vin",
  };
  return kKinds;
}

bool isImplementedDetector(std::string_view kind) {
  const auto& k = implementedDetectors();
  return std::find(k.begin(), k.end(), kind) != k.end();
}

}  // namespace xborder::rules::lang
