// C2SP signed-note v1.0.0 (https://c2sp.org/signed-note): signing, strict parsing
// and verification, with Ed25519 (type 0x01) and our SM2-with-SM3 extension
// (type 0xff || "cn.evidence/sm2-sm3/v1", EVIDENCE.md §7.4).
//
// A note is: text ending in '\n', a blank line, then 1..16 lines
//   "— <key name> <base64(4-byte big-endian key ID || signature)>\n".
// Key ID = SHA-256(name || '\n' || type bytes || public key)[:4].
// Verifier keys (vkeys) are "name+hex8(key ID)+base64(type bytes || public key)".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/keys.h"

namespace xborder::evidence::crypto {

inline constexpr uint8_t kNoteSigEd25519 = 0x01;
inline constexpr uint8_t kNoteSigCosignatureV1 = 0x04;  // c2sp.org/tlog-cosignature v1.0.1
inline constexpr uint8_t kNoteSigExtension = 0xff;
inline constexpr std::string_view kSm2NoteSigName = "cn.evidence/sm2-sm3/v1";
// The signature-count limit: signed-note requires accepting at least 16; we accept
// exactly that many and reject more as malformed (bounds verification work).
inline constexpr size_t kMaxNoteSignatures = 16;

// The signature-type bytes for a key type: {0x01} for Ed25519,
// {0xff, "cn.evidence/sm2-sm3/v1"} for SM2. X25519 cannot sign.
absl::StatusOr<std::string> noteSigType(KeyType type);

// SHA-256(name || '\n' || type_and_pubkey)[:4], big-endian.
uint32_t noteKeyId(std::string_view name, std::string_view type_and_pubkey);

// True if `name` is a valid key name: non-empty UTF-8, no Unicode spaces, no '+',
// no control characters.
bool isValidNoteKeyName(std::string_view name);

// Verifies signatures of one key. Copyable; shares the underlying EVP_PKEY.
// A cosignature verifier (witness, type 0x04) checks tlog-cosignature/v1 lines:
// signature = u64 big-endian timestamp || Ed25519 over
// "cosignature/v1\ntime <timestamp>\n" || note text.
class NoteVerifier {
 public:
  // Parses a vkey strictly (canonical base64, exactly 8 lower-case hex digits,
  // known type, correct key length, key ID matching the key).
  static absl::StatusOr<NoteVerifier> fromVkey(std::string_view vkey);
  static absl::StatusOr<NoteVerifier> create(std::string name, const PublicKey& key);
  // A witness cosignature verifier for an Ed25519 key (type 0x04).
  static absl::StatusOr<NoteVerifier> createCosignature(std::string name, const PublicKey& key);

  const std::string& name() const { return name_; }
  uint32_t keyId() const { return key_id_; }
  KeyType keyType() const { return key_.type(); }
  bool isCosignature() const { return cosignature_; }
  const PublicKey& publicKey() const { return key_; }
  std::string vkey() const;  // the canonical vkey text
  // Verifies `signature` (the bytes after the 4-byte key ID) over `text`.
  // Ed25519: 64 bytes. SM2: 64 bytes r||s (big-endian), SM3 with ID 1234567812345678.
  bool verify(std::string_view text, std::string_view signature) const;

 private:
  NoteVerifier(std::string name, uint32_t id, PublicKey key, std::string type_and_key, bool cosignature)
      : name_(std::move(name)), key_id_(id), key_(std::move(key)), type_and_key_(std::move(type_and_key)),
        cosignature_(cosignature) {}
  static absl::StatusOr<NoteVerifier> build(std::string name, const PublicKey& key, bool cosignature);
  std::string name_;
  uint32_t key_id_;
  PublicKey key_;
  std::string type_and_key_;
  bool cosignature_ = false;
};

// Signs notes with one key (Ed25519 or SM2).
class NoteSigner {
 public:
  static absl::StatusOr<NoteSigner> create(std::string name, PrivateKey key);
  // A witness cosigner (Ed25519, type 0x04). `clock` returns the Unix time to sign
  // (default: the system clock); tests pin it.
  static absl::StatusOr<NoteSigner> createCosigner(std::string name, PrivateKey key,
                                                   std::function<uint64_t()> clock = nullptr);

  const std::string& name() const { return verifier_.name(); }
  uint32_t keyId() const { return verifier_.keyId(); }
  const NoteVerifier& verifier() const { return verifier_; }
  // The raw signature (without key ID). Ed25519 is deterministic; SM2 is randomized.
  absl::StatusOr<std::string> sign(std::string_view text) const;

 private:
  NoteSigner(PrivateKey key, NoteVerifier v, std::function<uint64_t()> clock)
      : key_(std::move(key)), verifier_(std::move(v)), clock_(std::move(clock)) {}
  PrivateKey key_;
  NoteVerifier verifier_;
  std::function<uint64_t()> clock_;  // set for cosigners only
};

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // decoded bytes after the key ID
  // For verified witness cosignatures: the timestamp the witness signed.
  std::optional<uint64_t> cosignature_time;
  bool operator==(const NoteSignature&) const = default;
};

// The timestamp of a tlog-cosignature/v1 signature (first 8 bytes, big-endian), or
// nullopt when `signature` is not 72 bytes. Does not verify anything.
std::optional<uint64_t> cosignatureTimestamp(std::string_view signature);

struct ParsedNote {
  std::string text;  // includes the final '\n', excludes the blank separator line
  std::vector<NoteSignature> signatures;
};

// Strict syntax check and split, without verifying anything. Errors are
// InvalidArgument "malformed note: <reason>".
absl::StatusOr<ParsedNote> parseNote(std::string_view note);

// Signs `text` (which must be valid note text: UTF-8, no control characters but
// '\n', ending in '\n') with every signer, in order. Returns the full note.
absl::StatusOr<std::string> signNote(std::string_view text, std::span<const NoteSigner> signers);

struct OpenedNote {
  std::string text;
  std::vector<NoteSignature> verified;    // by a key in `verifiers`, in note order
  std::vector<NoteSignature> unverified;  // from keys not in `verifiers` (ignored)
};

// Parses strictly and verifies, following signed-note: signatures from unknown keys
// (name and ID not both matching) are ignored; a signature from a known key that
// fails rejects the whole note; at least one must verify. Errors:
//   InvalidArgument  "malformed note: ..." (syntax, >16 signatures, duplicate lines)
//   FailedPrecondition "ambiguous key NAME+ID" (two verifiers share name and ID)
//   Unauthenticated  "invalid signature for key NAME+ID" / "note has no verifiable signatures"
absl::StatusOr<OpenedNote> openNote(std::string_view note, std::span<const NoteVerifier> verifiers);

}  // namespace xborder::evidence::crypto
