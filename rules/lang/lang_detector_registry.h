#pragma once
// Detector kinds the gateway can run. A list may only reference detectors whose kind is
// implemented, so a typo or a not-yet-built detector fails at load time, not silently
// at run time. Backed by rules/detectors' registry.

#include <string_view>
#include <vector>

namespace xborder::rules::lang {

bool isImplementedDetector(std::string_view kind);
const std::vector<std::string_view>& implementedDetectors();

}  // namespace xborder::rules::lang
