#pragma once
// The human report of a verification (EVIDENCE.md §5.3): report.zh.html (Chinese,
// the regulator's working language) and report.en.html, both self-contained HTML.

#include <string>

#include "absl/status/status.h"
#include "controlplane/evidence/verify/verify_result.pb.h"

namespace xborder::evidence::verify {

enum class Lang { kZh, kEn };

std::string renderReport(const v1::Result& r, Lang lang);

// Writes DIR/report.zh.html and DIR/report.en.html (creating DIR).
absl::Status writeReports(const v1::Result& r, const std::string& dir);

}  // namespace xborder::evidence::verify
