#pragma once
// RFC 9162 §2.1.1 tree hashing: leaf = H(0x00 || data), node = H(0x01 || l || r),
// empty tree = H(""). H is SHA-256 (C2SP/tlog-tiles compatible) or SM3, fixed per log.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct evp_md_st EVP_MD;
typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace xborder::evidence {

enum class HashAlg : uint32_t { kSha256 = 1, kSm3 = 2 };  // values are the segment-header codes

inline constexpr size_t kHashSize = 32;  // both SHA-256 and SM3
using Hash = std::array<uint8_t, kHashSize>;

std::string_view hashAlgName(HashAlg alg);  // "sha256" | "sm3"
std::optional<HashAlg> parseHashAlg(std::string_view name);

// Not thread-safe: it reuses one digest context. Give each thread its own (copying
// makes a new context).
class Hasher {
 public:
  // SHA-256 and SM3 are in OpenSSL 3.0's default provider; a build without them aborts.
  explicit Hasher(HashAlg alg = HashAlg::kSha256);
  static absl::StatusOr<Hasher> create(HashAlg alg);
  Hasher(const Hasher& other);
  Hasher& operator=(const Hasher& other);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  HashAlg alg() const { return alg_; }
  Hash leafHash(std::string_view data) const;
  Hash leafHash(std::span<const uint8_t> data) const;
  Hash nodeHash(const Hash& left, const Hash& right) const;
  Hash nodeHash(std::string_view left, std::string_view right) const;  // any lengths (test vectors)
  Hash emptyRoot() const;
  Hash digest(std::string_view data) const;  // plain H(data), no domain prefix

 private:
  Hasher(HashAlg alg, EVP_MD* md);
  Hash hashParts(std::initializer_list<std::span<const uint8_t>> parts) const;

  HashAlg alg_;
  std::shared_ptr<EVP_MD> md_;
  EVP_MD_CTX* ctx_ = nullptr;
};

std::string toHex(std::span<const uint8_t> bytes);
inline std::string toHex(const Hash& h) { return toHex(std::span<const uint8_t>(h)); }
std::optional<Hash> hashFromBytes(std::string_view bytes);  // exactly 32 bytes, else nullopt

}  // namespace xborder::evidence
