#include "controlplane/evidence/crypto/certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace xborder::evidence::crypto {
namespace {

std::string run(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    *rc = -1;
    return out;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  *rc = ::pclose(p);
  return out;
}

std::string writeTemp(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()));
  std::ofstream(path) << content;
  return path.string();
}

CertSubject subject() {
  CertSubject s;
  s.common_name = "evidence.example/appliance-01";
  s.organization = "示例数据跨境服务有限公司";
  s.org_unit = "Lingang FTZ";
  s.serial_number = "XB-0001";
  return s;
}

class Certificate : public ::testing::TestWithParam<KeyType> {};

TEST_P(Certificate, SelfSignedVerifiesOnlyWithItsKey) {
  auto key = PrivateKey::generate(GetParam());
  ASSERT_TRUE(key.ok());
  auto pem = makeSelfSignedCert(*key, subject(), CertOptions{.not_before_unix = 0, .days = 365, .serial = 42});
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_TRUE(verifyCertSignature(*pem, key->publicKey()).ok());
  auto other = PrivateKey::generate(GetParam());
  EXPECT_EQ(verifyCertSignature(*pem, other->publicKey()).code(), absl::StatusCode::kUnauthenticated);
  auto pub = certPublicKey(*pem);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->raw(), key->publicKey().raw());
  auto fp256 = certFingerprint(*pem, "SHA256");
  auto fpsm3 = certFingerprint(*pem, "SM3");
  ASSERT_TRUE(fp256.ok() && fpsm3.ok());
  EXPECT_EQ(fp256->size(), 64u);
  EXPECT_EQ(fpsm3->size(), 64u);
  EXPECT_NE(*fp256, *fpsm3);

  // Read back with the openssl CLI: algorithm, extensions and subject as intended.
  const std::string path = writeTemp("evcert", *pem);
  int rc = 0;
  std::string text = run("openssl x509 -noout -text -nameopt utf8 -in " + path, &rc);
  std::filesystem::remove(path);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find(GetParam() == KeyType::kSm2 ? "SM2-with-SM3" : "ED25519"), std::string::npos) << text;
  EXPECT_NE(text.find("Digital Signature, Non Repudiation"), std::string::npos) << text;
  EXPECT_NE(text.find("CA:FALSE"), std::string::npos) << text;
  EXPECT_NE(text.find("Serial Number: 42"), std::string::npos) << text;
  EXPECT_NE(text.find("示例数据跨境服务有限公司"), std::string::npos) << text;
}

TEST_P(Certificate, CsrVerifiesAndCliAgrees) {
  auto key = PrivateKey::generate(GetParam());
  ASSERT_TRUE(key.ok());
  auto csr = makeCsr(*key, subject());
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_TRUE(verifyCsr(*csr).ok());
  const std::string path = writeTemp("evcsr", *csr);
  int rc = 0;
  // The zone's CA will check the CSR with the SM2 ID; the CLI must agree.
  std::string opts = GetParam() == KeyType::kSm2 ? " -vfyopt distid:1234567812345678" : "";
  std::string out = run("openssl req -verify -noout -in " + path + opts, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("verify OK"), std::string::npos) << out;
  if (GetParam() == KeyType::kSm2) {
    // Without the ID the signature must not verify: proves we signed with it.
    // (openssl req -verify exits 0 either way on 3.0, so read its verdict.)
    out = run("openssl req -verify -noout -in " + path, &rc);
    EXPECT_NE(out.find("verify failure"), std::string::npos) << out;
  }
  std::filesystem::remove(path);
  // A CSR whose signature bytes were altered.
  std::string bad = *csr;
  size_t pos = bad.rfind("\n-----END") - 6;
  bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifyCsr(bad).ok());
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, Certificate, ::testing::Values(KeyType::kEd25519, KeyType::kSm2),
                         [](const ::testing::TestParamInfo<KeyType>& p) { return std::string(keyTypeName(p.param)); });

TEST(CertificateErrors, RejectsX25519AndEmptyName) {
  auto x = PrivateKey::generate(KeyType::kX25519);
  EXPECT_FALSE(makeSelfSignedCert(*x, subject()).ok());
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  EXPECT_FALSE(makeSelfSignedCert(*ed, CertSubject{}).ok());
  EXPECT_FALSE(certPublicKey("not a cert").ok());
}

}  // namespace
}  // namespace xborder::evidence::crypto
