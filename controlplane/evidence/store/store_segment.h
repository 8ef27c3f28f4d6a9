#pragma once
// Segment files (EVIDENCE.md §4.2): seg-<first index, 20 digits>.log, a 64-byte header,
// then frames; preallocated with fallocate so appends never change metadata and the
// zero-filled tail ends a scan.
//
// Header: "EVSEG\0\0\x01" | u32le version=1 | u32le hash_alg (1 SHA-256, 2 SM3) |
//         u64le first_index | origin_sha256[32] | 4 reserved zero bytes | u32le crc32c(header[0..60])
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"

namespace xborder::evidence {

inline constexpr size_t kSegmentHeaderSize = 64;
inline constexpr uint32_t kSegmentVersion = 1;

struct SegmentHeader {
  HashAlg hash = HashAlg::kSha256;
  uint64_t firstIndex = 0;
  Hash originSha256{};
};

std::string encodeSegmentHeader(const SegmentHeader& header);
absl::StatusOr<SegmentHeader> decodeSegmentHeader(std::string_view bytes);

std::string segmentFileName(uint64_t firstIndex);                    // seg-00000000000000000000.log
std::optional<uint64_t> parseSegmentFileName(std::string_view name);  // strict

Hash originDigest(std::string_view origin);  // SHA-256, whatever the log's tree hash

}  // namespace xborder::evidence
