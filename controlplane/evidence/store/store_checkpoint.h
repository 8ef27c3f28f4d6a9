#pragma once
// The checkpoint body (C2SP tlog-checkpoint v1.0.0: origin, size, base64 root, no
// extension lines) and the log's state files. Signing and signature checks are
// injected (evidence/crypto does them); the store only needs the body, so it has its
// own small strict parser here and stays free of key handling.
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"

namespace xborder::evidence {

struct CheckpointBody {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};

std::string formatCheckpointBody(const CheckpointBody& body);
// Strict: exactly three "\n"-terminated lines, no CR, decimal size without leading
// zeros, canonical base64 of exactly 32 bytes.
absl::StatusOr<CheckpointBody> parseCheckpointBody(std::string_view body);
// The body of a signed note: everything up to and including the line before the first
// blank line (signatures follow the blank line). Does not check signatures.
absl::StatusOr<std::string_view> noteBody(std::string_view note);

std::string base64Encode(std::string_view bytes);
absl::StatusOr<std::string> base64DecodeStrict(std::string_view text);  // canonical only

// The LOG file: identity of a log directory, written once at creation.
//   xborder-evidence-log 1
//   origin <origin>
//   hash sha256|sm3
//   segment_bytes <n>
struct LogMeta {
  std::string origin;
  HashAlg hash = HashAlg::kSha256;
  uint64_t segmentBytes = 0;
};
std::string formatLogMeta(const LogMeta& meta);
absl::StatusOr<LogMeta> parseLogMeta(std::string_view text);

// Origins are one line of printable ASCII without spaces or '+' (signed-note key names).
bool validOrigin(std::string_view origin);

}  // namespace xborder::evidence
