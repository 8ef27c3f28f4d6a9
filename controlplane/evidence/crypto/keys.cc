#include "controlplane/evidence/crypto/keys.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "controlplane/evidence/crypto/str_util.h"
#include "controlplane/evidence/crypto/openssl_util.h"

namespace xborder::evidence::crypto {
namespace {

using internal::opensslError;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

absl::StatusOr<KeyType> typeOf(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) return KeyType::kEd25519;
  if (EVP_PKEY_is_a(key, "X25519")) return KeyType::kX25519;
  if (EVP_PKEY_is_a(key, "SM2")) return KeyType::kSm2;
  return absl::InvalidArgumentError(
      internal::cat("unsupported key type ", EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?",
                   " (want ED25519, X25519 or SM2)"));
}

int rawNid(KeyType t) { return t == KeyType::kEd25519 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519; }

// Builds an SM2 EVP_PKEY from an encoded public point and an optional scalar.
absl::StatusOr<std::shared_ptr<EVP_PKEY>> sm2FromData(std::string_view pub, const BIGNUM* priv) {
  std::unique_ptr<OSSL_PARAM_BLD, internal::OsslFree<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()) ||
      (priv != nullptr && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv))) {
    return opensslError(absl::StatusCode::kInternal, "SM2: building key parameters");
  }
  std::unique_ptr<OSSL_PARAM, internal::OsslFree<OSSL_PARAM_free>> params(OSSL_PARAM_BLD_to_param(bld.get()));
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  EVP_PKEY* out = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return opensslError(absl::StatusCode::kInvalidArgument, "SM2: importing key");
  }
  return share(out);
}

// Checks that `pub` is a valid point on the SM2 curve (fromdata does not).
absl::Status checkSm2Point(std::string_view pub) {
  if (pub.size() != 65 || pub[0] != 0x04) {
    return absl::InvalidArgumentError("SM2 public key must be the 65-byte uncompressed point 04||X||Y");
  }
  std::unique_ptr<EC_GROUP, internal::OsslFree<EC_GROUP_free>> g(EC_GROUP_new_by_curve_name(NID_sm2));
  std::unique_ptr<EC_POINT, internal::OsslFree<EC_POINT_free>> p(g ? EC_POINT_new(g.get()) : nullptr);
  if (!p || EC_POINT_oct2point(g.get(), p.get(), internal::u8(pub), pub.size(), nullptr) != 1 ||
      EC_POINT_is_on_curve(g.get(), p.get(), nullptr) != 1) {
    internal::clearOpensslErrors();
    return absl::InvalidArgumentError("SM2 public key is not a point on the SM2 curve");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view keyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEd25519: return "ed25519";
    case KeyType::kSm2: return "sm2";
    case KeyType::kX25519: return "x25519";
  }
  return "?";
}

absl::StatusOr<PublicKey> PublicKey::fromPkey(std::shared_ptr<EVP_PKEY> key) {
  auto type = typeOf(key.get());
  if (!type.ok()) return type.status();
  std::string raw;
  if (*type == KeyType::kSm2) {
    unsigned char buf[133];
    size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len) || len != 65) {
      return opensslError(absl::StatusCode::kInvalidArgument, "SM2: reading the public point");
    }
    raw.assign(reinterpret_cast<char*>(buf), len);
  } else {
    size_t len = 32;
    raw.resize(32);
    if (!EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()), &len) || len != 32) {
      return opensslError(absl::StatusCode::kInvalidArgument, "reading the raw public key");
    }
  }
  return PublicKey(std::move(key), *type, std::move(raw));
}

absl::StatusOr<PublicKey> PublicKey::fromRaw(KeyType type, std::string_view raw) {
  if (type == KeyType::kSm2) {
    if (auto st = checkSm2Point(raw); !st.ok()) return st;
    auto key = sm2FromData(raw, nullptr);
    if (!key.ok()) return key.status();
    return fromPkey(*std::move(key));
  }
  if (raw.size() != 32) {
    return absl::InvalidArgumentError(internal::cat(keyTypeName(type), " public key must be 32 bytes, got ", raw.size()));
  }
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(rawNid(type), nullptr, internal::u8(raw), raw.size());
  if (k == nullptr) return opensslError(absl::StatusCode::kInvalidArgument, "importing raw public key");
  return fromPkey(share(k));
}

absl::StatusOr<PublicKey> PublicKey::fromPem(std::string_view pem) {
  auto bio = internal::memBio(pem);
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) return opensslError(absl::StatusCode::kInvalidArgument, "not a PEM public key");
  return fromPkey(share(k));
}

absl::StatusOr<std::string> PublicKey::toPem() const {
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "writing public key PEM");
  }
  return internal::bioContents(bio.get());
}

absl::StatusOr<PrivateKey> PrivateKey::fromPkey(std::shared_ptr<EVP_PKEY> key) {
  auto pub = PublicKey::fromPkey(key);
  if (!pub.ok()) return pub.status();
  KeyType type = pub->type();
  return PrivateKey(std::move(key), type, *std::move(pub));
}

absl::StatusOr<PrivateKey> PrivateKey::generate(KeyType type) {
  const char* name = type == KeyType::kSm2 ? "SM2" : type == KeyType::kEd25519 ? "ED25519" : "X25519";
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, name);
  if (k == nullptr) return opensslError(absl::StatusCode::kInternal, internal::cat("generating ", name, " key"));
  return fromPkey(share(k));
}

absl::StatusOr<PrivateKey> PrivateKey::fromRaw(KeyType type, std::string_view raw) {
  if (raw.size() != 32) {
    return absl::InvalidArgumentError(internal::cat(keyTypeName(type), " private key must be 32 bytes, got ", raw.size()));
  }
  if (type != KeyType::kSm2) {
    EVP_PKEY* k = EVP_PKEY_new_raw_private_key(rawNid(type), nullptr, internal::u8(raw), raw.size());
    if (k == nullptr) return opensslError(absl::StatusCode::kInvalidArgument, "importing raw private key");
    return fromPkey(share(k));
  }
  // SM2: derive the public point d*G, then import both.
  std::unique_ptr<BIGNUM, internal::OsslFree<BN_clear_free>> d(BN_bin2bn(internal::u8(raw), 32, nullptr));
  std::unique_ptr<EC_GROUP, internal::OsslFree<EC_GROUP_free>> g(EC_GROUP_new_by_curve_name(NID_sm2));
  std::unique_ptr<EC_POINT, internal::OsslFree<EC_POINT_free>> p(g ? EC_POINT_new(g.get()) : nullptr);
  if (!d || !p) return opensslError(absl::StatusCode::kInternal, "SM2: allocating");
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(g.get())) >= 0) {
    return absl::InvalidArgumentError("SM2 private scalar must be in [1, n-1]");
  }
  unsigned char pub[65];
  if (EC_POINT_mul(g.get(), p.get(), d.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(g.get(), p.get(), POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), nullptr) != 65) {
    return opensslError(absl::StatusCode::kInternal, "SM2: computing the public point");
  }
  auto key = sm2FromData(std::string_view(reinterpret_cast<char*>(pub), 65), d.get());
  if (!key.ok()) return key.status();
  return fromPkey(*std::move(key));
}

absl::StatusOr<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  auto bio = internal::memBio(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) return opensslError(absl::StatusCode::kInvalidArgument, "not an unencrypted PEM private key");
  return fromPkey(share(k));
}

absl::StatusOr<std::string> PrivateKey::toPem() const {
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslError(absl::StatusCode::kInternal, "writing private key PEM");
  }
  return internal::bioContents(bio.get());
}

absl::StatusOr<PrivateKey> PrivateKey::load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(internal::cat(path, ": ", std::strerror(errno)));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return absl::PermissionDeniedError(internal::cat(
        path, ": private key is accessible to group or others (mode ", mode, "); chmod 600 it"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return absl::UnavailableError(internal::cat(path, ": cannot read"));
  auto key = fromPem(ss.str());
  if (!key.ok()) return absl::InvalidArgumentError(internal::cat(path, ": ", key.status().message()));
  return key;
}

absl::Status PrivateKey::save(const std::string& path) const {
  auto pem = toPem();
  if (!pem.ok()) return pem.status();
  if (std::filesystem::exists(path)) {
    return absl::AlreadyExistsError(internal::cat(path, ": refusing to overwrite an existing key"));
  }
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(internal::cat(tmp, ": ", std::strerror(errno)));
  size_t off = 0;
  while (off < pem->size()) {
    ssize_t n = ::write(fd, pem->data() + off, pem->size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::UnavailableError(internal::cat(tmp, ": write: ", std::strerror(e)));
    }
    off += static_cast<size_t>(n);
  }
  // fchmod as well: a umask cannot widen 0600, but an inherited ACL default could.
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return absl::UnavailableError(internal::cat(tmp, ": fsync: ", std::strerror(e)));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return absl::UnavailableError(internal::cat(path, ": rename: ", std::strerror(e)));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    int e = errno;
    if (dfd >= 0) ::close(dfd);
    return absl::UnavailableError(internal::cat(dir, ": fsync directory: ", std::strerror(e)));
  }
  ::close(dfd);
  return absl::OkStatus();
}

}  // namespace xborder::evidence::crypto
