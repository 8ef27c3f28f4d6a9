#include "rules/lang/lang_detector_registry.h"

#include <algorithm>

#include "rules/detectors/detector_registry.h"

namespace xborder::rules::lang {

const std::vector<std::string_view>& implementedDetectors() {
  // The detectors library's registry is the single source of truth.
  static const std::vector<std::string_view> kKinds = [] {
    auto names = detectors::detectorNames();
    std::vector<std::string_view> v(names.begin(), names.end());
    std::sort(v.begin(), v.end());
    return v;
  }();
  return kKinds;
}

bool isImplementedDetector(std::string_view kind) { return detectors::detectorByName(kind).has_value(); }

}  // namespace xborder::rules::lang
