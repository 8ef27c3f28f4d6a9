// HPKE base mode (RFC 9180) with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, for
// sealing payload snippets to the regulator. OpenSSL 3.0 has no HPKE API
// (OSSL_HPKE_* arrived in 3.2), so this composes X25519, HKDF and AES-GCM from EVP.
// Our envelopes use AES-256-GCM; AES-128-GCM exists for the RFC's A.1.1 vector.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/keys.h"

namespace xborder::evidence::crypto {

enum class HpkeAead : uint16_t { kAes128Gcm = 0x0001, kAes256Gcm = 0x0002 };

// The encryption context of one HPKE session (RFC 9180 §5.2). Each seal/open
// uses and advances the sequence number.
class HpkeContext {
 public:
  absl::StatusOr<std::string> seal(std::string_view aad, std::string_view plaintext);  // ct || 16-byte tag
  absl::StatusOr<std::string> open(std::string_view aad, std::string_view ciphertext);
  // Secret export (RFC 9180 §5.3).
  absl::StatusOr<std::string> exportSecret(std::string_view exporter_context, size_t length) const;

  const std::string& key() const { return key_; }
  const std::string& baseNonce() const { return base_nonce_; }
  const std::string& exporterSecret() const { return exporter_secret_; }

 private:
  friend class HpkeKeySchedule;
  HpkeContext(HpkeAead aead, std::string key, std::string base_nonce, std::string exporter_secret)
      : aead_(aead), key_(std::move(key)), base_nonce_(std::move(base_nonce)),
        exporter_secret_(std::move(exporter_secret)) {}
  std::string nextNonce();

  HpkeAead aead_;
  std::string key_;
  std::string base_nonce_;
  std::string exporter_secret_;
  uint64_t seq_ = 0;
  bool exhausted_ = false;
};

struct HpkeSenderSetup {
  std::string enc;  // the encapsulated key (ephemeral X25519 public key), 32 bytes
  HpkeContext context;
};

// SetupBaseS. `ephemeral` pins the ephemeral key (known-answer tests only);
// normally it is null and a fresh X25519 key is generated.
absl::StatusOr<HpkeSenderSetup> hpkeSetupBaseS(const PublicKey& recipient, std::string_view info, HpkeAead aead,
                                               const PrivateKey* ephemeral = nullptr);
// SetupBaseR.
absl::StatusOr<HpkeContext> hpkeSetupBaseR(std::string_view enc, const PrivateKey& recipient, std::string_view info,
                                           HpkeAead aead);

struct HpkeSealed {
  std::string enc;
  std::string ciphertext;
};

// Single-shot seal/open (RFC 9180 §6.1). The recipient key is X25519.
absl::StatusOr<HpkeSealed> hpkeSealBase(const PublicKey& recipient, std::string_view info, std::string_view aad,
                                        std::string_view plaintext, HpkeAead aead = HpkeAead::kAes256Gcm);
// Fails with Unauthenticated when the ciphertext, enc, info or aad was altered.
absl::StatusOr<std::string> hpkeOpenBase(const PrivateKey& recipient, std::string_view enc, std::string_view info,
                                         std::string_view aad, std::string_view ciphertext,
                                         HpkeAead aead = HpkeAead::kAes256Gcm);

// The AAD that binds an envelope to its place in the log (EVIDENCE.md §3.3):
// "ev-envelope/v1" || u16 len || origin || u64 leaf_index || u16 len || field ||
// u32 recipient_key_id, all big-endian. Length prefixes keep fields unambiguous.
std::string envelopeAad(std::string_view origin, uint64_t leaf_index, std::string_view field,
                        uint32_t recipient_key_id);

}  // namespace xborder::evidence::crypto

namespace xborder::evidence::crypto {

// A self-describing HPKE envelope for storage beside the log (AES-256-GCM suite):
//   "EVHP" || 0x01 || enc[32] || ciphertext
absl::StatusOr<std::string> hpkeSealEnvelope(const PublicKey& recipient, std::string_view aad,
                                             std::string_view plaintext);
absl::StatusOr<std::string> hpkeOpenEnvelope(const PrivateKey& recipient, std::string_view aad,
                                             std::string_view envelope);

}  // namespace xborder::evidence::crypto
