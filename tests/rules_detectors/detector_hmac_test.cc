// KeyedHmac (precomputed-state HMAC-SHA256) against RFC 4231 and against OpenSSL's
// EVP_MAC HMAC, which the detectors used before: the keyed hashes in counters and
// evidence records must not change.
#include "rules/detectors/detector_hmac.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "rules/detectors/detector_scanner.h"
#include "tests/rules_detectors/detector_test_util.h"

namespace xborder::rules::detectors {
namespace {

std::vector<uint8_t> bytesOf(std::string_view s) { return {s.begin(), s.end()}; }

std::string hex(std::span<const uint8_t> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// The reference: OpenSSL's EVP_MAC HMAC with SHA-256 (what Scanner used until now).
std::vector<uint8_t> evpHmac(std::span<const uint8_t> key, std::span<const uint8_t> msg) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EXPECT_NE(mac, nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  size_t len = 0;
  // EVP_MAC_init refuses an empty key pointer; HMAC with an empty key is the all-zero block.
  static const uint8_t kEmpty[1] = {0};
  const bool ok = EVP_MAC_init(ctx, key.empty() ? kEmpty : key.data(), key.size(), params) == 1 &&
                  EVP_MAC_update(ctx, msg.data(), msg.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1;
  EXPECT_TRUE(ok);
  EVP_MAC_CTX_free(ctx);
  out.resize(len);
  return out;
}

// RFC 4231 §4: HMAC-SHA-256 test cases 1-4, 6 and 7 (case 5 is a truncated output).
struct Rfc4231Case {
  int number;
  std::vector<uint8_t> key;
  std::vector<uint8_t> data;
  std::string_view hmacSha256;
};

std::vector<Rfc4231Case> rfc4231() {
  std::vector<uint8_t> key4;
  for (uint8_t i = 1; i <= 0x19; ++i) key4.push_back(i);
  return {
      {1, std::vector<uint8_t>(20, 0x0b), bytesOf("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {2, bytesOf("Jefe"), bytesOf("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {3, std::vector<uint8_t>(20, 0xaa), std::vector<uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {4, key4, std::vector<uint8_t>(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {6, std::vector<uint8_t>(131, 0xaa), bytesOf("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {7, std::vector<uint8_t>(131, 0xaa),
       bytesOf("This is a test using a larger than block-size key and a larger than block-size data. "
               "The key needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(KeyedHmacTest, Rfc4231Vectors) {
  for (const auto& c : rfc4231()) {
    const KeyedHmac h(c.key);
    EXPECT_EQ(hex(h.mac(c.data)), c.hmacSha256) << "RFC 4231 test case " << c.number;
    // The reference agrees too (guards the vectors typed in above).
    EXPECT_EQ(hex(evpHmac(c.key, c.data)), c.hmacSha256) << "EVP_MAC, test case " << c.number;
  }
}

TEST(KeyedHmacTest, MatchesEvpMacForRandomKeysAndMessages) {
  std::mt19937_64 rng(20251123);
  // Lengths around the SHA-256 block (64) and padding (55/56) boundaries, and beyond.
  const size_t kKeyLens[] = {0, 1, 16, 31, 32, 55, 56, 63, 64, 65, 100, 128, 129, 200};
  const size_t kMsgLens[] = {0, 1, 2, 18, 19, 54, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 300, 1000};
  int checked = 0;
  for (size_t kl : kKeyLens) {
    for (int rep = 0; rep < 4; ++rep) {
      std::vector<uint8_t> key(kl);
      for (auto& b : key) b = static_cast<uint8_t>(rng());
      const KeyedHmac h(key);
      for (size_t ml : kMsgLens) {
        std::vector<uint8_t> msg(ml);
        for (auto& b : msg) b = static_cast<uint8_t>(rng());
        const auto want = evpHmac(key, msg);
        const auto got = h.mac(msg);
        ASSERT_EQ(hex(got), hex(want)) << "key " << kl << " bytes, message " << ml << " bytes";
        // Split into two parts anywhere: the same MAC as the concatenation.
        const size_t cut = ml ? rng() % (ml + 1) : 0;
        const std::span<const uint8_t> all(msg);
        ASSERT_EQ(hex(h.mac(all.first(cut), all.subspan(cut))), hex(want)) << "cut at " << cut;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 14 * 4 * 18);
}

TEST(KeyedHmacTest, CopiesHashAlikeAndKeysMatter) {
  const auto key = testing::testKey();
  const KeyedHmac a(key);
  const KeyedHmac b = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test
  const auto msg = bytesOf("11010519491231002X");
  EXPECT_EQ(a.mac(msg), b.mac(msg));
  auto other = key;
  other.back() ^= 1;
  EXPECT_NE(KeyedHmac(other).mac(msg), a.mac(msg));
}

// Scanner::keyedHash = first 8 bytes, big-endian, of HMAC-SHA256(key, tag || identifier),
// exactly as the EVP_MAC code computed it; plus one value pinned from outside
// (`printf '\x0011010519491231002X' | openssl dgst -sha256 -hmac xb-test-key-0001`).
TEST(KeyedHmacTest, ScannerKeyedHashUnchanged) {
  const auto key = testing::testKey();
  DetectorSetSpec spec;  // keyedHash does not depend on the set: the smallest one builds fastest
  spec.detectors.push_back({.name = "cn_resident_id"});
  auto set = DetectorSet::build(spec);
  ASSERT_TRUE(set.ok()) << set.status();
  auto sc = Scanner::create(*set, key, 20251123);
  ASSERT_TRUE(sc.ok()) << sc.status();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    const uint8_t tag = static_cast<uint8_t>(i % kDetectorCount);
    std::string id(1 + rng() % 40, '0');
    for (auto& ch : id) ch = static_cast<char>('0' + rng() % 10);
    const std::vector<uint8_t> msg = bytesOf(std::string(1, static_cast<char>(tag)) + id);
    const auto ref = evpHmac(key, msg);
    uint64_t want = 0;
    for (int j = 0; j < 8; ++j) want = (want << 8) | ref[j];
    ASSERT_EQ((*sc)->keyedHash(tag, id.data(), id.size()), want) << "identifier " << id;
  }
  const std::string id = "11010519491231002X";
  EXPECT_EQ((*sc)->keyedHash(0, id.data(), id.size()), 0x503f65a8bd8d999eULL) << "pinned value";
}

}  // namespace
}  // namespace xborder::rules::detectors
