// HMAC-SHA256 (RFC 2104) for the detectors' keyed identifier hashes, with the key's
// inner and outer SHA-256 states computed once, at construction.
//
// Why not EVP_MAC: in OpenSSL 3.0, re-initialising an EVP_MAC HMAC context for each
// message copies its digest contexts, i.e. allocates (2 CRYPTO_malloc per message),
// and the detectors hash every validated identifier on the worker's packet path.
// Here a message costs two struct copies and SHA-256 update/final on the stack: no
// allocation, no lock, no syscall. The SHA-256 itself is OpenSSL's (same block
// function, SHA-NI where the CPU has it); the output is bit-identical to EVP_MAC's
// HMAC-SHA256 (tests/rules_detectors/detector_hmac_test.cc).
//
// Threads: mac() is const and touches only the stack: one instance may be shared.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace xborder::rules::detectors {

class KeyedHmac {
 public:
  static constexpr size_t kDigestBytes = 32;
  using Digest = std::array<uint8_t, kDigestBytes>;

  // Any key length: keys longer than the 64-byte block are hashed first (RFC 2104).
  explicit KeyedHmac(std::span<const uint8_t> key) noexcept;
  KeyedHmac(const KeyedHmac&) = default;
  KeyedHmac& operator=(const KeyedHmac&) = default;
  ~KeyedHmac();  // wipes the key states

  // HMAC-SHA256(key, a || b).
  Digest mac(std::span<const uint8_t> a, std::span<const uint8_t> b = {}) const noexcept;

 private:
  // An OpenSSL SHA256_CTX, opaque here so that this header does not pull in OpenSSL's
  // deprecated low-level SHA API (the .cc checks the size and alignment).
  struct alignas(8) ShaState {
    std::array<uint8_t, 112> bytes;
  };
  ShaState inner_{};  // SHA-256 state after absorbing key ^ ipad
  ShaState outer_{};  // SHA-256 state after absorbing key ^ opad
};

}  // namespace xborder::rules::detectors
