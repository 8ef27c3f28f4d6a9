// C2SP tlog-checkpoint v1.0.0 bodies (https://c2sp.org/tlog-checkpoint):
//   <origin>\n<decimal tree size>\n<base64 root hash>\n
// We emit and accept no extension lines (EVIDENCE.md §1.4: "not auditable").
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/signed_note.h"

namespace xborder::evidence::crypto {

// Both profile hashes (SHA-256, SM3) give 32-byte roots.
inline constexpr size_t kCheckpointRootBytes = 32;

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  std::string root;  // raw hash bytes, kCheckpointRootBytes long
  bool operator==(const Checkpoint&) const = default;
};

// Formats the body. Fails if the origin is empty, not UTF-8, has control
// characters or leading/trailing spaces, or the root is not 32 bytes.
absl::StatusOr<std::string> formatCheckpoint(const Checkpoint& cp);

// Strict parse: exactly three '\n'-terminated lines, no CR, valid UTF-8, no
// leading or trailing spaces, size in decimal without sign or leading zeros and
// within uint64, root in canonical base64 of exactly 32 bytes, no extension lines.
// Errors are InvalidArgument "malformed checkpoint: <reason>".
absl::StatusOr<Checkpoint> parseCheckpoint(std::string_view body);

struct VerifiedCheckpoint {
  Checkpoint checkpoint;
  OpenedNote note;
};

// Opens a signed checkpoint note with `verifiers` (see openNote), parses its body
// strictly and, when `expected_origin` is non-empty, requires that origin.
absl::StatusOr<VerifiedCheckpoint> openCheckpoint(std::string_view note, std::span<const NoteVerifier> verifiers,
                                                  std::string_view expected_origin = {});

// Adapters for the store's injected callbacks (controlplane/evidence/store/store_log.h).
using CheckpointSignFn = std::function<absl::StatusOr<std::string>(std::string_view body)>;
using CheckpointOpenFn = std::function<absl::StatusOr<std::string>(std::string_view note)>;

// Returns a callback that parses `body` strictly, requires its origin to equal every
// signer's key name (EVIDENCE.md §7.3) and returns the signed note.
CheckpointSignFn makeCheckpointSigner(std::vector<NoteSigner> signers);

// Returns a callback that opens a checkpoint note with `verifiers` and `origin`
// (see openCheckpoint) and returns its body.
CheckpointOpenFn makeCheckpointOpener(std::vector<NoteVerifier> verifiers, std::string origin);

}  // namespace xborder::evidence::crypto
