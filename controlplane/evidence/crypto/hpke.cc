#include "controlplane/evidence/crypto/hpke.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include "controlplane/evidence/crypto/openssl_util.h"
#include "controlplane/evidence/crypto/str_util.h"

namespace xborder::evidence::crypto {
namespace {

using internal::opensslError;

constexpr uint16_t kKemX25519Sha256 = 0x0020;
constexpr uint16_t kKdfHkdfSha256 = 0x0001;
constexpr size_t kNh = 32;  // HKDF-SHA256 output
constexpr size_t kNn = 12;  // AES-GCM nonce
constexpr size_t kTag = 16;

std::string be(uint64_t v, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n && i < 8; ++i) out[n - 1 - i] = static_cast<char>(v >> (8 * i));  // no shift >= 64
  return out;
}

size_t keyLen(HpkeAead a) { return a == HpkeAead::kAes128Gcm ? 16 : 32; }

const EVP_CIPHER* cipher(HpkeAead a) { return a == HpkeAead::kAes128Gcm ? EVP_aes_128_gcm() : EVP_aes_256_gcm(); }

// One HKDF call in EXTRACT_ONLY or EXPAND_ONLY mode. An empty salt is omitted
// rather than passed: a zero-length salt makes EVP_KDF_derive fail without an error
// (EVIDENCE.md §3.3); HKDF then uses HashLen zero bytes, as RFC 5869 specifies.
absl::StatusOr<std::string> hkdf(const char* digest, int mode, std::string_view key, std::string_view salt,
                                 std::string_view info, size_t out_len) {
  std::unique_ptr<EVP_KDF, internal::OsslFree<EVP_KDF_free>> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  std::unique_ptr<EVP_KDF_CTX, internal::OsslFree<EVP_KDF_CTX_free>> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return opensslError(absl::StatusCode::kInternal, "HKDF fetch");
  OSSL_PARAM params[6];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(key.data()), key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  std::string out(out_len, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) <= 0) {
    return opensslError(absl::StatusCode::kInternal, "HKDF derive");
  }
  return out;
}

absl::StatusOr<std::string> labeledExtract(std::string_view suite_id, std::string_view salt, std::string_view label,
                                           std::string_view ikm) {
  return hkdf("SHA256", EVP_KDF_HKDF_MODE_EXTRACT_ONLY, internal::cat("HPKE-v1", suite_id, label, ikm), salt, {},
              kNh);
}

absl::StatusOr<std::string> labeledExpand(std::string_view suite_id, std::string_view prk, std::string_view label,
                                          std::string_view info, size_t len) {
  return hkdf("SHA256", EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, {},
              internal::cat(be(len, 2), "HPKE-v1", suite_id, label, info), len);
}

absl::StatusOr<std::string> x25519(const PrivateKey& sk, const PublicKey& pk) {
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(sk.get(), nullptr));
  size_t len = 32;
  std::string out(32, '\0');
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_derive_set_peer(ctx.get(), pk.get()) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) <= 0 || len != 32) {
    // Includes the all-zero shared secret from a small-order point, which OpenSSL refuses.
    return opensslError(absl::StatusCode::kInvalidArgument, "X25519 key agreement");
  }
  return out;
}

// DHKEM ExtractAndExpand (RFC 9180 §4.1).
absl::StatusOr<std::string> kemSharedSecret(std::string_view dh, std::string_view enc, std::string_view pkr) {
  const std::string suite = internal::cat("KEM", be(kKemX25519Sha256, 2));
  auto prk = labeledExtract(suite, {}, "eae_prk", dh);
  if (!prk.ok()) return prk.status();
  return labeledExpand(suite, *prk, "shared_secret", internal::cat(enc, pkr), kNh);
}

}  // namespace

// Key schedule for mode_base (RFC 9180 §5.1) with empty psk and psk_id.
class HpkeKeySchedule {
 public:
  static absl::StatusOr<HpkeContext> run(std::string_view shared_secret, std::string_view info, HpkeAead aead) {
    const std::string suite =
        internal::cat("HPKE", be(kKemX25519Sha256, 2), be(kKdfHkdfSha256, 2), be(static_cast<uint16_t>(aead), 2));
    auto psk_id_hash = labeledExtract(suite, {}, "psk_id_hash", {});
    auto info_hash = labeledExtract(suite, {}, "info_hash", info);
    if (!psk_id_hash.ok()) return psk_id_hash.status();
    if (!info_hash.ok()) return info_hash.status();
    const std::string context = internal::cat(std::string(1, '\0'), *psk_id_hash, *info_hash);
    auto secret = labeledExtract(suite, shared_secret, "secret", {});
    if (!secret.ok()) return secret.status();
    auto key = labeledExpand(suite, *secret, "key", context, keyLen(aead));
    auto nonce = labeledExpand(suite, *secret, "base_nonce", context, kNn);
    auto exp = labeledExpand(suite, *secret, "exp", context, kNh);
    if (!key.ok()) return key.status();
    if (!nonce.ok()) return nonce.status();
    if (!exp.ok()) return exp.status();
    return HpkeContext(aead, *std::move(key), *std::move(nonce), *std::move(exp));
  }
};

std::string HpkeContext::nextNonce() {
  std::string nonce = base_nonce_;
  std::string s = be(seq_, kNn);
  for (size_t i = 0; i < kNn; ++i) nonce[i] = static_cast<char>(nonce[i] ^ s[i]);
  if (seq_ == UINT64_MAX) exhausted_ = true;
  ++seq_;
  return nonce;
}

absl::StatusOr<std::string> HpkeContext::seal(std::string_view aad, std::string_view pt) {
  if (exhausted_) return absl::ResourceExhaustedError("HPKE: sequence number exhausted");
  const std::string nonce = nextNonce();
  internal::CipherCtxPtr c(EVP_CIPHER_CTX_new());
  std::string out(pt.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (!c || EVP_EncryptInit_ex2(c.get(), cipher(aead_), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNn), nullptr) != 1 ||
      EVP_EncryptInit_ex2(c.get(), nullptr, internal::u8(key_), internal::u8(nonce), nullptr) != 1 ||
      EVP_EncryptUpdate(c.get(), nullptr, &len, internal::u8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(c.get(), o, &len, internal::u8(pt), static_cast<int>(pt.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), o + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTag), o + pt.size()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "HPKE: AES-GCM seal");
  }
  return out;
}

absl::StatusOr<std::string> HpkeContext::open(std::string_view aad, std::string_view ct) {
  if (exhausted_) return absl::ResourceExhaustedError("HPKE: sequence number exhausted");
  if (ct.size() < kTag) return absl::UnauthenticatedError("HPKE: ciphertext shorter than the tag");
  const std::string nonce = nextNonce();
  const size_t n = ct.size() - kTag;
  internal::CipherCtxPtr c(EVP_CIPHER_CTX_new());
  std::string out(n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  std::string tag(ct.substr(n));
  if (!c || EVP_DecryptInit_ex2(c.get(), cipher(aead_), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNn), nullptr) != 1 ||
      EVP_DecryptInit_ex2(c.get(), nullptr, internal::u8(key_), internal::u8(nonce), nullptr) != 1 ||
      EVP_DecryptUpdate(c.get(), nullptr, &len, internal::u8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(c.get(), o, &len, internal::u8(ct), static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag), tag.data()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "HPKE: AES-GCM open");
  }
  if (EVP_DecryptFinal_ex(c.get(), o + len, &len) != 1) {
    internal::clearOpensslErrors();
    return absl::UnauthenticatedError("HPKE: authentication failed (ciphertext, enc, info or aad altered)");
  }
  return out;
}

absl::StatusOr<std::string> HpkeContext::exportSecret(std::string_view exporter_context, size_t length) const {
  const std::string suite = internal::cat("HPKE", be(kKemX25519Sha256, 2), be(kKdfHkdfSha256, 2),
                                          be(static_cast<uint16_t>(aead_), 2));
  return labeledExpand(suite, exporter_secret_, "sec", exporter_context, length);
}

absl::StatusOr<HpkeSenderSetup> hpkeSetupBaseS(const PublicKey& recipient, std::string_view info, HpkeAead aead,
                                               const PrivateKey* ephemeral) {
  if (recipient.type() != KeyType::kX25519) return absl::InvalidArgumentError("HPKE recipient must be X25519");
  absl::StatusOr<PrivateKey> eph = ephemeral ? absl::StatusOr<PrivateKey>(*ephemeral)
                                             : PrivateKey::generate(KeyType::kX25519);
  if (!eph.ok()) return eph.status();
  if (eph->type() != KeyType::kX25519) return absl::InvalidArgumentError("HPKE ephemeral key must be X25519");
  auto dh = x25519(*eph, recipient);
  if (!dh.ok()) return dh.status();
  std::string enc = eph->publicKey().raw();
  auto ss = kemSharedSecret(*dh, enc, recipient.raw());
  if (!ss.ok()) return ss.status();
  auto ctx = HpkeKeySchedule::run(*ss, info, aead);
  if (!ctx.ok()) return ctx.status();
  return HpkeSenderSetup{std::move(enc), *std::move(ctx)};
}

absl::StatusOr<HpkeContext> hpkeSetupBaseR(std::string_view enc, const PrivateKey& recipient, std::string_view info,
                                           HpkeAead aead) {
  if (recipient.type() != KeyType::kX25519) return absl::InvalidArgumentError("HPKE recipient must be X25519");
  auto pke = PublicKey::fromRaw(KeyType::kX25519, enc);
  if (!pke.ok()) return absl::InvalidArgumentError("HPKE: enc is not a 32-byte X25519 public key");
  auto dh = x25519(recipient, *pke);
  if (!dh.ok()) return dh.status();
  auto ss = kemSharedSecret(*dh, enc, recipient.publicKey().raw());
  if (!ss.ok()) return ss.status();
  return HpkeKeySchedule::run(*ss, info, aead);
}

absl::StatusOr<HpkeSealed> hpkeSealBase(const PublicKey& recipient, std::string_view info, std::string_view aad,
                                        std::string_view plaintext, HpkeAead aead) {
  auto s = hpkeSetupBaseS(recipient, info, aead);
  if (!s.ok()) return s.status();
  auto ct = s->context.seal(aad, plaintext);
  if (!ct.ok()) return ct.status();
  return HpkeSealed{std::move(s->enc), *std::move(ct)};
}

absl::StatusOr<std::string> hpkeOpenBase(const PrivateKey& recipient, std::string_view enc, std::string_view info,
                                         std::string_view aad, std::string_view ciphertext, HpkeAead aead) {
  auto ctx = hpkeSetupBaseR(enc, recipient, info, aead);
  if (!ctx.ok()) return ctx.status();
  return ctx->open(aad, ciphertext);
}

std::string envelopeAad(std::string_view origin, uint64_t leaf_index, std::string_view field,
                        uint32_t recipient_key_id) {
  return internal::cat("ev-envelope/v1", be(origin.size(), 2), origin, be(leaf_index, 8), be(field.size(), 2), field,
                       be(recipient_key_id, 4));
}

}  // namespace xborder::evidence::crypto

namespace xborder::evidence::crypto {
namespace {
constexpr std::string_view kHpkeMagic = "EVHP\x01";
// The HPKE info string: fixed per envelope format; the per-record binding is in the AAD.
constexpr std::string_view kHpkeInfo = "ev-envelope/v1 hpke x25519-hkdfsha256-aes256gcm";
}  // namespace

absl::StatusOr<std::string> hpkeSealEnvelope(const PublicKey& recipient, std::string_view aad,
                                             std::string_view plaintext) {
  auto s = hpkeSealBase(recipient, kHpkeInfo, aad, plaintext, HpkeAead::kAes256Gcm);
  if (!s.ok()) return s.status();
  return internal::cat(kHpkeMagic, s->enc, s->ciphertext);
}

absl::StatusOr<std::string> hpkeOpenEnvelope(const PrivateKey& recipient, std::string_view aad,
                                             std::string_view envelope) {
  if (envelope.size() < kHpkeMagic.size() + 32 + 16 || envelope.substr(0, kHpkeMagic.size()) != kHpkeMagic) {
    return absl::InvalidArgumentError("HPKE envelope: bad magic, version or length (want \"EVHP\" v1)");
  }
  return hpkeOpenBase(recipient, envelope.substr(kHpkeMagic.size(), 32), kHpkeInfo, aad,
                      envelope.substr(kHpkeMagic.size() + 32), HpkeAead::kAes256Gcm);
}

}  // namespace xborder::evidence::crypto
