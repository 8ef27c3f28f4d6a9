// The GM (national-profile) envelope for payload snippets sealed to the regulator:
// SM2 public-key encryption of a random 32-byte key K, then SM4-CTR and HMAC-SM3
// (encrypt-then-MAC). OpenSSL 3.0 has no SM4-GCM (EVIDENCE.md §3.3), hence the MAC.
//
// Envelope bytes (all integers big-endian):
//   "EVGM" || 0x01 || u16 len(W) || W || IV[16] || C || T[32]
//   W  = SM2 encryption of K, OpenSSL's ASN.1 SM2Cipher (C1||C3||C2 order, GB/T 35276)
//   K_enc || K_mac = HKDF-SM3(K, info "ev-gm-envelope/v1 keys"), 16 bytes each
//   C  = SM4-CTR(K_enc, IV, plaintext)
//   T  = HMAC-SM3(K_mac, u64 len(aad) || aad || every envelope byte before T)
// The MAC covers the header, W and IV too, so no part can be swapped; the AAD is
// length-prefixed so it cannot slide into the header.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/keys.h"

namespace xborder::evidence::crypto {

// `recipient` must be an SM2 public key. `aad` is typically envelopeAad(...).
absl::StatusOr<std::string> gmSeal(const PublicKey& recipient, std::string_view aad, std::string_view plaintext);

// Errors: InvalidArgument for a malformed envelope or a non-SM2 key;
// Unauthenticated when the wrapped key does not decrypt or the MAC fails (any
// altered byte, another AAD, another recipient). Nothing is decrypted before the
// MAC has been checked (in constant time).
absl::StatusOr<std::string> gmOpen(const PrivateKey& recipient, std::string_view aad, std::string_view envelope);

}  // namespace xborder::evidence::crypto
