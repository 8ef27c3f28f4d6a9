// Key pairs for the evidence log: Ed25519 (note signatures), SM2 (national-profile
// signatures and GM envelopes) and X25519 (HPKE recipients). Thin value types over
// OpenSSL's EVP_PKEY, with raw encodings, PKCS#8 PEM and 0600 persistence.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace xborder::evidence::crypto {

enum class KeyType { kEd25519, kSm2, kX25519 };

std::string_view keyTypeName(KeyType type);  // "ed25519", "sm2", "x25519"

class PublicKey {
 public:
  // Raw encodings: Ed25519 and X25519 are 32 bytes (RFC 8032 / RFC 7748); SM2 is the
  // 65-byte uncompressed point 04||X||Y.
  static absl::StatusOr<PublicKey> fromRaw(KeyType type, std::string_view raw);
  // SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
  static absl::StatusOr<PublicKey> fromPem(std::string_view pem);

  KeyType type() const { return type_; }
  std::string raw() const { return raw_; }
  absl::StatusOr<std::string> toPem() const;
  EVP_PKEY* get() const { return key_.get(); }  // borrowed; for OpenSSL interop

 private:
  PublicKey(std::shared_ptr<EVP_PKEY> key, KeyType type, std::string raw)
      : key_(std::move(key)), type_(type), raw_(std::move(raw)) {}
  friend class PrivateKey;
  static absl::StatusOr<PublicKey> fromPkey(std::shared_ptr<EVP_PKEY> key);

  std::shared_ptr<EVP_PKEY> key_;
  KeyType type_;
  std::string raw_;
};

class PrivateKey {
 public:
  static absl::StatusOr<PrivateKey> generate(KeyType type);
  // Raw private keys: the 32-byte Ed25519 seed, X25519 scalar or SM2 scalar d.
  // Deterministic, so known-answer tests can rebuild published test keys.
  static absl::StatusOr<PrivateKey> fromRaw(KeyType type, std::string_view raw);
  // Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
  static absl::StatusOr<PrivateKey> fromPem(std::string_view pem);
  // Reads a PEM file written by save(). Refuses a file that group or others can
  // read or write: a leaked signing key silently voids every later checkpoint.
  static absl::StatusOr<PrivateKey> load(const std::string& path);

  KeyType type() const { return type_; }
  const PublicKey& publicKey() const { return public_; }
  absl::StatusOr<std::string> toPem() const;
  // Writes the PEM with mode 0600 via tmp file + fsync + rename + fsync(dir), and
  // refuses to overwrite an existing key.
  absl::Status save(const std::string& path) const;
  EVP_PKEY* get() const { return key_.get(); }  // borrowed; for OpenSSL interop

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> key, KeyType type, PublicKey pub)
      : key_(std::move(key)), type_(type), public_(std::move(pub)) {}
  static absl::StatusOr<PrivateKey> fromPkey(std::shared_ptr<EVP_PKEY> key);

  std::shared_ptr<EVP_PKEY> key_;
  KeyType type_;
  PublicKey public_;
};

}  // namespace xborder::evidence::crypto
