// The low-level SHA256_Init/Update/Final API is deprecated in OpenSSL 3.0 in favour of
// EVP_MD, but it is the only OpenSSL SHA-256 whose state is a plain struct that can be
// copied on the stack without allocating (EVP_MD_CTX_copy allocates). It runs the same
// block function as EVP. Must precede every OpenSSL include in this file.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "rules/detectors/detector_hmac.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

namespace xborder::rules::detectors {
namespace {

static_assert(sizeof(SHA256_CTX) <= 112, "KeyedHmac::ShaState too small for SHA256_CTX");
static_assert(alignof(SHA256_CTX) <= 8, "KeyedHmac::ShaState under-aligned for SHA256_CTX");
static_assert(SHA256_DIGEST_LENGTH == KeyedHmac::kDigestBytes);

constexpr size_t kBlock = SHA256_CBLOCK;  // 64 bytes

void absorbPad(const uint8_t (&key)[kBlock], uint8_t pad, void* state) {
  uint8_t block[kBlock];
  for (size_t i = 0; i < kBlock; ++i) block[i] = key[i] ^ pad;
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, block, kBlock);
  std::memcpy(state, &c, sizeof(c));
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(&c, sizeof(c));
}

}  // namespace

KeyedHmac::KeyedHmac(std::span<const uint8_t> key) noexcept {
  uint8_t k[kBlock] = {};
  if (key.size() > kBlock) {
    SHA256(key.data(), key.size(), k);  // RFC 2104: a long key is replaced by its hash
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  absorbPad(k, 0x36, inner_.bytes.data());
  absorbPad(k, 0x5c, outer_.bytes.data());
  OPENSSL_cleanse(k, sizeof(k));
}

KeyedHmac::~KeyedHmac() {
  OPENSSL_cleanse(inner_.bytes.data(), inner_.bytes.size());
  OPENSSL_cleanse(outer_.bytes.data(), outer_.bytes.size());
}

KeyedHmac::Digest KeyedHmac::mac(std::span<const uint8_t> a, std::span<const uint8_t> b) const noexcept {
  SHA256_CTX c;
  std::memcpy(&c, inner_.bytes.data(), sizeof(c));
  if (!a.empty()) SHA256_Update(&c, a.data(), a.size());
  if (!b.empty()) SHA256_Update(&c, b.data(), b.size());
  uint8_t innerDigest[SHA256_DIGEST_LENGTH];
  SHA256_Final(innerDigest, &c);  // also wipes c
  std::memcpy(&c, outer_.bytes.data(), sizeof(c));
  SHA256_Update(&c, innerDigest, sizeof(innerDigest));
  Digest out;
  SHA256_Final(out.data(), &c);
  return out;
}

}  // namespace xborder::rules::detectors
