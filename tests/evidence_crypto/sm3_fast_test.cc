// Sm3Fast against OpenSSL's EVP_sm3: the GB/T 32905-2016 vectors, every length up to
// 1,100 bytes, random incremental splits and random buffers up to 64 KiB.
#include "controlplane/evidence/crypto/sm3_fast.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace xborder::evidence::crypto {
namespace {

std::string hex(const uint8_t* d) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < kSm3DigestSize; ++i) {
    out += kDigits[d[i] >> 4];
    out += kDigits[d[i] & 15];
  }
  return out;
}

std::string openssl(const std::vector<uint8_t>& data) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out, &n, EVP_sm3(), nullptr), 1);
  EXPECT_EQ(n, kSm3DigestSize);
  return hex(out);
}

std::string fast(const std::vector<uint8_t>& data) {
  auto d = Sm3Fast::digest(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  return hex(d.data());
}

std::vector<uint8_t> randomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(Sm3FastTest, StandardVectors) {
  // GB/T 32905-2016, appendix A.1 and A.2.
  const std::string abc = "abc";
  std::string abcd16;
  for (int i = 0; i < 16; ++i) abcd16 += "abcd";
  EXPECT_EQ(hex(Sm3Fast::digest(abc).data()), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  EXPECT_EQ(hex(Sm3Fast::digest(abcd16).data()), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
  EXPECT_EQ(hex(Sm3Fast::digest("").data()), openssl({}));
  const char* v = sm3FastVariant();
  EXPECT_TRUE(std::strcmp(v, "bmi2") == 0 || std::strcmp(v, "portable") == 0) << v;
}

TEST(Sm3FastTest, EveryLengthUpTo1100MatchesOpenSsl) {
  std::mt19937_64 rng(1);
  const auto data = randomBytes(rng, 1100);
  for (size_t n = 0; n <= data.size(); ++n) {
    std::vector<uint8_t> prefix(data.begin(), data.begin() + static_cast<long>(n));
    ASSERT_EQ(fast(prefix), openssl(prefix)) << "length " << n;
  }
}

TEST(Sm3FastTest, RandomIncrementalSplitsMatchOpenSsl) {
  std::mt19937_64 rng(2);
  for (int iter = 0; iter < 500; ++iter) {
    const auto data = randomBytes(rng, rng() % 3000);
    Sm3Fast h;
    size_t at = 0;
    while (at < data.size()) {
      // Pieces of 0..200 bytes: inside a block, across one, and several blocks at once.
      size_t take = std::min<size_t>(data.size() - at, rng() % 201);
      h.update(data.data() + at, take);
      at += take;
    }
    uint8_t out[kSm3DigestSize];
    h.finish(out);
    ASSERT_EQ(hex(out), openssl(data)) << "iteration " << iter << ", " << data.size() << " bytes";
    // reset() makes the object reusable.
    h.reset();
    h.update(data.data(), data.size());
    h.finish(out);
    ASSERT_EQ(hex(out), openssl(data));
  }
}

TEST(Sm3FastTest, RandomBuffersUpTo64KiBMatchOpenSsl) {
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 1200; ++iter) {
    const auto data = randomBytes(rng, rng() % (64 * 1024 + 1));
    ASSERT_EQ(fast(data), openssl(data)) << "iteration " << iter << ", " << data.size() << " bytes";
  }
}

TEST(Sm3FastTest, OneChangedBitChangesTheDigest) {
  std::mt19937_64 rng(4);
  auto data = randomBytes(rng, 4096);
  const std::string before = fast(data);
  data[rng() % data.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
  EXPECT_NE(fast(data), before);
  EXPECT_EQ(fast(data), openssl(data));
}

}  // namespace
}  // namespace xborder::evidence::crypto
