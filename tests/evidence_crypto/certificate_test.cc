#include "controlplane/evidence/crypto/certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// The zone-CA flow: our CSR, issued by a CA run with the openssl CLI, then the
// chain verified offline. SM2 chains need the ID on every signature (§3.1 pitfall 5).
class CertChain : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "evchainXXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string p(const std::string& f) const { return dir_ + "/" + f; }
  std::string slurp(const std::string& f) const {
    std::ifstream in(p(f));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bool sm2() const { return GetParam() == KeyType::kSm2; }
  std::string sigopts() const { return sm2() ? " -sm3 -sigopt distid:1234567812345678" : ""; }
  // Makes a root CA "name" with the CLI.
  void makeRoot(const std::string& name) {
    int rc = 0;
    std::string alg = sm2() ? "SM2" : "ED25519";
    std::string out = run("openssl genpkey -algorithm " + alg + " -out " + p(name + ".key") +
                              " && openssl req -x509 -new -key " + p(name + ".key") + " -subj /CN=" + name + sigopts() +
                              " -days 3650 -out " + p(name + ".crt") +
                              " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
                          &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  // Issues `csr` with root `ca`; `id_on_sign` false signs SM2 with the empty ID.
  std::string issue(const std::string& ca, const std::string& csr_pem, const std::string& usage, bool id_on_sign) {
    std::ofstream(p("leaf.csr")) << csr_pem;
    std::ofstream(p("ext")) << "keyUsage=critical," << usage << "\n";
    std::string opts = sm2() ? (id_on_sign ? sigopts() : std::string(" -sm3")) + " -vfyopt distid:1234567812345678" : "";
    int rc = 0;
    std::string out = run("openssl x509 -req -in " + p("leaf.csr") + " -CA " + p(ca + ".crt") + " -CAkey " +
                              p(ca + ".key") + opts + " -days 365 -extfile " + p("ext") + " -out " + p("leaf.crt"),
                          &rc);
    EXPECT_EQ(rc, 0) << out;
    return slurp("leaf.crt");
  }
  std::string dir_;
};

TEST_P(CertChain, OurCsrIssuedByZoneCaVerifies) {
  makeRoot("zoneca");
  auto key = PrivateKey::generate(GetParam());
  ASSERT_TRUE(key.ok());
  auto csr = makeCsr(*key, subject());
  ASSERT_TRUE(csr.ok());
  const std::string leaf = issue("zoneca", *csr, "digitalSignature,nonRepudiation", true);
  auto info = verifyCertChain(leaf, slurp("zoneca.crt"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->chain_length, 2u);
  EXPECT_NE(info->subject.find("CN=evidence.example/appliance-01"), std::string::npos) << info->subject;
  EXPECT_EQ(info->issuer, "CN=zoneca");
  auto pub = certPublicKey(leaf);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->raw(), key->publicKey().raw());
  // Expired at a later verification time; another root is not trusted.
  EXPECT_NE(verifyCertChain(leaf, slurp("zoneca.crt"), info->not_after_unix + 86400).status().message().find("expired"),
            std::string::npos);
  makeRoot("otherca");
  auto other = verifyCertChain(leaf, slurp("otherca.crt"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifyCertChain("", slurp("zoneca.crt")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verifyCertChain(leaf, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(CertChain, WrongKeyUsageIsRejected) {
  makeRoot("zoneca");
  auto key = PrivateKey::generate(GetParam());
  const std::string leaf = issue("zoneca", *makeCsr(*key, subject()), "keyAgreement", true);
  auto r = verifyCertChain(leaf, slurp("zoneca.crt"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("keyUsage"), std::string::npos) << r.status();
}

TEST(CertChainSm2, SignedWithoutTheIdIsRejected) {
  // EVIDENCE.md §8 item 19: a CA that signed with the empty ID does not verify.
  std::string tmpl = (std::filesystem::temp_directory_path() / "evchainXXXXXX").string();
  const std::string dir = ::mkdtemp(tmpl.data());
  int rc = 0;
  std::string out = run("cd " + dir +
                            " && openssl genpkey -algorithm SM2 -out ca.key"
                            " && openssl req -x509 -new -key ca.key -subj /CN=ca -sm3 -sigopt distid:1234567812345678"
                            " -days 30 -out ca.crt -addext basicConstraints=critical,CA:TRUE"
                            " -addext keyUsage=critical,keyCertSign"
                            " && openssl genpkey -algorithm SM2 -out l.key"
                            " && openssl req -new -key l.key -subj /CN=l -sm3 -sigopt distid:1234567812345678 -out l.csr"
                            " && openssl x509 -req -in l.csr -CA ca.crt -CAkey ca.key -sm3"
                            " -vfyopt distid:1234567812345678 -days 30 -out l.crt",
                        &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream lc(dir + "/l.crt"), cc(dir + "/ca.crt");
  std::string leaf((std::istreambuf_iterator<char>(lc)), std::istreambuf_iterator<char>());
  std::string ca((std::istreambuf_iterator<char>(cc)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  auto r = verifyCertChain(leaf, ca);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("certificate signature failure"), std::string::npos) << r.status();
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, CertChain, ::testing::Values(KeyType::kEd25519, KeyType::kSm2),
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
