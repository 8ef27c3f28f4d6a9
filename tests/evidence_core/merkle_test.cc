// RFC 9162 hasher vectors, the transparency-dev golden proof probes (every inclusion
// and consistency file, asserting wantErr), the 8-leaf reference tree, and property
// tests of the incremental tree and compact range against a naive recursive tree.
#include <gtest/gtest.h>

#include <bit>
#include <filesystem>
#include <random>
#include <unordered_map>

#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/merkle/merkle_verify.h"
#include "tests/evidence_core/ev_test_util.h"

namespace xborder::evidence {
namespace {

using testing::base64Decode;
using testing::hexDecode;

const std::vector<std::string> kLeafInputsHex = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"};

// transparency-dev/merkle testonly/constants.go RootHashes(), sizes 0..8.
const std::vector<std::string> kRootsHex = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

TEST(MerkleHasher, Rfc6962Vectors) {
  Hasher h(HashAlg::kSha256);
  EXPECT_EQ(toHex(h.emptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(toHex(h.leafHash(std::string_view())),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(toHex(h.leafHash(std::string_view("L123456"))),
            "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
  EXPECT_EQ(toHex(h.nodeHash(std::string_view("N123"), std::string_view("N456"))),
            "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
}

// transparency-dev TestRFC6962HasherCollisions: a leaf and a node with the same bytes
// must not collide, and swapping children must change the node.
TEST(MerkleHasher, DomainSeparation) {
  Hasher h;
  const Hash l1 = h.leafHash(std::string_view("Hello"));
  const Hash l2 = h.leafHash(std::string_view("World"));
  const Hash node = h.nodeHash(l1, l2);
  std::string forged(reinterpret_cast<const char*>(l1.data()), 32);
  forged.append(reinterpret_cast<const char*>(l2.data()), 32);
  EXPECT_NE(h.leafHash(forged), node);
  EXPECT_NE(h.nodeHash(l2, l1), node);
}

TEST(MerkleHasher, Sm3Vectors) {
  Hasher h(HashAlg::kSm3);
  // GB/T 32905 "abc".
  EXPECT_EQ(toHex(h.digest("abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  // EVIDENCE.md §7.2: SM3 root of the 8-leaf reference tree.
  MerkleTree tree(h);
  for (const auto& in : kLeafInputsHex) tree.appendData(hexDecode(in));
  EXPECT_EQ(toHex(tree.root()), "bc48ba7a709184b5f2a631e1adeb8dc2a0d4c018c1d6cc89b5664fe154c93b38");
}

TEST(MerkleTree, ReferenceRootsAndCompactRanges) {
  Hasher h;
  MerkleTree tree(h);
  CompactRange range(h);
  EXPECT_EQ(toHex(tree.root()), kRootsHex[0]);
  EXPECT_EQ(toHex(range.root()), kRootsHex[0]);
  for (size_t i = 0; i < kLeafInputsHex.size(); ++i) {
    tree.appendData(hexDecode(kLeafInputsHex[i]));
    range.append(h.leafHash(hexDecode(kLeafInputsHex[i])));
    EXPECT_EQ(toHex(tree.root()), kRootsHex[i + 1]) << "size " << i + 1;
    EXPECT_EQ(toHex(range.root()), kRootsHex[i + 1]) << "size " << i + 1;
  }
  for (uint64_t s = 0; s <= 8; ++s) {
    EXPECT_EQ(toHex(*tree.root(s)), kRootsHex[s]);
    EXPECT_EQ(tree.compactRange(s).root(), *tree.root(s));
  }
  // CompactTrees()[7] = {nh[2][0], nh[1][2], nh[0][6]}.
  const auto c7 = tree.compactRange(7).hashes();
  ASSERT_EQ(c7.size(), 3u);
  EXPECT_EQ(toHex(c7[0]), "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  EXPECT_EQ(toHex(c7[1]), "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a");
  EXPECT_EQ(toHex(c7[2]), "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f");
  EXPECT_FALSE(tree.root(9).ok());
}

// EVIDENCE.md §7.5: index 5 in the tree of 8, and the consistency proof from 3 to 8.
TEST(MerkleTree, WorkedExampleProofs) {
  Hasher h;
  MerkleTree tree(h);
  for (const auto& in : kLeafInputsHex) tree.appendData(hexDecode(in));
  auto incl = tree.inclusionProof(5, 8);
  ASSERT_TRUE(incl.ok());
  ASSERT_EQ(incl->size(), 3u);
  EXPECT_EQ(testing::base64Encode(std::string(reinterpret_cast<const char*>((*incl)[0].data()), 32)),
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=");
  auto cons = tree.consistencyProof(3, 8);
  ASSERT_TRUE(cons.ok());
  ASSERT_EQ(cons->size(), 4u);
  EXPECT_EQ(toHex((*cons)[0]).substr(0, 8), "0298d122");
  EXPECT_EQ(toHex((*cons)[1]).substr(0, 8), "07506a85");
  EXPECT_EQ(toHex((*cons)[2]).substr(0, 8), "fac54203");
  EXPECT_EQ(toHex((*cons)[3]).substr(0, 8), "6b47aaf2");
  EXPECT_TRUE(merkle::verifyConsistency(h, 3, 8, *cons, *tree.root(3), tree.root()).ok());
}

// --- golden probes ---------------------------------------------------------------

std::filesystem::path probeDir() {
  const auto shared = testing::sharedDir();
  return shared.empty() ? shared : shared / "vectors/merkle/testdata";
}

std::vector<std::string> decodeAll(const std::vector<std::string>& b64, bool* ok) {
  std::vector<std::string> out;
  for (const auto& s : b64) {
    auto d = base64Decode(s);
    if (!d) *ok = false;
    out.push_back(d.value_or(""));
  }
  return out;
}

TEST(MerkleProbes, EveryInclusionProbe) {
  const auto dir = probeDir();
  if (dir.empty()) GTEST_SKIP() << "../shared is absent (no merkle test vectors)";
  Hasher h;
  int count = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "inclusion")) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    auto probe = testing::parseProbeJson(testing::readWholeFile(e.path()));
    ASSERT_TRUE(probe) << e.path();
    bool ok = true;
    const auto proof = decodeAll(probe->arrays["proof"], &ok);
    const auto leaf = base64Decode(probe->strings["leafHash"]);
    const auto root = base64Decode(probe->strings["root"]);
    ASSERT_TRUE(ok && leaf && root) << e.path();
    const absl::Status s = merkle::verifyInclusion(h, probe->numbers.at("leafIdx"),
                                                   probe->numbers.at("treeSize"), *leaf, proof, *root);
    const bool wantErr = probe->bools.at("wantErr");
    EXPECT_EQ(!s.ok(), wantErr) << e.path() << ": " << probe->strings["desc"] << ": " << s;
    ++count;
  }
  EXPECT_GE(count, 90);
}

TEST(MerkleProbes, EveryConsistencyProbe) {
  const auto dir = probeDir();
  if (dir.empty()) GTEST_SKIP() << "../shared is absent (no merkle test vectors)";
  Hasher h;
  int count = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "consistency")) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    auto probe = testing::parseProbeJson(testing::readWholeFile(e.path()));
    ASSERT_TRUE(probe) << e.path();
    bool ok = true;
    const auto proof = decodeAll(probe->arrays["proof"], &ok);
    const auto root1 = base64Decode(probe->strings["root1"]);
    const auto root2 = base64Decode(probe->strings["root2"]);
    ASSERT_TRUE(ok && root1 && root2) << e.path();
    const absl::Status s = merkle::verifyConsistency(h, probe->numbers.at("size1"),
                                                     probe->numbers.at("size2"), proof, *root1, *root2);
    const bool wantErr = probe->bools.at("wantErr");
    EXPECT_EQ(!s.ok(), wantErr) << e.path() << ": " << probe->strings["desc"] << ": " << s;
    ++count;
  }
  EXPECT_GE(count, 90);
}

// --- naive reference (RFC 9162 §2.1 definitions, straight recursion) ---------------
// MTH(D[a:b]) depends only on the leaves in [a, b), which never change as the tree
// grows, so a memo keyed by (a, b) keeps the definitions as written while making
// "every index pair of every size up to 512" affordable.

class NaiveTree {
 public:
  explicit NaiveTree(const Hasher& h) : h_(h) {}
  void append(const Hash& leaf) { leaves_.push_back(leaf); }
  uint64_t size() const { return leaves_.size(); }

  Hash mth(uint64_t a, uint64_t b) {
    if (b - a == 0) return h_.emptyRoot();
    if (b - a == 1) return leaves_[a];
    const uint64_t key = (a << 32) | b;
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    const uint64_t k = std::bit_floor(b - a - 1);
    const Hash r = h_.nodeHash(mth(a, a + k), mth(a + k, b));
    memo_.emplace(key, r);
    return r;
  }

  // PATH(m, D[a:b])
  std::vector<Hash> path(uint64_t m, uint64_t a, uint64_t b) {
    if (b - a <= 1) return {};
    const uint64_t k = std::bit_floor(b - a - 1);
    std::vector<Hash> out;
    if (m < k) {
      out = path(m, a, a + k);
      out.push_back(mth(a + k, b));
    } else {
      out = path(m - k, a + k, b);
      out.push_back(mth(a, a + k));
    }
    return out;
  }

  // SUBPROOF(m, D[a:b], complete)
  std::vector<Hash> subproof(uint64_t m, uint64_t a, uint64_t b, bool complete) {
    if (m == b - a) {
      if (complete) return {};
      return {mth(a, b)};
    }
    const uint64_t k = std::bit_floor(b - a - 1);
    std::vector<Hash> out;
    if (m <= k) {
      out = subproof(m, a, a + k, complete);
      out.push_back(mth(a + k, b));
    } else {
      out = subproof(m - k, a + k, b, false);
      out.push_back(mth(a, a + k));
    }
    return out;
  }

 private:
  Hasher h_;
  std::vector<Hash> leaves_;
  std::unordered_map<uint64_t, Hash> memo_;
};

// Every size 0..512 and, for SHA-256, every index and every old size of each: roots,
// compact ranges, PATH and PROOF against the naive definitions, and each proof through
// the verifier. SM3 runs the same on every 16th size.
TEST(MerkleProperty, IncrementalMatchesNaiveUpTo512) {
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSm3}) {
    Hasher h(alg);
    std::vector<Hash> leaves;
    NaiveTree naive(h);
    MerkleTree tree(h);
    CompactRange range(h);
    uint64_t proofs = 0;
    for (uint64_t n = 0; n <= 512; ++n) {
      if (n > 0) {
        leaves.push_back(h.leafHash(std::to_string(n * 7919)));
        naive.append(leaves.back());
        tree.append(leaves.back());
        range.append(leaves.back());
      }
      const Hash want = naive.mth(0, n);
      ASSERT_EQ(tree.root(), want) << "size " << n;
      ASSERT_EQ(range.root(), want) << "size " << n;
      ASSERT_EQ(merkle::rootFromLeaves(h, leaves), want);
      if (alg == HashAlg::kSm3 && n % 16 != 0) continue;
      for (uint64_t i = 0; i < n; ++i) {
        auto p = tree.inclusionProof(i, n);
        ASSERT_TRUE(p.ok());
        ASSERT_EQ(*p, naive.path(i, 0, n)) << "PATH(" << i << ", " << n << ")";
        ASSERT_TRUE(merkle::verifyInclusion(h, i, n, leaves[i], *p, want).ok()) << i << "/" << n;
        const uint64_t m = i + 1;
        auto c = tree.consistencyProof(m, n);
        ASSERT_TRUE(c.ok());
        ASSERT_EQ(*c, naive.subproof(m, 0, n, true)) << "PROOF(" << m << ", " << n << ")";
        const Hash old = naive.mth(0, m);
        ASSERT_TRUE(merkle::verifyConsistency(h, m, n, *c, old, want).ok()) << m << " -> " << n;
        ASSERT_EQ(tree.compactRange(m).root(), old);
        proofs += 2;
      }
    }
    if (alg == HashAlg::kSha256) {
      EXPECT_EQ(proofs, 513u * 512u);  // every (index, size) and (old size, size) pair
    }
  }
}

// CT merkle_tree_test.cc VerifierCheck mutations on generated proofs.
TEST(MerkleProperty, MutatedProofsFail) {
  Hasher h;
  MerkleTree tree(h);
  for (int i = 0; i < 37; ++i) tree.appendData(std::to_string(i));
  const Hash root = tree.root();
  for (uint64_t i = 0; i < 37; ++i) {
    const auto proof = *tree.inclusionProof(i, 37);
    const Hash leaf = tree.leafHash(i);
    ASSERT_TRUE(merkle::verifyInclusion(h, i, 37, leaf, proof, root).ok());
    EXPECT_FALSE(merkle::verifyInclusion(h, i + 1, 37, leaf, proof, root).ok());
    if (i > 0) {
      EXPECT_FALSE(merkle::verifyInclusion(h, i - 1, 37, leaf, proof, root).ok());
    }
    EXPECT_FALSE(merkle::verifyInclusion(h, i ^ 2, 37, leaf, proof, root).ok());
    EXPECT_FALSE(merkle::verifyInclusion(h, i, 74, leaf, proof, root).ok());
    EXPECT_FALSE(merkle::verifyInclusion(h, i, 18, leaf, proof, root).ok());
    EXPECT_FALSE(merkle::verifyInclusion(h, i, 37, h.leafHash(std::string_view("x")), proof, root).ok());
    EXPECT_FALSE(merkle::verifyInclusion(h, i, 37, leaf, proof, leaf).ok());
    for (size_t j = 0; j < proof.size(); ++j) {
      auto bad = proof;
      bad[j][j % 32] ^= 1;
      EXPECT_FALSE(merkle::verifyInclusion(h, i, 37, leaf, bad, root).ok());
    }
    auto longer = proof;
    longer.push_back(root);
    EXPECT_FALSE(merkle::verifyInclusion(h, i, 37, leaf, longer, root).ok());
    longer = proof;
    longer.insert(longer.begin(), root);
    EXPECT_FALSE(merkle::verifyInclusion(h, i, 37, leaf, longer, root).ok());
    auto shorter = proof;
    shorter.pop_back();
    EXPECT_FALSE(merkle::verifyInclusion(h, i, 37, leaf, shorter, root).ok());
  }
  EXPECT_FALSE(merkle::verifyConsistency(h, 0, 37, std::vector<Hash>{}, h.emptyRoot(), root).ok());
  EXPECT_FALSE(merkle::verifyConsistency(h, 37, 36, std::vector<Hash>{}, root, *tree.root(36)).ok());
  EXPECT_TRUE(merkle::verifyConsistency(h, 37, 37, std::vector<Hash>{}, root, root).ok());
}

TEST(MerkleTree, TruncateThenRegrow) {
  Hasher h;
  MerkleTree a(h), b(h);
  for (int i = 0; i < 100; ++i) a.appendData(std::to_string(i));
  a.truncate(61);
  for (int i = 0; i < 61; ++i) b.appendData(std::to_string(i));
  EXPECT_EQ(a.root(), b.root());
  for (int i = 61; i < 90; ++i) {
    a.appendData("n" + std::to_string(i));
    b.appendData("n" + std::to_string(i));
  }
  EXPECT_EQ(a.root(), b.root());
  EXPECT_EQ(*a.inclusionProof(70, 90), *b.inclusionProof(70, 90));
}

TEST(CompactRange, FromHashesChecksCount) {
  Hasher h;
  EXPECT_FALSE(CompactRange::fromHashes(h, 7, {h.emptyRoot()}).ok());
  MerkleTree tree(h);
  for (int i = 0; i < 7; ++i) tree.appendData(std::to_string(i));
  auto r = CompactRange::fromHashes(h, 7, tree.compactRange(7).hashes());
  ASSERT_TRUE(r.ok());
  r->append(h.leafHash(std::string_view("7")));
  tree.appendData("7");
  EXPECT_EQ(r->root(), tree.root());
}

}  // namespace
}  // namespace xborder::evidence
