#include "controlplane/evidence/crypto/hpke.h"

#include <gtest/gtest.h>

#include <string>

#include "controlplane/evidence/crypto/encoding.h"

namespace xborder::evidence::crypto {
namespace {

std::string h(std::string_view hex) { return *hexDecode(hex); }

// RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base.
constexpr std::string_view kSkEm = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
constexpr std::string_view kPkEm = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
constexpr std::string_view kSkRm = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
constexpr std::string_view kPkRm = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
constexpr std::string_view kInfo = "4f6465206f6e2061204772656369616e2055726e";
constexpr std::string_view kKey = "4531685d41d65f03dc48f6b8302c05b0";
constexpr std::string_view kBaseNonce = "56d890e5accaaf011cff4b7d";
constexpr std::string_view kExporterSecret = "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8";
constexpr std::string_view kPt = "4265617574792069732074727574682c20747275746820626561757479";
constexpr std::string_view kCt0 =
    "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a";
constexpr std::string_view kCt1 =
    "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84";

TEST(Hpke, Rfc9180A11SenderMatches) {
  auto skE = PrivateKey::fromRaw(KeyType::kX25519, h(kSkEm));
  auto skR = PrivateKey::fromRaw(KeyType::kX25519, h(kSkRm));
  ASSERT_TRUE(skE.ok() && skR.ok());
  EXPECT_EQ(hexEncode(skE->publicKey().raw()), kPkEm);
  EXPECT_EQ(hexEncode(skR->publicKey().raw()), kPkRm);
  auto s = hpkeSetupBaseS(skR->publicKey(), h(kInfo), HpkeAead::kAes128Gcm, &*skE);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(hexEncode(s->enc), kPkEm);
  EXPECT_EQ(hexEncode(s->context.key()), kKey);
  EXPECT_EQ(hexEncode(s->context.baseNonce()), kBaseNonce);
  EXPECT_EQ(hexEncode(s->context.exporterSecret()), kExporterSecret);
  auto ct0 = s->context.seal("Count-0", h(kPt));
  ASSERT_TRUE(ct0.ok());
  EXPECT_EQ(hexEncode(*ct0), kCt0);
  auto ct1 = s->context.seal("Count-1", h(kPt));
  ASSERT_TRUE(ct1.ok());
  EXPECT_EQ(hexEncode(*ct1), kCt1);
  auto e0 = s->context.exportSecret("", 32);
  auto e1 = s->context.exportSecret(std::string(1, '\0'), 32);
  ASSERT_TRUE(e0.ok() && e1.ok());
  EXPECT_EQ(hexEncode(*e0), "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee");
  EXPECT_EQ(hexEncode(*e1), "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5");
}

TEST(Hpke, Rfc9180A11RecipientOpens) {
  auto skR = PrivateKey::fromRaw(KeyType::kX25519, h(kSkRm));
  ASSERT_TRUE(skR.ok());
  auto r = hpkeSetupBaseR(h(kPkEm), *skR, h(kInfo), HpkeAead::kAes128Gcm);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(hexEncode(r->key()), kKey);
  auto pt0 = r->open("Count-0", h(kCt0));
  ASSERT_TRUE(pt0.ok()) << pt0.status();
  EXPECT_EQ(hexEncode(*pt0), kPt);
  auto pt1 = r->open("Count-1", h(kCt1));
  ASSERT_TRUE(pt1.ok()) << pt1.status();
  auto single = hpkeOpenBase(*skR, h(kPkEm), h(kInfo), "Count-0", h(kCt0), HpkeAead::kAes128Gcm);
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(hexEncode(*single), kPt);
}

TEST(Hpke, Aes256RoundTripAndTamper) {
  auto skR = PrivateKey::generate(KeyType::kX25519);
  ASSERT_TRUE(skR.ok());
  const std::string aad = envelopeAad("evidence.example/appliance-01", 42, "payload_snippet", 0x01020304);
  const std::string info = "ev-envelope/v1 hpke";
  auto sealed = hpkeSealBase(skR->publicKey(), info, aad, "id card 110101199003077777");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->ciphertext.size(), 26u + 16u);
  auto pt = hpkeOpenBase(*skR, sealed->enc, info, aad, sealed->ciphertext);
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(*pt, "id card 110101199003077777");

  std::string flipped = sealed->ciphertext;
  flipped[3] ^= 0x01;
  EXPECT_EQ(hpkeOpenBase(*skR, sealed->enc, info, aad, flipped).status().code(), absl::StatusCode::kUnauthenticated);
  // The same envelope moved to another leaf: the AAD differs.
  const std::string moved = envelopeAad("evidence.example/appliance-01", 43, "payload_snippet", 0x01020304);
  EXPECT_EQ(hpkeOpenBase(*skR, sealed->enc, info, moved, sealed->ciphertext).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(hpkeOpenBase(*skR, sealed->enc, "other info", aad, sealed->ciphertext).status().code(),
            absl::StatusCode::kUnauthenticated);
  std::string enc = sealed->enc;
  enc[0] ^= 0x40;
  EXPECT_FALSE(hpkeOpenBase(*skR, enc, info, aad, sealed->ciphertext).ok());
  auto other = PrivateKey::generate(KeyType::kX25519);
  EXPECT_EQ(hpkeOpenBase(*other, sealed->enc, info, aad, sealed->ciphertext).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Wrong suite (AES-128 instead of AES-256) derives other keys.
  EXPECT_FALSE(hpkeOpenBase(*skR, sealed->enc, info, aad, sealed->ciphertext, HpkeAead::kAes128Gcm).ok());
  EXPECT_FALSE(hpkeOpenBase(*skR, sealed->enc, info, aad, "short").ok());
}

TEST(Hpke, RejectsNonX25519KeysAndSmallOrderPoints) {
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(ed.ok());
  EXPECT_FALSE(hpkeSealBase(ed->publicKey(), "", "", "x").ok());
  auto skR = PrivateKey::generate(KeyType::kX25519);
  // enc = the all-zero point gives an all-zero shared secret, which must be refused.
  EXPECT_FALSE(hpkeOpenBase(*skR, std::string(32, '\0'), "", "", std::string(20, 'x')).ok());
}

TEST(Hpke, EnvelopeAadIsUnambiguous) {
  EXPECT_NE(envelopeAad("ab", 1, "c", 7), envelopeAad("a", 1, "bc", 7));
  EXPECT_NE(envelopeAad("a", 1, "c", 7), envelopeAad("a", 1, "c", 8));
  EXPECT_EQ(envelopeAad("o", 1, "f", 2).size(), 14u + 2 + 1 + 8 + 2 + 1 + 4);
}

}  // namespace
}  // namespace xborder::evidence::crypto
