#include "controlplane/evidence/crypto/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "controlplane/evidence/crypto/encoding.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "tests/evidence_crypto/test_vectors.h"

namespace xborder::evidence::crypto {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "evkeysXXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(Keys, GenerateAndPemRoundTripEveryType) {
  for (KeyType t : {KeyType::kEd25519, KeyType::kSm2, KeyType::kX25519}) {
    auto k = PrivateKey::generate(t);
    ASSERT_TRUE(k.ok()) << k.status();
    EXPECT_EQ(k->type(), t);
    EXPECT_EQ(k->publicKey().raw().size(), t == KeyType::kSm2 ? 65u : 32u);
    auto pem = k->toPem();
    ASSERT_TRUE(pem.ok());
    auto back = PrivateKey::fromPem(*pem);
    ASSERT_TRUE(back.ok()) << keyTypeName(t) << ": " << back.status();
    EXPECT_EQ(back->type(), t) << keyTypeName(t);  // SM2 must stay SM2, not plain EC
    EXPECT_EQ(back->publicKey().raw(), k->publicKey().raw());
    auto pub_pem = k->publicKey().toPem();
    ASSERT_TRUE(pub_pem.ok());
    auto pub = PublicKey::fromPem(*pub_pem);
    ASSERT_TRUE(pub.ok()) << pub.status();
    EXPECT_EQ(pub->type(), t);
    EXPECT_EQ(pub->raw(), k->publicKey().raw());
    auto raw = PublicKey::fromRaw(t, k->publicKey().raw());
    ASSERT_TRUE(raw.ok()) << raw.status();
  }
}

TEST(Keys, RawImportIsDeterministicAndChecked) {
  // RFC 8032 test 1: secret 9d61b19d... -> public d75a9801...
  auto ed = PrivateKey::fromRaw(KeyType::kEd25519,
                                *hexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(ed.ok());
  EXPECT_EQ(hexEncode(ed->publicKey().raw()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  // GM/T 0003.5 sample: d -> (x, y) of the §7.4 vkey.
  auto sm2 = PrivateKey::fromRaw(KeyType::kSm2, *hexDecode(testing::kGmSampleDHex));
  ASSERT_TRUE(sm2.ok()) << sm2.status();
  EXPECT_EQ(hexEncode(sm2->publicKey().raw()),
            "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
            "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13");
  EXPECT_FALSE(PrivateKey::fromRaw(KeyType::kSm2, std::string(32, '\0')).ok());
  EXPECT_FALSE(PrivateKey::fromRaw(KeyType::kSm2, std::string(32, '\xff')).ok());  // >= n
  EXPECT_FALSE(PrivateKey::fromRaw(KeyType::kEd25519, std::string(31, 'a')).ok());
  EXPECT_FALSE(PublicKey::fromRaw(KeyType::kEd25519, std::string(33, 'a')).ok());
  std::string off_curve = sm2->publicKey().raw();
  off_curve[64] ^= 1;
  EXPECT_FALSE(PublicKey::fromRaw(KeyType::kSm2, off_curve).ok());
  std::string compressed = sm2->publicKey().raw().substr(0, 33);
  compressed[0] = 0x02;
  EXPECT_FALSE(PublicKey::fromRaw(KeyType::kSm2, compressed).ok());
  EXPECT_FALSE(PrivateKey::fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
}

TEST(Keys, SaveIs0600AndLoadRefusesWiderModes) {
  TempDir dir;
  auto k = PrivateKey::generate(KeyType::kSm2);
  ASSERT_TRUE(k.ok());
  const std::string path = dir.file("log.key");
  ASSERT_TRUE(k->save(path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto back = PrivateKey::load(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->publicKey().raw(), k->publicKey().raw());
  EXPECT_EQ(k->save(path).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto widened = PrivateKey::load(path);
  EXPECT_EQ(widened.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(widened.status().message().find("640"), std::string::npos) << widened.status();
  EXPECT_EQ(PrivateKey::load(dir.file("missing.key")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace xborder::evidence::crypto
