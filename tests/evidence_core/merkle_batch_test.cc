// The two-lane SHA-256 leaf and node hashes (merkle_batch_sha256) against Hasher, which
// is OpenSSL's SHA-256: every padding boundary, lane pairs of unequal lengths, inputs
// past the lane buffer (the fallback), odd counts and in-place node levels; plus the
// RFC 9162 8-leaf reference root built only from batch calls.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "controlplane/evidence/merkle/merkle_batch_sha256.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"
#include "tests/evidence_core/ev_test_util.h"

namespace xborder::evidence {
namespace {

std::string randomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(MerkleBatchSha256, LeavesMatchHasherAtEveryLength) {
  std::printf("SHA-NI two-lane path: %s\n", batchSha256Accelerated() ? "yes" : "no (fallback)");
  const Hasher h(HashAlg::kSha256);
  std::mt19937_64 rng(20261123);
  std::vector<std::string> inputs;
  for (size_t len = 0; len <= 200; ++len) inputs.push_back(randomBytes(rng, len));  // 0..3 blocks, every pad edge
  for (size_t len : {2028, 2029, 2030, 2037, 2038, 2039, 2047, 2048, 5000}) {
    inputs.push_back(randomBytes(rng, len));  // around the lane-buffer limit, and over it
  }
  for (int i = 0; i < 500; ++i) inputs.push_back(randomBytes(rng, rng() % 700));  // unequal pairs
  for (size_t n : {inputs.size(), inputs.size() - 1, size_t{1}, size_t{0}}) {
    std::vector<std::string_view> views(inputs.begin(), inputs.begin() + static_cast<long>(n));
    std::vector<Hash> got(n);
    sha256LeafHashes(views.data(), n, got.data());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(toHex(got[i]), toHex(h.leafHash(views[i]))) << "input " << i << " of " << inputs[i].size() << " bytes";
    }
  }
}

TEST(MerkleBatchSha256, NodesMatchHasherAndMayOverwriteTheirInputs) {
  const Hasher h(HashAlg::kSha256);
  std::mt19937_64 rng(7);
  for (size_t pairs : {0, 1, 2, 3, 4, 5, 64, 101}) {
    std::vector<Hash> children(2 * pairs);
    for (auto& c : children) {
      for (auto& b : c) b = static_cast<uint8_t>(rng());
    }
    std::vector<Hash> want(pairs);
    for (size_t i = 0; i < pairs; ++i) want[i] = h.nodeHash(children[2 * i], children[2 * i + 1]);
    std::vector<Hash> got(pairs);
    sha256NodeHashes(children.data(), pairs, got.data());
    EXPECT_EQ(got, want) << pairs << " pairs";
    sha256NodeHashes(children.data(), pairs, children.data());  // in place, as a level fold does
    children.resize(pairs);
    EXPECT_EQ(children, want) << pairs << " pairs, in place";
  }
}

TEST(MerkleBatchSha256, ReferenceTreeRoot) {
  // RFC 9162 / transparency-dev 8-leaf reference tree (merkle_test.cc has the inputs).
  const std::vector<std::string> hex = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"};
  std::vector<std::string> bytes;
  for (const auto& x : hex) bytes.push_back(testing::hexDecode(x));
  std::vector<std::string_view> views(bytes.begin(), bytes.end());
  std::vector<Hash> level(8);
  sha256LeafHashes(views.data(), 8, level.data());
  for (size_t n = 8; n > 1; n /= 2) sha256NodeHashes(level.data(), n / 2, level.data());
  EXPECT_EQ(toHex(level[0]), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

}  // namespace
}  // namespace xborder::evidence
