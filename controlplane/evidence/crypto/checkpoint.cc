#include "controlplane/evidence/crypto/checkpoint.h"

#include "controlplane/evidence/crypto/str_util.h"
#include "controlplane/evidence/crypto/encoding.h"

namespace xborder::evidence::crypto {
namespace {

absl::Status malformed(std::string_view why) {
  return absl::InvalidArgumentError(internal::cat("malformed checkpoint: ", why));
}

absl::Status checkOrigin(std::string_view origin) {
  if (origin.empty()) return malformed("empty origin line");
  if (!isValidUtf8(origin)) return malformed("origin is not valid UTF-8");
  for (char c : origin) {
    if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f) return malformed("control character in origin");
  }
  if (origin.front() == ' ' || origin.back() == ' ') return malformed("leading or trailing space in origin");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> formatCheckpoint(const Checkpoint& cp) {
  if (auto st = checkOrigin(cp.origin); !st.ok()) return st;
  if (cp.root.size() != kCheckpointRootBytes) {
    return absl::InvalidArgumentError(internal::cat("checkpoint root must be 32 bytes, got ", cp.root.size()));
  }
  return internal::cat(cp.origin, "\n", cp.size, "\n", base64Encode(cp.root), "\n");
}

absl::StatusOr<Checkpoint> parseCheckpoint(std::string_view body) {
  if (body.find('\r') != std::string_view::npos) return malformed("carriage return (CRLF line endings?)");
  if (body.empty() || body.back() != '\n') return malformed("body does not end in a newline");
  std::string_view lines[3];
  std::string_view rest = body;
  for (int i = 0; i < 3; ++i) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return malformed(internal::cat("only ", i, " lines, want 3"));
    lines[i] = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
  }
  if (!rest.empty()) return malformed("extension lines after the root line are not accepted");
  Checkpoint cp;
  if (auto st = checkOrigin(lines[0]); !st.ok()) return st;
  cp.origin = std::string(lines[0]);

  std::string_view size = lines[1];
  if (size.empty()) return malformed("empty size line");
  for (char c : size) {
    if (c < '0' || c > '9') return malformed(internal::cat("size line \"", size, "\" is not a decimal number"));
  }
  if (size.size() > 1 && size[0] == '0') return malformed(internal::cat("size line \"", size, "\" has leading zeros"));
  uint64_t v = 0;
  for (char c : size) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return malformed("size does not fit in 64 bits");
    v = v * 10 + d;
  }
  cp.size = v;

  auto root = base64DecodeStrict(lines[2]);
  if (!root) return malformed("root line is not canonical base64");
  if (root->size() != kCheckpointRootBytes) {
    return malformed(internal::cat("root is ", root->size(), " bytes, want ", kCheckpointRootBytes));
  }
  cp.root = *std::move(root);
  return cp;
}

absl::StatusOr<VerifiedCheckpoint> openCheckpoint(std::string_view note, std::span<const NoteVerifier> verifiers,
                                                  std::string_view expected_origin) {
  auto opened = openNote(note, verifiers);
  if (!opened.ok()) return opened.status();
  auto cp = parseCheckpoint(opened->text);
  if (!cp.ok()) return cp.status();
  if (!expected_origin.empty() && cp->origin != expected_origin) {
    return absl::InvalidArgumentError(
        internal::cat("checkpoint origin \"", cp->origin, "\" is not the expected \"", expected_origin, "\""));
  }
  return VerifiedCheckpoint{*std::move(cp), *std::move(opened)};
}

CheckpointSignFn makeCheckpointSigner(std::vector<NoteSigner> signers) {
  return [signers = std::move(signers)](std::string_view body) -> absl::StatusOr<std::string> {
    auto cp = parseCheckpoint(body);
    if (!cp.ok()) return cp.status();
    for (const NoteSigner& s : signers) {
      if (s.name() != cp->origin) {
        return absl::InvalidArgumentError(internal::cat("signer key name \"", s.name(),
                                                        "\" differs from the checkpoint origin \"", cp->origin, "\""));
      }
    }
    return signNote(body, signers);
  };
}

CheckpointOpenFn makeCheckpointOpener(std::vector<NoteVerifier> verifiers, std::string origin) {
  return [verifiers = std::move(verifiers), origin = std::move(origin)](
             std::string_view note) -> absl::StatusOr<std::string> {
    auto v = openCheckpoint(note, verifiers, origin);
    if (!v.ok()) return v.status();
    return std::move(v->note.text);
  };
}

}  // namespace xborder::evidence::crypto
