#include "controlplane/evidence/merkle/merkle_tree.h"

#include <bit>
#include <string>

#include "absl/strings/str_cat.h"

namespace xborder::evidence {
namespace {

// Largest power of two strictly below n (n >= 2).
uint64_t splitPoint(uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

absl::StatusOr<CompactRange> CompactRange::fromHashes(const Hasher& hasher, uint64_t size,
                                                      std::vector<Hash> hashes) {
  if (hashes.size() != static_cast<size_t>(std::popcount(size))) {
    return absl::InvalidArgumentError(absl::StrCat("compact range of size ", size, " needs ",
                                                   std::popcount(size), " hashes, got ",
                                                   hashes.size()));
  }
  CompactRange range(hasher);
  range.size_ = size;
  range.hashes_ = std::move(hashes);
  return range;
}

void CompactRange::append(const Hash& leafHash) {
  Hash h = leafHash;
  // Each trailing one bit of the old size is a perfect subtree that now gets a sibling.
  for (uint64_t s = size_; (s & 1) != 0; s >>= 1) {
    h = hasher_.nodeHash(hashes_.back(), h);
    hashes_.pop_back();
  }
  hashes_.push_back(h);
  ++size_;
}

Hash CompactRange::root() const {
  if (hashes_.empty()) return hasher_.emptyRoot();
  Hash r = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) {
    r = hasher_.nodeHash(hashes_[i], r);
  }
  return r;
}

void MerkleTree::append(const Hash& leafHash) {
  levels_[0].push_back(leafHash);
  for (size_t l = 0; levels_[l].size() % 2 == 0; ++l) {
    if (levels_.size() == l + 1) levels_.emplace_back();
    const auto& lv = levels_[l];
    levels_[l + 1].push_back(hasher_.nodeHash(lv[lv.size() - 2], lv[lv.size() - 1]));
  }
}

void MerkleTree::truncate(uint64_t size) {
  if (size >= this->size()) return;
  for (size_t l = 0; l < levels_.size(); ++l) {
    levels_[l].resize(size >> l);
  }
}

Hash MerkleTree::rangeHash(uint64_t begin, uint64_t end) const {
  const uint64_t n = end - begin;
  if (n == 0) return hasher_.emptyRoot();
  if (std::has_single_bit(n) && begin % n == 0) {
    const int level = std::countr_zero(n);
    return levels_[level][begin >> level];
  }
  const uint64_t k = splitPoint(n);
  return hasher_.nodeHash(rangeHash(begin, begin + k), rangeHash(begin + k, end));
}

absl::StatusOr<Hash> MerkleTree::root(uint64_t size) const {
  if (size > this->size()) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", size, " beyond log size ", this->size()));
  }
  return rangeHash(0, size);
}

void MerkleTree::path(uint64_t index, uint64_t begin, uint64_t end, std::vector<Hash>& out) const {
  const uint64_t n = end - begin;
  if (n <= 1) return;
  const uint64_t k = splitPoint(n);
  if (index < k) {
    path(index, begin, begin + k, out);
    out.push_back(rangeHash(begin + k, end));
  } else {
    path(index - k, begin + k, end, out);
    out.push_back(rangeHash(begin, begin + k));
  }
}

absl::StatusOr<std::vector<Hash>> MerkleTree::inclusionProof(uint64_t index, uint64_t size) const {
  if (size > this->size()) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", size, " beyond log size ", this->size()));
  }
  if (index >= size) {
    return absl::OutOfRangeError(absl::StrCat("leaf index ", index, " not below tree size ", size));
  }
  std::vector<Hash> out;
  path(index, 0, size, out);
  return out;
}

void MerkleTree::subproof(uint64_t m, uint64_t begin, uint64_t end, bool complete,
                          std::vector<Hash>& out) const {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!complete) out.push_back(rangeHash(begin, end));
    return;
  }
  const uint64_t k = splitPoint(n);
  if (m <= k) {
    subproof(m, begin, begin + k, complete, out);
    out.push_back(rangeHash(begin + k, end));
  } else {
    subproof(m - k, begin + k, end, false, out);
    out.push_back(rangeHash(begin, begin + k));
  }
}

absl::StatusOr<std::vector<Hash>> MerkleTree::consistencyProof(uint64_t size1,
                                                               uint64_t size2) const {
  if (size2 > size()) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", size2, " beyond log size ", size()));
  }
  if (size1 == 0 || size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("no consistency proof from size ", size1, " to ", size2));
  }
  std::vector<Hash> out;
  if (size1 < size2) subproof(size1, 0, size2, true, out);
  return out;
}

CompactRange MerkleTree::compactRange(uint64_t size) const {
  std::vector<Hash> hashes;
  uint64_t begin = 0;
  for (int bit = 63; bit >= 0; --bit) {
    const uint64_t n = uint64_t{1} << bit;
    if ((size & n) != 0) {
      hashes.push_back(levels_[bit][begin >> bit]);
      begin += n;
    }
  }
  return *CompactRange::fromHashes(hasher_, size, std::move(hashes));
}

namespace merkle {
namespace {
MerkleTree buildTree(const Hasher& hasher, std::span<const Hash> leafHashes) {
  MerkleTree tree(hasher);
  for (const auto& h : leafHashes) tree.append(h);
  return tree;
}
}  // namespace

Hash rootFromLeaves(const Hasher& hasher, std::span<const Hash> leafHashes) {
  CompactRange range(hasher);
  for (const auto& h : leafHashes) range.append(h);
  return range.root();
}

absl::StatusOr<std::vector<Hash>> inclusionProof(const Hasher& hasher,
                                                 std::span<const Hash> leafHashes,
                                                 uint64_t index, uint64_t size) {
  return buildTree(hasher, leafHashes).inclusionProof(index, size);
}

absl::StatusOr<std::vector<Hash>> consistencyProof(const Hasher& hasher,
                                                   std::span<const Hash> leafHashes,
                                                   uint64_t size1, uint64_t size2) {
  return buildTree(hasher, leafHashes).consistencyProof(size1, size2);
}

}  // namespace merkle
}  // namespace xborder::evidence
