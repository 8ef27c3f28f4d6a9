#include "controlplane/evidence/store/store_segment.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/store/store_crc32c.h"

namespace xborder::evidence {
namespace {

constexpr char kMagic[8] = {'E', 'V', 'S', 'E', 'G', '\0', '\0', '\x01'};

void putLe(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t getLe(std::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(s[at + i])} << (8 * i);
  return v;
}

}  // namespace

std::string encodeSegmentHeader(const SegmentHeader& header) {
  std::string h(kSegmentHeaderSize, '\0');
  std::memcpy(h.data(), kMagic, 8);
  putLe(h, 8, kSegmentVersion, 4);
  putLe(h, 12, static_cast<uint32_t>(header.hash), 4);
  putLe(h, 16, header.firstIndex, 8);
  std::memcpy(h.data() + 24, header.originSha256.data(), 32);
  putLe(h, 60, crc32c(h.data(), 60), 4);
  return h;
}

absl::StatusOr<SegmentHeader> decodeSegmentHeader(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderSize) {
    return absl::DataLossError(absl::StrCat("segment header truncated (", bytes.size(), " bytes)"));
  }
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) return absl::DataLossError("bad segment magic");
  if (getLe(bytes, 60, 4) != crc32c(bytes.data(), 60)) {
    return absl::DataLossError("segment header crc mismatch");
  }
  if (getLe(bytes, 8, 4) != kSegmentVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("unsupported segment version ", getLe(bytes, 8, 4)));
  }
  SegmentHeader h;
  const uint64_t alg = getLe(bytes, 12, 4);
  if (alg != static_cast<uint32_t>(HashAlg::kSha256) && alg != static_cast<uint32_t>(HashAlg::kSm3)) {
    return absl::DataLossError(absl::StrCat("unknown segment hash_alg ", alg));
  }
  for (size_t i = 56; i < 60; ++i) {
    if (bytes[i] != 0) return absl::DataLossError("segment header reserved bytes are not zero");
  }
  h.hash = static_cast<HashAlg>(alg);
  h.firstIndex = getLe(bytes, 16, 8);
  std::memcpy(h.originSha256.data(), bytes.data() + 24, 32);
  return h;
}

std::string segmentFileName(uint64_t firstIndex) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "seg-%020llu.log", static_cast<unsigned long long>(firstIndex));
  return buf;
}

std::optional<uint64_t> parseSegmentFileName(std::string_view name) {
  if (name.size() != 28 || name.substr(0, 4) != "seg-" || name.substr(24) != ".log") {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : name.substr(4, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (segmentFileName(v) != name) return std::nullopt;
  return v;
}

Hash originDigest(std::string_view origin) {
  static const Hasher kSha256(HashAlg::kSha256);
  return Hasher(kSha256).digest(origin);
}

}  // namespace xborder::evidence
