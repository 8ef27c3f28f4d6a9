#pragma once
// Text formats for proofs inside a bundle.
//
//  * C2SP tlog-proof (EVIDENCE.md §7.5), one per cited record:
//      c2sp.org/tlog-proof@v1\n[extra <b64>\n]index <N>\n<b64 hash>\n...\n\n<checkpoint note>
//  * Consistency proof between two checkpoints (lines as in tlog-witness add-checkpoint):
//      old <A>\nnew <B>\n<b64 hash>\n...
//  * Compact range of [0, N) for incremental exports (left-to-right perfect subtrees):
//      size <N>\n<b64 hash>\n...
// Parsers are strict: '\n' only, decimal without leading zeros, canonical base64 of
// exactly 32 bytes, bounded line counts.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace xborder::evidence::bundle {

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";
inline constexpr size_t kMaxProofHashes = 64;

struct TlogProof {
  uint64_t index = 0;
  std::string extra;                 // raw bytes; empty when absent
  std::vector<std::string> hashes;   // raw 32-byte hashes, leaf side first
  std::string checkpoint;            // full signed note text
};
std::string formatTlogProof(const TlogProof& p);
absl::StatusOr<TlogProof> parseTlogProof(std::string_view text);

struct ConsistencyFile {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<std::string> hashes;
};
std::string formatConsistency(const ConsistencyFile& c);
absl::StatusOr<ConsistencyFile> parseConsistency(std::string_view text);

struct CompactFile {
  uint64_t size = 0;
  std::vector<std::string> hashes;
};
std::string formatCompact(const CompactFile& c);
absl::StatusOr<CompactFile> parseCompact(std::string_view text);

// Decimal without sign, leading zeros or overflow ("0" itself is allowed).
absl::StatusOr<uint64_t> parseDecimal(std::string_view s);

}  // namespace xborder::evidence::bundle
