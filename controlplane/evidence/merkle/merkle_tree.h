#pragma once
// The incremental Merkle tree (all complete-subtree hashes kept per level, so roots
// and proofs for any earlier size cost O(log n) hashes) and the compact range
// (O(log n) state: the perfect subtrees covering [0, size)), RFC 9162 §2.1.
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"

namespace xborder::evidence {

// Leaves [0, size) as the hashes of their perfect subtrees, largest (leftmost) first:
// one hash per set bit of size. What an incremental export ships for [0, from).
class CompactRange {
 public:
  explicit CompactRange(const Hasher& hasher) : hasher_(hasher) {}
  // Rebuilds from a shipped list; fails unless hashes.size() == popcount(size).
  static absl::StatusOr<CompactRange> fromHashes(const Hasher& hasher, uint64_t size,
                                                 std::vector<Hash> hashes);

  void append(const Hash& leafHash);
  uint64_t size() const { return size_; }
  Hash root() const;
  const std::vector<Hash>& hashes() const { return hashes_; }

 private:
  Hasher hasher_;
  uint64_t size_ = 0;
  std::vector<Hash> hashes_;
};

// Memory: about 2 x 32 bytes per leaf (leaf hashes plus the interior levels).
class MerkleTree {
 public:
  explicit MerkleTree(const Hasher& hasher) : hasher_(hasher) { levels_.emplace_back(); }

  void append(const Hash& leafHash);
  void appendData(std::string_view leafData) { append(hasher_.leafHash(leafData)); }
  // Drops leaves [size, this->size()) (recovery truncation of unsigned, unsynced data).
  void truncate(uint64_t size);
  uint64_t size() const { return levels_[0].size(); }
  const Hash& leafHash(uint64_t index) const { return levels_[0][index]; }
  const Hasher& hasher() const { return hasher_; }

  // MTH(D[0:size]); kOutOfRange if size > this->size().
  absl::StatusOr<Hash> root(uint64_t size) const;
  Hash root() const { return rangeHash(0, size()); }
  // RFC 9162 PATH(index, D[0:size]), leaf side first.
  absl::StatusOr<std::vector<Hash>> inclusionProof(uint64_t index, uint64_t size) const;
  // RFC 9162 PROOF(size1, D[0:size2]); empty when size1 == size2; size1 must be > 0.
  absl::StatusOr<std::vector<Hash>> consistencyProof(uint64_t size1, uint64_t size2) const;
  CompactRange compactRange(uint64_t size) const;  // size <= this->size()

 private:
  Hash rangeHash(uint64_t begin, uint64_t end) const;
  void path(uint64_t index, uint64_t begin, uint64_t end, std::vector<Hash>& out) const;
  void subproof(uint64_t m, uint64_t begin, uint64_t end, bool complete,
                std::vector<Hash>& out) const;

  Hasher hasher_;
  std::vector<std::vector<Hash>> levels_;  // levels_[l][i] covers leaves [i<<l, (i+1)<<l)
};

namespace merkle {

// Conveniences over a list of leaf hashes (builds a MerkleTree: O(n) hashing).
Hash rootFromLeaves(const Hasher& hasher, std::span<const Hash> leafHashes);
absl::StatusOr<std::vector<Hash>> inclusionProof(const Hasher& hasher,
                                                 std::span<const Hash> leafHashes,
                                                 uint64_t index, uint64_t size);
absl::StatusOr<std::vector<Hash>> consistencyProof(const Hasher& hasher,
                                                   std::span<const Hash> leafHashes,
                                                   uint64_t size1, uint64_t size2);

}  // namespace merkle
}  // namespace xborder::evidence
