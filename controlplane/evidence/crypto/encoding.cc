#include "controlplane/evidence/crypto/encoding.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "controlplane/evidence/crypto/str_util.h"

namespace xborder::evidence::crypto {

std::string base64Encode(std::string_view bytes) { return absl::Base64Escape(internal::toAbsl(bytes)); }

std::optional<std::string> base64DecodeStrict(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  if (!absl::Base64Unescape(internal::toAbsl(text), &out)) return std::nullopt;
  // absl accepts unpadded input, whitespace and non-zero pad bits; re-encoding and
  // comparing rejects all of those at once.
  if (absl::Base64Escape(out) != text) return std::nullopt;
  return out;
}

std::string hexEncode(std::string_view bytes) { return absl::BytesToHexString(internal::toAbsl(bytes)); }

std::optional<std::string> hexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  for (char c : text) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) return std::nullopt;
  }
  return absl::HexStringToBytes(internal::toAbsl(text));
}

bool isValidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(len) > n) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(text[i + static_cast<size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

}  // namespace xborder::evidence::crypto
