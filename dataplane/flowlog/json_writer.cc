#include "dataplane/flowlog/json_writer.h"

#include <cstring>

namespace xborder::dp {
namespace {
// Room kept free so finish() can always close every open container.
constexpr uint32_t kReserve = JsonWriter::kMaxDepth + 1;
}  // namespace

void JsonWriter::reset() noexcept {
  len_ = 0;
  depth_ = 0;
  first_[0] = true;
  after_key_ = false;
  truncated_ = false;
}

void JsonWriter::put(char c) noexcept {
  if (len_ + 1 + kReserve > kCapacity) {
    truncated_ = true;
    return;
  }
  buf_[len_++] = c;
}

void JsonWriter::put(std::string_view s) noexcept {
  if (len_ + s.size() + kReserve > kCapacity) {
    truncated_ = true;
    return;
  }
  std::memcpy(buf_ + len_, s.data(), s.size());
  len_ += static_cast<uint32_t>(s.size());
}

void JsonWriter::separator() noexcept {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_[depth_]) {
    put(',');
  }
  first_[depth_] = false;
}

void JsonWriter::open(char c) noexcept {
  if (truncated_ || depth_ >= kMaxDepth) {
    truncated_ = true;
    return;
  }
  separator();
  put(c);
  ++depth_;
  first_[depth_] = true;
  closer_[depth_] = c == '{' ? '}' : ']';
}

void JsonWriter::close(char c) noexcept {
  if (depth_ == 0 || closer_[depth_] != c) {
    return;  // unbalanced call: ignore rather than corrupt the document
  }
  if (len_ < kCapacity) {
    buf_[len_++] = c;  // always fits: kReserve keeps room for closers
  }
  --depth_;
}

void JsonWriter::key(std::string_view k) noexcept {
  if (truncated_) {
    return;
  }
  separator();
  escaped(k);
  put(':');
  after_key_ = true;
}

void JsonWriter::string(std::string_view v) noexcept {
  if (truncated_) {
    return;
  }
  separator();
  escaped(v);
}

void JsonWriter::number(uint64_t v) noexcept {
  if (truncated_) {
    return;
  }
  separator();
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  char out[24];
  for (int i = 0; i < n; ++i) {
    out[i] = tmp[n - 1 - i];
  }
  put(std::string_view(out, n));
}

void JsonWriter::signedNumber(int64_t v) noexcept {
  if (v >= 0) {
    number(static_cast<uint64_t>(v));
    return;
  }
  if (truncated_) {
    return;
  }
  separator();
  put('-');
  after_key_ = true;  // the digits follow without a separator
  number(static_cast<uint64_t>(-(v + 1)) + 1);
}

void JsonWriter::boolean(bool v) noexcept {
  if (truncated_) {
    return;
  }
  separator();
  put(v ? std::string_view("true") : std::string_view("false"));
}

void JsonWriter::raw(std::string_view v) noexcept {
  if (truncated_) {
    return;
  }
  separator();
  put(v);
}

void JsonWriter::escaped(std::string_view s) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  // Worst case 6 output bytes per input byte.
  if (len_ + 2 + s.size() * 6 + kReserve > kCapacity) {
    truncated_ = true;
    return;
  }
  char* o = buf_ + len_;
  *o++ = '"';
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    // Fast path: copy a run of printable ASCII that needs no escaping.
    size_t run = i;
    while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' && p[run] != '\\') {
      ++run;
    }
    if (run > i) {
      std::memcpy(o, p + i, run - i);
      o += run - i;
      i = run;
      continue;
    }
    const uint8_t c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '"': *o++ = '\\', *o++ = '"'; break;
        case '\\': *o++ = '\\', *o++ = '\\'; break;
        case '\n': *o++ = '\\', *o++ = 'n'; break;
        case '\r': *o++ = '\\', *o++ = 'r'; break;
        case '\t': *o++ = '\\', *o++ = 't'; break;
        default:
          if (c < 0x20 || c == 0x7F) {
            *o++ = '\\', *o++ = 'u', *o++ = '0', *o++ = '0';
            *o++ = kHex[c >> 4], *o++ = kHex[c & 15];
          } else {
            *o++ = static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Multi-byte UTF-8: copy a well-formed sequence as is.
    uint32_t need = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3, cp = c & 0x07;
    }
    bool ok = need != 0 && i + need < n;
    if (ok) {
      for (uint32_t k = 1; k <= need; ++k) {
        if (i + k >= n || (p[i + k] & 0xC0) != 0x80) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (p[i + k] & 0x3F);
      }
    }
    // Reject overlongs, surrogates and values past U+10FFFF.
    if (ok && ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
               (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      for (uint32_t k = 0; k <= need; ++k) {
        *o++ = static_cast<char>(p[i + k]);
      }
      i += need + 1;
    } else {
      *o++ = '\\', *o++ = 'u', *o++ = '0', *o++ = '0';
      *o++ = kHex[c >> 4], *o++ = kHex[c & 15];
      ++i;
    }
  }
  *o++ = '"';
  len_ = static_cast<uint32_t>(o - buf_);
}

std::string_view JsonWriter::finish() noexcept {
  while (depth_ > 0) {
    close(closer_[depth_]);
  }
  return std::string_view(buf_, len_);
}

}  // namespace xborder::dp
