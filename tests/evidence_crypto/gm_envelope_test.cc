#include "controlplane/evidence/crypto/gm_envelope.h"

#include <gtest/gtest.h>

#include <string>

#include "controlplane/evidence/crypto/hpke.h"

namespace xborder::evidence::crypto {
namespace {

class GmEnvelope : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = PrivateKey::generate(KeyType::kSm2);
    ASSERT_TRUE(k.ok());
    key_ = std::make_unique<PrivateKey>(*k);
    aad_ = envelopeAad("evidence.example/appliance-01", 7, "payload_snippet", 0xdeadbeef);
  }
  std::unique_ptr<PrivateKey> key_;
  std::string aad_;
};

TEST_F(GmEnvelope, RoundTripsManySizes) {
  for (size_t n : {0u, 1u, 15u, 16u, 17u, 300u, 10000u}) {
    std::string pt(n, '\0');
    for (size_t i = 0; i < n; ++i) pt[i] = static_cast<char>(i * 7 + 3);
    auto env = gmSeal(key_->publicKey(), aad_, pt);
    ASSERT_TRUE(env.ok()) << env.status();
    // magic+version 5, length 2, SM2Cipher of 32 bytes ~ 139..141, IV 16, C n, tag 32
    EXPECT_GE(env->size(), 5 + 2 + 135 + 16 + n + 32);
    EXPECT_LE(env->size(), 5 + 2 + 145 + 16 + n + 32);
    if (n >= 16) {
      EXPECT_EQ(env->find(pt), std::string::npos);  // not in the clear
    }
    auto back = gmOpen(*key_, aad_, *env);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, pt);
  }
}

TEST_F(GmEnvelope, SealIsRandomized) {
  auto a = gmSeal(key_->publicKey(), aad_, "same");
  auto b = gmSeal(key_->publicKey(), aad_, "same");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(GmEnvelope, EveryFlippedByteIsRejected) {
  auto env = gmSeal(key_->publicKey(), aad_, "passport E12345678");
  ASSERT_TRUE(env.ok());
  for (size_t i = 0; i < env->size(); ++i) {
    std::string bad = *env;
    bad[i] ^= 0x01;
    auto r = gmOpen(*key_, aad_, bad);
    ASSERT_FALSE(r.ok()) << "byte " << i << " accepted";
    EXPECT_TRUE(r.status().code() == absl::StatusCode::kUnauthenticated ||
                r.status().code() == absl::StatusCode::kInvalidArgument)
        << r.status();
  }
}

TEST_F(GmEnvelope, BindingAndKeyErrorsArePrecise) {
  auto env = gmSeal(key_->publicKey(), aad_, "snippet");
  ASSERT_TRUE(env.ok());
  // Moved to another leaf.
  auto moved = gmOpen(*key_, envelopeAad("evidence.example/appliance-01", 8, "payload_snippet", 0xdeadbeef), *env);
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(moved.status().message().find("HMAC-SM3 mismatch"), std::string::npos) << moved.status();
  // Another regulator key.
  auto other = PrivateKey::generate(KeyType::kSm2);
  auto wrong = gmOpen(*other, aad_, *env);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(wrong.status().message().find("wrapped key"), std::string::npos) << wrong.status();
  // Truncations and garbage.
  EXPECT_EQ(gmOpen(*key_, aad_, env->substr(0, 40)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gmOpen(*key_, aad_, "XXXX").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(gmOpen(*key_, aad_, *env + "x").ok());
  // Key types.
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  EXPECT_EQ(gmSeal(ed->publicKey(), aad_, "x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HpkeEnvelope, RoundTripAndTamper) {
  auto k = PrivateKey::generate(KeyType::kX25519);
  ASSERT_TRUE(k.ok());
  const std::string aad = envelopeAad("o", 1, "f", 2);
  auto env = hpkeSealEnvelope(k->publicKey(), aad, "plaintext");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->size(), 5u + 32 + 9 + 16);
  auto back = hpkeOpenEnvelope(*k, aad, *env);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "plaintext");
  for (size_t i = 0; i < env->size(); ++i) {
    std::string bad = *env;
    bad[i] ^= 0x80;
    EXPECT_FALSE(hpkeOpenEnvelope(*k, aad, bad).ok()) << "byte " << i;
  }
  EXPECT_FALSE(hpkeOpenEnvelope(*k, envelopeAad("o", 2, "f", 2), *env).ok());
}

}  // namespace
}  // namespace xborder::evidence::crypto
