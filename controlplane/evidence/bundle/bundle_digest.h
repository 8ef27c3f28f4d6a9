#pragma once
// File digests for the manifest (SHA-256 and SM3, both always) and the small encoders
// the bundle formats share.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xborder::evidence::bundle {

// Debian's Abseil has its own string_view type; absl::StrCat needs this bridge.
inline absl::string_view av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string sha256Bytes(std::string_view data);  // 32 raw bytes
std::string sm3Bytes(std::string_view data);     // 32 raw bytes
std::string toHex(std::string_view raw);
std::string toBase64(std::string_view raw);
// Strict: rejects whitespace, missing padding and any non-canonical encoding (a string
// must re-encode to itself), so one value has exactly one spelling in evidence files.
absl::StatusOr<std::string> fromBase64Strict(std::string_view text);

}  // namespace xborder::evidence::bundle
