#pragma once
// RFC 9162 §2.1.3.2 / §2.1.4.2 proof verification, after transparency-dev/merkle
// proof/verify.go (decomposition into inner and border parts). Strict policy for
// evidence: every hash must be exactly 32 bytes, consistency from size 0 is an error.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"

namespace xborder::evidence::merkle {

// Root implied by an inclusion proof; errors on index >= size, bad lengths or a proof
// of the wrong length. Byte-string overloads check every length first.
absl::StatusOr<Hash> rootFromInclusionProof(const Hasher& hasher, uint64_t index, uint64_t size,
                                            const Hash& leafHash, std::span<const Hash> proof);

absl::Status verifyInclusion(const Hasher& hasher, uint64_t index, uint64_t size,
                             const Hash& leafHash, std::span<const Hash> proof, const Hash& root);
absl::Status verifyInclusion(const Hasher& hasher, uint64_t index, uint64_t size,
                             std::string_view leafHash, std::span<const std::string> proof,
                             std::string_view root);

absl::Status verifyConsistency(const Hasher& hasher, uint64_t size1, uint64_t size2,
                               std::span<const Hash> proof, const Hash& root1, const Hash& root2);
absl::Status verifyConsistency(const Hasher& hasher, uint64_t size1, uint64_t size2,
                               std::span<const std::string> proof, std::string_view root1,
                               std::string_view root2);

}  // namespace xborder::evidence::merkle
