// OpenSSL 3.0 marks SHA256_Init/Update/Final deprecated in favour of EVP. We keep them
// for the tree's SHA-256 hashes only: they run the same SHA-NI block function as EVP,
// but a Merkle tree hashes millions of 65- to 400-byte inputs, and EVP's per-hash
// DigestInit/Final dispatch was ~20% of the verifier's CPU (docs/benchmarks/evbundle.md).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "controlplane/evidence/merkle/merkle_hasher.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "controlplane/evidence/crypto/sm3_fast.h"

namespace xborder::evidence {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

EVP_MD* fetchMd(HashAlg alg) {
  return EVP_MD_fetch(nullptr, alg == HashAlg::kSm3 ? "SM3" : "SHA2-256", nullptr);
}

}  // namespace

std::string_view hashAlgName(HashAlg alg) { return alg == HashAlg::kSm3 ? "sm3" : "sha256"; }

std::optional<HashAlg> parseHashAlg(std::string_view name) {
  if (name == "sha256") return HashAlg::kSha256;
  if (name == "sm3") return HashAlg::kSm3;
  return std::nullopt;
}

Hasher::Hasher(HashAlg alg, EVP_MD* md)
    : alg_(alg), md_(md, EVP_MD_free), ctx_(EVP_MD_CTX_new()) {
  if (md == nullptr || ctx_ == nullptr) {
    std::fprintf(stderr, "xborder evidence: OpenSSL has no %s digest\n",
                 std::string(hashAlgName(alg)).c_str());
    std::abort();
  }
}

Hasher::Hasher(HashAlg alg) : Hasher(alg, fetchMd(alg)) {}

absl::StatusOr<Hasher> Hasher::create(HashAlg alg) {
  EVP_MD* md = fetchMd(alg);
  if (md == nullptr) {
    return absl::UnavailableError("OpenSSL provides no digest for " + std::string(hashAlgName(alg)));
  }
  return Hasher(alg, md);
}

Hasher::Hasher(const Hasher& other) : alg_(other.alg_), md_(other.md_), ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) std::abort();
}

Hasher& Hasher::operator=(const Hasher& other) {
  if (this != &other) {
    alg_ = other.alg_;
    md_ = other.md_;
  }
  return *this;
}

Hasher::Hasher(Hasher&& other) noexcept
    : alg_(other.alg_), md_(std::move(other.md_)), ctx_(other.ctx_) {
  other.ctx_ = nullptr;
}

Hasher& Hasher::operator=(Hasher&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    alg_ = other.alg_;
    md_ = std::move(other.md_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_); }

Hash Hasher::hashParts(std::initializer_list<std::span<const uint8_t>> parts) const {
  Hash out{};
  if (alg_ == HashAlg::kSha256) {
    // Low-level SHA-256 on a stack context (see the top of the file); it cannot fail.
    SHA256_CTX c;
    SHA256_Init(&c);
    for (const auto& p : parts) {
      if (!p.empty()) SHA256_Update(&c, p.data(), p.size());
    }
    SHA256_Final(out.data(), &c);
    return out;
  }
  if (alg_ == HashAlg::kSm3) {
    // Our SM3 (crypto/sm3_fast.h: bit-identical to EVP_sm3, faster, and no EVP dispatch
    // per call: a tree is two hashes per record).
    crypto::Sm3Fast h;
    for (const auto& p : parts) {
      if (!p.empty()) h.update(p.data(), p.size());
    }
    h.finish(out.data());
    return out;
  }
  unsigned int len = 0;
  // A failure here means OpenSSL itself is broken (the digest was fetched at construction).
  if (EVP_DigestInit_ex2(ctx_, md_.get(), nullptr) != 1) std::abort();
  for (const auto& p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx_, p.data(), p.size()) != 1) std::abort();
  }
  if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != kHashSize) std::abort();
  return out;
}

Hash Hasher::leafHash(std::span<const uint8_t> data) const {
  const uint8_t prefix = kLeafPrefix;
  return hashParts({std::span<const uint8_t>(&prefix, 1), data});
}

Hash Hasher::leafHash(std::string_view data) const {
  return leafHash(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Hash Hasher::nodeHash(const Hash& left, const Hash& right) const {
  if (alg_ == HashAlg::kSha256) {
    // 0x01 || left || right is 65 bytes: exactly two blocks once padded (FIPS 180-4
    // §5.1.1: 0x80, zeros, the bit length 520 big-endian). Writing them here runs the two
    // compressions without SHA256_Update/Final's buffering; a tree has one node per leaf.
    uint8_t b[128] = {};
    b[0] = kNodePrefix;
    std::memcpy(b + 1, left.data(), kHashSize);
    std::memcpy(b + 1 + kHashSize, right.data(), kHashSize);
    b[65] = 0x80;
    b[126] = 520 >> 8;
    b[127] = 520 & 0xff;
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Transform(&c, b);
    SHA256_Transform(&c, b + 64);
    Hash out;
    for (size_t i = 0; i < 8; ++i) {
      out[4 * i] = static_cast<uint8_t>(c.h[i] >> 24);
      out[4 * i + 1] = static_cast<uint8_t>(c.h[i] >> 16);
      out[4 * i + 2] = static_cast<uint8_t>(c.h[i] >> 8);
      out[4 * i + 3] = static_cast<uint8_t>(c.h[i]);
    }
    return out;
  }
  const uint8_t prefix = kNodePrefix;
  return hashParts({std::span<const uint8_t>(&prefix, 1), std::span<const uint8_t>(left),
                    std::span<const uint8_t>(right)});
}

Hash Hasher::nodeHash(std::string_view left, std::string_view right) const {
  const uint8_t prefix = kNodePrefix;
  return hashParts({std::span<const uint8_t>(&prefix, 1),
                    std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(left.data()), left.size()),
                    std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(right.data()), right.size())});
}

Hash Hasher::emptyRoot() const { return hashParts({}); }

Hash Hasher::digest(std::string_view data) const {
  return hashParts({std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size())});
}

std::string toHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::optional<Hash> hashFromBytes(std::string_view bytes) {
  if (bytes.size() != kHashSize) return std::nullopt;
  Hash h;
  std::memcpy(h.data(), bytes.data(), kHashSize);
  return h;
}

}  // namespace xborder::evidence
