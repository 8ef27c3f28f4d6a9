#include "controlplane/evidence/bundle/bundle_frames.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace xborder::evidence::bundle {
namespace {

// The store (evcore) owns the on-disk CRC; this copy exists because the verifier must
// link without the store. Same polynomial, checked against the RFC 3720 vectors in
// tests/evidence_bundle.
constexpr std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = makeTable();

uint32_t crcTable(uint32_t crc, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crcSse42(uint32_t crc, const unsigned char* p, size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
#endif

void putLe32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // little-endian hosts only (x86-64, arm64), as the store
  out.append(b, 4);
}

uint32_t getLe32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

uint32_t frameCrc(uint32_t len, std::string_view payload) {
  char lenb[4];
  std::memcpy(lenb, &len, 4);
  uint32_t c = frameCrc32c(0, std::string_view(lenb, 4));
  return frameCrc32c(c, payload);
}

}  // namespace

uint32_t frameCrc32c(uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  crc = ~crc;
#if defined(__x86_64__)
  static const bool kHasSse42 = __builtin_cpu_supports("sse4.2");
  crc = kHasSse42 ? crcSse42(crc, p, data.size()) : crcTable(crc, p, data.size());
#else
  crc = crcTable(crc, p, data.size());
#endif
  return ~crc;
}

void appendFrame(std::string& out, std::string_view payload) {
  uint32_t len = static_cast<uint32_t>(payload.size());
  putLe32(out, len);
  putLe32(out, frameCrc(len, payload));
  out.append(payload);
  out.append((8 - payload.size() % 8) % 8, '\0');
}

absl::StatusOr<std::vector<std::string_view>> parseFrameFile(std::string_view file) {
  std::vector<std::string_view> out;
  size_t off = 0;
  while (off < file.size()) {
    const uint64_t pos = out.size();
    if (file.size() - off < 8) {
      return absl::DataLossError(absl::StrCat("record ", pos, " at byte ", off, ": torn frame header"));
    }
    uint32_t len = getLe32(file.data() + off), crc = getLe32(file.data() + off + 4);
    if (len == 0 || len > kMaxFramePayload) {
      return absl::DataLossError(absl::StrCat("record ", pos, " at byte ", off, ": bad frame length ", len));
    }
    size_t padded = (static_cast<size_t>(len) + 7) & ~size_t{7};
    if (file.size() - off - 8 < padded) {
      return absl::DataLossError(absl::StrCat("record ", pos, " at byte ", off, ": frame truncated"));
    }
    std::string_view payload = file.substr(off + 8, len);
    if (frameCrc(len, payload) != crc) {
      return absl::DataLossError(
          absl::StrCat("record ", pos, " at byte ", off, ": CRC32C mismatch (transport corruption)"));
    }
    for (size_t i = off + 8 + len; i < off + 8 + padded; ++i) {
      if (file[i] != '\0') {
        return absl::DataLossError(absl::StrCat("record ", pos, " at byte ", off, ": non-zero frame padding"));
      }
    }
    out.push_back(payload);
    off += 8 + padded;
  }
  return out;
}

}  // namespace xborder::evidence::bundle
