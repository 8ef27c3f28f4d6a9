// Hasher's SHA-256 fast paths (low-level SHA256_*, and node hashes as two hand-padded
// blocks) must give exactly what OpenSSL's EVP one-shot digest gives for the same
// RFC 9162 input; SM3 (EVP path) likewise.
#include <openssl/evp.h>

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"

namespace xborder::evidence {
namespace {

Hash evpDigest(HashAlg alg, const std::string& data) {
  Hash out{};
  unsigned int n = 0;
  const EVP_MD* md = alg == HashAlg::kSm3 ? EVP_sm3() : EVP_sha256();
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &n, md, nullptr), 1);
  EXPECT_EQ(n, kHashSize);
  return out;
}

std::string bytesOf(const Hash& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }

class HasherPaths : public ::testing::TestWithParam<HashAlg> {};

TEST_P(HasherPaths, NodeHashesMatchTheOneShotDigest) {
  const Hasher h(GetParam());
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Hash a, b;
    for (auto& x : a) x = static_cast<uint8_t>(rng());
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    const Hash want = evpDigest(GetParam(), std::string(1, '\x01') + bytesOf(a) + bytesOf(b));
    ASSERT_EQ(h.nodeHash(a, b), want) << i;
    ASSERT_EQ(h.nodeHash(std::string_view(bytesOf(a)), std::string_view(bytesOf(b))), want) << i;
  }
}

TEST_P(HasherPaths, LeafHashesMatchTheOneShotDigestAtEveryLength) {
  const Hasher h(GetParam());
  std::mt19937_64 rng(11);
  std::string data;
  for (size_t len = 0; len <= 400; ++len) {  // every padding case around 1 to 7 blocks
    const Hash want = evpDigest(GetParam(), std::string(1, '\0') + data);
    ASSERT_EQ(h.leafHash(std::string_view(data)), want) << len;
    ASSERT_EQ(h.digest(data), evpDigest(GetParam(), data)) << len;
    data.push_back(static_cast<char>(rng()));
  }
  EXPECT_EQ(h.emptyRoot(), evpDigest(GetParam(), ""));
}

INSTANTIATE_TEST_SUITE_P(Algs, HasherPaths, ::testing::Values(HashAlg::kSha256, HashAlg::kSm3));

}  // namespace
}  // namespace xborder::evidence
