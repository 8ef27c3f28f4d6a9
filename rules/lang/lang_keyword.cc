#include "rules/lang/lang_keyword.h"

#include <iconv.h>

#include <cstdint>
#include <vector>

namespace xborder::rules::lang {

bool isAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool isValidUtf8(std::string_view s) { return firstInvalidUtf8(s) == std::string_view::npos; }

size_t firstInvalidUtf8(std::string_view s) {
  // Strict (what protobuf's string fields accept): no overlong forms, no surrogates,
  // nothing above U+10FFFF.
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c >> 5) == 0x6) {
      n = 2, cp = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      n = 3, cp = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      n = 4, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::optional<std::string> utf8ToGbk(std::string_view utf8) {
  iconv_t cd = iconv_open("GBK", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string in(utf8);
  std::vector<char> out(in.size() * 2 + 8);
  char* ip = in.data();
  size_t il = in.size();
  char* op = out.data();
  size_t ol = out.size();
  size_t rc = iconv(cd, &ip, &il, &op, &ol);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1) || il != 0) return std::nullopt;
  return std::string(out.data(), out.size() - ol);
}

bool needsWordBoundary(std::string_view k) {
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  return !k.empty() && word(k.front()) && word(k.back());
}

}  // namespace xborder::rules::lang
