#include "controlplane/evidence/crypto/gm_envelope.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "controlplane/evidence/crypto/openssl_util.h"
#include "controlplane/evidence/crypto/str_util.h"

namespace xborder::evidence::crypto {
namespace {

using internal::opensslError;
using internal::u8;

constexpr std::string_view kMagic = "EVGM\x01";
constexpr size_t kIv = 16;
constexpr size_t kTag = 32;
constexpr std::string_view kKdfInfo = "ev-gm-envelope/v1 keys";

struct Keys {
  std::string enc, mac;
};

absl::StatusOr<Keys> deriveKeys(std::string_view k) {
  std::unique_ptr<EVP_KDF, internal::OsslFree<EVP_KDF_free>> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  std::unique_ptr<EVP_KDF_CTX, internal::OsslFree<EVP_KDF_CTX_free>> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return opensslError(absl::StatusCode::kInternal, "HKDF-SM3 fetch");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SM3"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(k.data()), k.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kKdfInfo.data()), kKdfInfo.size()),
      OSSL_PARAM_construct_end()};
  unsigned char out[32];
  if (EVP_KDF_derive(ctx.get(), out, sizeof(out), params) <= 0) {
    return opensslError(absl::StatusCode::kInternal, "HKDF-SM3 derive");
  }
  Keys keys{std::string(reinterpret_cast<char*>(out), 16), std::string(reinterpret_cast<char*>(out) + 16, 16)};
  OPENSSL_cleanse(out, sizeof(out));
  return keys;
}

absl::StatusOr<std::string> hmacSm3(std::string_view key, std::string_view aad, std::string_view body) {
  std::string msg(8, '\0');
  for (int i = 0; i < 8; ++i) msg[static_cast<size_t>(i)] = static_cast<char>(uint64_t{aad.size()} >> (56 - 8 * i));
  msg += internal::cat(aad, body);
  unsigned char out[kTag];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SM3", nullptr, key.data(), key.size(), u8(msg), msg.size(), out,
                sizeof(out), &len) == nullptr ||
      len != kTag) {
    return opensslError(absl::StatusCode::kInternal, "HMAC-SM3");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

// SM4-CTR is its own inverse.
absl::StatusOr<std::string> sm4Ctr(std::string_view key, std::string_view iv, std::string_view in) {
  internal::CipherCtxPtr c(EVP_CIPHER_CTX_new());
  std::string out(in.size(), '\0');
  int len = 0, fin = 0;
  if (!c || EVP_EncryptInit_ex2(c.get(), EVP_sm4_ctr(), u8(key), u8(iv), nullptr) != 1 ||
      EVP_EncryptUpdate(c.get(), reinterpret_cast<unsigned char*>(out.data()), &len, u8(in),
                        static_cast<int>(in.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &fin) != 1) {
    return opensslError(absl::StatusCode::kInternal, "SM4-CTR");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> gmSeal(const PublicKey& recipient, std::string_view aad, std::string_view plaintext) {
  if (recipient.type() != KeyType::kSm2) return absl::InvalidArgumentError("GM envelope recipient must be SM2");
  unsigned char k[32], iv[kIv];
  if (RAND_bytes(k, sizeof(k)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1) {
    return opensslError(absl::StatusCode::kInternal, "RAND_bytes");
  }
  const std::string_view kview(reinterpret_cast<char*>(k), sizeof(k));
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(recipient.get(), nullptr));
  size_t wlen = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 || EVP_PKEY_encrypt(ctx.get(), nullptr, &wlen, k, sizeof(k)) <= 0) {
    OPENSSL_cleanse(k, sizeof(k));
    return opensslError(absl::StatusCode::kInternal, "SM2 encrypt (size)");
  }
  std::string w(wlen, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(w.data()), &wlen, k, sizeof(k)) <= 0) {
    OPENSSL_cleanse(k, sizeof(k));
    return opensslError(absl::StatusCode::kInternal, "SM2 encrypt");
  }
  w.resize(wlen);
  auto keys = deriveKeys(kview);
  OPENSSL_cleanse(k, sizeof(k));
  if (!keys.ok()) return keys.status();
  const std::string_view ivv(reinterpret_cast<char*>(iv), sizeof(iv));
  auto c = sm4Ctr(keys->enc, ivv, plaintext);
  if (!c.ok()) return c.status();
  std::string out = internal::cat(kMagic, std::string{static_cast<char>(w.size() >> 8), static_cast<char>(w.size())},
                                  w, ivv, *c);
  auto tag = hmacSm3(keys->mac, aad, out);
  if (!tag.ok()) return tag.status();
  return out + *tag;
}

absl::StatusOr<std::string> gmOpen(const PrivateKey& recipient, std::string_view aad, std::string_view envelope) {
  if (recipient.type() != KeyType::kSm2) return absl::InvalidArgumentError("GM envelope recipient must be SM2");
  if (envelope.size() < kMagic.size() + 2 || envelope.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError("GM envelope: bad magic or version (want \"EVGM\" v1)");
  }
  const size_t wlen = (size_t{static_cast<uint8_t>(envelope[kMagic.size()])} << 8) |
                      static_cast<uint8_t>(envelope[kMagic.size() + 1]);
  const size_t w_off = kMagic.size() + 2;
  if (envelope.size() < w_off + wlen + kIv + kTag) return absl::InvalidArgumentError("GM envelope: truncated");
  std::string_view w = envelope.substr(w_off, wlen);
  std::string_view iv = envelope.substr(w_off + wlen, kIv);
  std::string_view body = envelope.substr(0, envelope.size() - kTag);
  std::string_view tag = envelope.substr(envelope.size() - kTag);
  std::string_view c = body.substr(w_off + wlen + kIv);

  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(recipient.get(), nullptr));
  unsigned char k[64];
  size_t klen = sizeof(k);
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_decrypt(ctx.get(), k, &klen, u8(w), w.size()) <= 0 || klen != 32) {
    internal::clearOpensslErrors();
    OPENSSL_cleanse(k, sizeof(k));
    return absl::UnauthenticatedError("GM envelope: the wrapped key does not decrypt with this SM2 key");
  }
  auto keys = deriveKeys(std::string_view(reinterpret_cast<char*>(k), 32));
  OPENSSL_cleanse(k, sizeof(k));
  if (!keys.ok()) return keys.status();
  auto want = hmacSm3(keys->mac, aad, body);
  if (!want.ok()) return want.status();
  if (CRYPTO_memcmp(want->data(), tag.data(), kTag) != 0) {
    return absl::UnauthenticatedError("GM envelope: HMAC-SM3 mismatch (envelope altered or AAD differs)");
  }
  return sm4Ctr(keys->enc, iv, c);
}

}  // namespace xborder::evidence::crypto
