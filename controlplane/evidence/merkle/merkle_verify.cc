#include "controlplane/evidence/merkle/merkle_verify.h"

#include <bit>

#include "absl/strings/str_cat.h"

namespace xborder::evidence::merkle {
namespace {

struct Decomposition {
  int inner;
  int border;
};

// Inner: levels where the path leaves the "right border" of the tree of `size`;
// border: the rest, all left siblings.
Decomposition decompose(uint64_t index, uint64_t size) {
  const int inner = std::bit_width(index ^ (size - 1));
  const int border = std::popcount(index >> inner);
  return {inner, border};
}

Hash chainInner(const Hasher& h, Hash seed, std::span<const Hash> proof, uint64_t index) {
  for (size_t i = 0; i < proof.size(); ++i) {
    seed = ((index >> i) & 1) == 0 ? h.nodeHash(seed, proof[i]) : h.nodeHash(proof[i], seed);
  }
  return seed;
}

Hash chainInnerRight(const Hasher& h, Hash seed, std::span<const Hash> proof, uint64_t index) {
  for (size_t i = 0; i < proof.size(); ++i) {
    if (((index >> i) & 1) == 1) seed = h.nodeHash(proof[i], seed);
  }
  return seed;
}

Hash chainBorderRight(const Hasher& h, Hash seed, std::span<const Hash> proof) {
  for (const auto& p : proof) seed = h.nodeHash(p, seed);
  return seed;
}

absl::Status match(const Hash& calculated, const Hash& expected, std::string_view what) {
  if (calculated != expected) {
    return absl::DataLossError(absl::StrCat(std::string(what), " mismatch: calculated ",
                                            toHex(calculated), ", expected ", toHex(expected)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Hash>> toHashes(std::span<const std::string> proof) {
  std::vector<Hash> out;
  out.reserve(proof.size());
  for (size_t i = 0; i < proof.size(); ++i) {
    auto h = hashFromBytes(proof[i]);
    if (!h) {
      return absl::InvalidArgumentError(
          absl::StrCat("proof element ", i, " is ", proof[i].size(), " bytes, want 32"));
    }
    out.push_back(*h);
  }
  return out;
}

absl::StatusOr<Hash> toHash(std::string_view bytes, std::string_view what) {
  auto h = hashFromBytes(bytes);
  if (!h) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " is ", bytes.size(), " bytes, want 32"));
  }
  return *h;
}

}  // namespace

absl::StatusOr<Hash> rootFromInclusionProof(const Hasher& hasher, uint64_t index, uint64_t size,
                                            const Hash& leafHash, std::span<const Hash> proof) {
  if (index >= size) {
    return absl::InvalidArgumentError(absl::StrCat("index ", index, " is not below size ", size));
  }
  const Decomposition d = decompose(index, size);
  if (proof.size() != static_cast<size_t>(d.inner + d.border)) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion proof has ", proof.size(),
                                                   " hashes, want ", d.inner + d.border));
  }
  Hash r = chainInner(hasher, leafHash, proof.first(d.inner), index);
  return chainBorderRight(hasher, r, proof.subspan(d.inner));
}

absl::Status verifyInclusion(const Hasher& hasher, uint64_t index, uint64_t size,
                             const Hash& leafHash, std::span<const Hash> proof, const Hash& root) {
  auto calculated = rootFromInclusionProof(hasher, index, size, leafHash, proof);
  if (!calculated.ok()) return calculated.status();
  return match(*calculated, root, "root");
}

absl::Status verifyInclusion(const Hasher& hasher, uint64_t index, uint64_t size,
                             std::string_view leafHash, std::span<const std::string> proof,
                             std::string_view root) {
  auto leaf = toHash(leafHash, "leaf hash");
  if (!leaf.ok()) return leaf.status();
  auto r = toHash(root, "root");
  if (!r.ok()) return r.status();
  auto p = toHashes(proof);
  if (!p.ok()) return p.status();
  return verifyInclusion(hasher, index, size, *leaf, *p, *r);
}

absl::Status verifyConsistency(const Hasher& hasher, uint64_t size1, uint64_t size2,
                               std::span<const Hash> proof, const Hash& root1, const Hash& root2) {
  if (size2 < size1) {
    return absl::InvalidArgumentError(absl::StrCat("size2 (", size2, ") < size1 (", size1, ")"));
  }
  if (size1 == size2) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError("size1 == size2 but the proof is not empty");
    }
    return match(root1, root2, "root");
  }
  if (size1 == 0) {
    return absl::InvalidArgumentError("consistency proof from the empty tree is meaningless");
  }
  if (proof.empty()) return absl::InvalidArgumentError("empty consistency proof");

  Decomposition d = decompose(size1 - 1, size2);
  const int shift = std::countr_zero(size1);
  d.inner -= shift;  // shift < inner because size1 < size2

  // The proof starts with the root of the perfect subtree of size 2^shift holding
  // leaf size1-1, unless that subtree is the whole old tree.
  Hash seed = proof[0];
  size_t start = 1;
  if (size1 == (uint64_t{1} << shift)) {
    seed = root1;
    start = 0;
  }
  if (proof.size() != start + d.inner + d.border) {
    return absl::InvalidArgumentError(absl::StrCat("consistency proof has ", proof.size(),
                                                   " hashes, want ", start + d.inner + d.border));
  }
  const auto rest = proof.subspan(start);
  const uint64_t mask = (size1 - 1) >> shift;

  Hash h1 = chainInnerRight(hasher, seed, rest.first(d.inner), mask);
  h1 = chainBorderRight(hasher, h1, rest.subspan(d.inner));
  if (auto s = match(h1, root1, "old root"); !s.ok()) return s;

  Hash h2 = chainInner(hasher, seed, rest.first(d.inner), mask);
  h2 = chainBorderRight(hasher, h2, rest.subspan(d.inner));
  return match(h2, root2, "new root");
}

absl::Status verifyConsistency(const Hasher& hasher, uint64_t size1, uint64_t size2,
                               std::span<const std::string> proof, std::string_view root1,
                               std::string_view root2) {
  // Equal sizes need no hashing: the roots must be the same bytes and the proof empty
  // (as in transparency-dev/merkle, whose probes include non-32-byte roots here).
  // Size 0 is refused first: a proof from the empty tree is meaningless.
  if (size1 == 0) {
    return absl::InvalidArgumentError("consistency proof from the empty tree is meaningless");
  }
  if (size1 == size2) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError("size1 == size2 but the proof is not empty");
    }
    if (root1 != root2) return absl::InvalidArgumentError("root mismatch");
    return absl::OkStatus();
  }
  auto r1 = toHash(root1, "old root");
  if (!r1.ok()) return r1.status();
  auto r2 = toHash(root2, "new root");
  if (!r2.ok()) return r2.status();
  auto p = toHashes(proof);
  if (!p.ok()) return p.status();
  return verifyConsistency(hasher, size1, size2, *p, *r1, *r2);
}

}  // namespace xborder::evidence::merkle
