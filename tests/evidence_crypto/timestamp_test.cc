// RFC 3161 request/verify against a local TSA built with the openssl CLI
// (make_test_tsa.sh) in a temp dir, plus an in-process TSA with a pinned clock
// for the long-term-validation cases the CLI cannot produce.
#include "controlplane/evidence/crypto/timestamp.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/crypto/encoding.h"

namespace xborder::evidence::crypto {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path& p, std::string_view data) {
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

int sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf;
  size_t n;
  std::string o;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) o.append(buf.data(), n);
  if (out != nullptr) *out = o;
  return ::pclose(p);
}

const std::string kBody =
    "evidence.example/appliance-01\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
const std::string kOtherBody =
    "evidence.example/appliance-01\n9\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";

class Timestamp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "evtsaXXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    const fs::path script = fs::path(__FILE__).parent_path() / "make_test_tsa.sh";
    std::string out;
    int rc = sh("bash " + script.string() + " " + dir_.string(), &out);
    ASSERT_EQ(rc, 0) << out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // Runs `openssl ts -reply` with `cnf` on a DER request; returns the DER response.
  static std::string cliReply(const std::string& req_der, const std::string& cnf) {
    static int n = 0;
    const fs::path q = dir_ / ("q" + std::to_string(++n) + ".tsq");
    const fs::path r = dir_ / ("r" + std::to_string(n) + ".tsr");
    writeFile(q, req_der);
    std::string out;
    int rc = sh("openssl ts -reply -config " + (dir_ / cnf).string() + " -queryfile " + q.string() + " -out " +
                    r.string(),
                &out);
    EXPECT_EQ(rc, 0) << out;
    return readFile(r);
  }

  static std::string cliToken(const std::string& body, const std::string& cnf = "tsa.cnf", uint64_t* nonce = nullptr) {
    auto req = tsaRequest(body);
    EXPECT_TRUE(req.ok()) << req.status();
    if (nonce != nullptr) *nonce = req->nonce;
    auto token = tsaTokenFromResponse(cliReply(req->der, cnf));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : std::string();
  }

  // An in-process TSA whose clock is pinned to `when` (TS_RESP_CTX_set_time_cb).
  static std::string tokenAt(const std::string& req_der, const std::string& signer, time_t when) {
    TS_RESP_CTX* ctx = TS_RESP_CTX_new();
    FILE* cf = fopen((dir_ / (signer + ".crt")).c_str(), "r");
    FILE* kf = fopen((dir_ / (signer + ".key")).c_str(), "r");
    X509* cert = PEM_read_X509(cf, nullptr, nullptr, nullptr);
    EVP_PKEY* key = PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr);
    fclose(cf);
    fclose(kf);
    EXPECT_TRUE(cert && key);
    EXPECT_EQ(TS_RESP_CTX_set_signer_cert(ctx, cert), 1);
    EXPECT_EQ(TS_RESP_CTX_set_signer_key(ctx, key), 1);
    ASN1_OBJECT* policy = OBJ_txt2obj("1.2.3.4.1", 1);
    TS_RESP_CTX_set_def_policy(ctx, policy);
    TS_RESP_CTX_add_md(ctx, EVP_sha256());
    static time_t pinned;
    pinned = when;
    TS_RESP_CTX_set_time_cb(
        ctx,
        [](TS_RESP_CTX*, void*, long* sec, long* usec) -> int {
          *sec = static_cast<long>(pinned);
          *usec = 0;
          return 1;
        },
        nullptr);
    BIO* in = BIO_new_mem_buf(req_der.data(), static_cast<int>(req_der.size()));
    TS_RESP* resp = TS_RESP_create_response(ctx, in);
    EXPECT_NE(resp, nullptr);
    unsigned char* der = nullptr;
    int len = i2d_TS_RESP(resp, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    TS_RESP_free(resp);
    BIO_free(in);
    ASN1_OBJECT_free(policy);
    X509_free(cert);
    EVP_PKEY_free(key);
    TS_RESP_CTX_free(ctx);
    auto token = tsaTokenFromResponse(out);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : std::string();
  }

  static std::string roots() { return readFile(dir_ / "ca.crt"); }

  static inline fs::path dir_;
};

TEST_F(Timestamp, RequestIsWellFormedForTheCli) {
  auto req = tsaRequest(kBody);
  ASSERT_TRUE(req.ok()) << req.status();
  writeFile(dir_ / "wf.tsq", req->der);
  std::string out;
  ASSERT_EQ(sh("openssl ts -query -in " + (dir_ / "wf.tsq").string() + " -text", &out), 0) << out;
  EXPECT_NE(out.find("Hash Algorithm: sha256"), std::string::npos) << out;
  EXPECT_NE(out.find("Certificate required: yes"), std::string::npos) << out;
  EXPECT_EQ(out.find("Nonce: unspecified"), std::string::npos) << out;
  auto again = tsaRequest(kBody);
  EXPECT_NE(again->nonce, req->nonce);
}

TEST_F(Timestamp, CliTsaTokenVerifies) {
  uint64_t nonce = 0;
  const std::string token = cliToken(kBody, "tsa.cnf", &nonce);
  TsaVerifyOptions o;
  o.trusted_roots_pem = roots();
  o.nonce = nonce;
  const int64_t now = time(nullptr);
  auto info = verifyTsaToken(token, kBody, o);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_NEAR(static_cast<double>(info->gen_time_unix), static_cast<double>(now), 120.0);
  EXPECT_EQ(info->gen_time.size(), 20u);
  EXPECT_NE(info->tsa_name.find("CN=Test TSA"), std::string::npos) << info->tsa_name;
  EXPECT_NE(info->signer.find("CN=Test TSA"), std::string::npos) << info->signer;
  EXPECT_EQ(info->imprint_alg, "sha256");
  EXPECT_EQ(info->policy, "1.2.3.4.1");
  EXPECT_EQ(info->nonce, nonce);
  // The openssl CLI agrees with our verdict on the same token.
  writeFile(dir_ / "ok.tok", token);
  writeFile(dir_ / "ok.body", kBody);
  std::string out;
  EXPECT_EQ(sh("openssl ts -verify -token_in -in " + (dir_ / "ok.tok").string() + " -data " +
                   (dir_ / "ok.body").string() + " -CAfile " + (dir_ / "ca.crt").string(),
               &out),
            0)
      << out;
}

TEST_F(Timestamp, Sm3ImprintVerifies) {
  auto req = tsaRequest(kBody, TsaHash::kSm3);
  ASSERT_TRUE(req.ok());
  auto token = tsaTokenFromResponse(cliReply(req->der, "tsa.cnf"));
  ASSERT_TRUE(token.ok()) << token.status();
  auto info = verifyTsaToken(*token, kBody, roots());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->imprint_alg, "sm3");
  TsaVerifyOptions sha_only;
  sha_only.trusted_roots_pem = roots();
  sha_only.allow_sm3 = false;
  EXPECT_EQ(verifyTsaToken(*token, kBody, sha_only).status().message(), "TSA token: imprint algorithm sm3 not allowed");
}

TEST_F(Timestamp, TokenOverAnotherBodyIsRejected) {
  const std::string token = cliToken(kBody);
  auto r = verifyTsaToken(token, kOtherBody, roots());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "TSA token: message imprint mismatch: token is over a different body");
}

TEST_F(Timestamp, UntrustedTsaIsRejected) {
  const std::string token = cliToken(kBody, "other.cnf");
  auto r = verifyTsaToken(token, kBody, roots());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  // The token carries the other root, so the chain ends in an untrusted self-signed CA.
  EXPECT_EQ(r.status().message(),
            "TSA token: signer does not chain to a trusted TSA root: self-signed certificate in certificate chain");
  // The right root accepts it, so the rejection was about trust, not the token.
  EXPECT_TRUE(verifyTsaToken(token, kBody, readFile(dir_ / "other-ca.crt")).ok());
  // Trust is never taken from the token itself: its own signer is not a root.
  EXPECT_FALSE(verifyTsaToken(token, kBody, readFile(dir_ / "other-tsa.crt")).ok());
}

TEST_F(Timestamp, CorruptedTokensAreRejected) {
  const std::string token = cliToken(kBody);
  // The signature value is the last element of the SignedData.
  std::string sig_flip = token;
  sig_flip[sig_flip.size() - 5] ^= 0x01;
  auto r = verifyTsaToken(sig_flip, kBody, roots());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "TSA token: signature does not verify") << r.status();
  // genTime edited (keeps the DER valid: a digit in the GeneralizedTime).
  auto info = inspectTsaToken(token);
  ASSERT_TRUE(info.ok());
  std::string year = info->gen_time.substr(0, 4);
  size_t pos = token.find(year);
  ASSERT_NE(pos, std::string::npos);
  std::string time_edit = token;
  time_edit[pos + 3] = time_edit[pos + 3] == '9' ? '8' : static_cast<char>(time_edit[pos + 3] + 1);
  r = verifyTsaToken(time_edit, kBody, roots());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  // Truncated and garbage tokens.
  r = verifyTsaToken(token.substr(0, token.size() / 2), kBody, roots());
  EXPECT_EQ(r.status().message(), "TSA token: not a DER TimeStampToken");
  r = verifyTsaToken(token + "x", kBody, roots());
  EXPECT_EQ(r.status().message(), "TSA token: not a DER TimeStampToken");
  EXPECT_EQ(verifyTsaToken("", kBody, roots()).status().code(), absl::StatusCode::kInvalidArgument);
  // No roots at all is a usage error, not a pass.
  EXPECT_EQ(verifyTsaToken(token, kBody, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(Timestamp, NonceMismatchIsRejected) {
  uint64_t nonce = 0;
  const std::string token = cliToken(kBody, "tsa.cnf", &nonce);
  TsaVerifyOptions o;
  o.trusted_roots_pem = roots();
  o.nonce = nonce + 1;
  EXPECT_EQ(verifyTsaToken(token, kBody, o).status().message(), "TSA token: nonce mismatch");
}

TEST_F(Timestamp, RejectedRequestIsReported) {
  // The test TSA does not accept SHA-1 imprints.
  writeFile(dir_ / "sha1.body", kBody);
  std::string out;
  ASSERT_EQ(sh("openssl ts -query -data " + (dir_ / "sha1.body").string() + " -sha1 -cert -out " +
                   (dir_ / "sha1.tsq").string(),
               &out),
            0)
      << out;
  auto r = tsaTokenFromResponse(cliReply(readFile(dir_ / "sha1.tsq"), "tsa.cnf"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("Message digest algorithm is not supported"), std::string::npos) << r.status();
  EXPECT_EQ(tsaTokenFromResponse("garbage").status().code(), absl::StatusCode::kInvalidArgument);
}

// EVIDENCE.md §8 item 16: a chain valid at genTime but expired now must pass.
TEST_F(Timestamp, LongTermValidationUsesGenTime) {
  auto req = tsaRequest(kBody);
  ASSERT_TRUE(req.ok());
  const time_t mid2020 = 1590969600;   // 2020-06-01T00:00:00Z, inside old-tsa's validity
  const time_t mid2021 = 1622505600;   // 2021-06-01T00:00:00Z, after it expired
  const std::string old_token = tokenAt(req->der, "old-tsa", mid2020);
  auto info = verifyTsaToken(old_token, kBody, roots());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->gen_time, "2020-06-01T00:00:00Z");
  EXPECT_EQ(info->gen_time_unix, mid2020);
  const std::string late_token = tokenAt(req->der, "old-tsa", mid2021);
  auto late = verifyTsaToken(late_token, kBody, roots());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(late.status().message().find("certificate has expired"), std::string::npos) << late.status();
}

}  // namespace
}  // namespace xborder::evidence::crypto
