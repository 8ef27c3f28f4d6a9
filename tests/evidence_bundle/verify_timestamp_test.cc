// Tamper fixtures for RFC 3161 anchors (EVIDENCE.md §8 item 15): a token over another
// checkpoint, a token from an untrusted TSA, an edited token, and a missing token when
// policy requires one (incomplete, exit 2). Tokens come from a local `openssl ts -reply`
// TSA. (Long-term validation at genTime is crypto's timestamp_test: it needs a
// back-dated token.)
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/crypto/timestamp.h"
#include "controlplane/evidence/tools/tools_log_dir.h"
#include "gtest/gtest.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence::testing {
namespace {

class TimestampTamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* src = std::getenv("XB_SOURCE_DIR");
    dir_ = new std::string(std::filesystem::temp_directory_path() / absl::StrCat("xb-evb-tsa-", ::getpid()));
    std::string cmd = absl::StrCat("bash ", src ? src : ".", "/tests/evidence_crypto/make_test_tsa.sh ", *dir_,
                                   " > /dev/null 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    fx_ = new Fixture();
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete fx_;
  }

  // A token over checkpoint `size`'s body from the TSA configured in `cnf`.
  static std::string stamp(uint64_t size, const char* cnf = "tsa.cnf") {
    std::string note = fx_->checkpointNote(size);
    std::string body = note.substr(0, note.find("\n\n") + 1);
    auto req = crypto::tsaRequest(body);
    EXPECT_TRUE(req.ok());
    std::string q = *dir_ + "/req.tsq", r = *dir_ + "/resp.tsr";
    EXPECT_TRUE(tools::writeFileAtomic(q, req->der).ok());
    std::string cmd = absl::StrCat("openssl ts -reply -queryfile ", q, " -config ", *dir_, "/", cnf, " -out ", r,
                                   " > /dev/null 2>&1");
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    auto token = crypto::tsaTokenFromResponse(*tools::readFile(r));
    EXPECT_TRUE(token.ok()) << token.status();
    return *token;
  }

  static bundle::v1::TrustFile trust(const char* root = "ca.crt", bool require = true) {
    auto t = fx_->trust();
    t.add_tsa_roots_pem(*tools::readFile(*dir_ + "/" + root));
    t.mutable_policy()->set_require_tsa(require);
    return t;
  }

  static std::string stampedBundle() {
    auto r = fx_->exportRange(0, 40, {{10, stamp(10)}, {25, stamp(25)}, {40, stamp(40)}});
    EXPECT_TRUE(r.ok()) << r.status();
    return r->bundle;
  }

  static std::string* dir_;
  static Fixture* fx_;
};
std::string* TimestampTamperTest::dir_ = nullptr;
Fixture* TimestampTamperTest::fx_ = nullptr;

TEST_F(TimestampTamperTest, StampedBundleVerifiesWithTsaTimes) {
  auto r = fx_->verify(stampedBundle(), {}, trust());
  ASSERT_EQ(r.exit_code(), 0) << verify::summaryText(r);
  ASSERT_EQ(r.checkpoints_size(), 3);
  EXPECT_FALSE(r.checkpoints(0).tsa_gen_time().empty());
  EXPECT_NE(r.checkpoints(0).tsa_name().find("Test TSA"), std::string::npos);
}

TEST_F(TimestampTamperTest, TokenOverAnotherCheckpoint) {
  Bundle b = Fixture::unpack(stampedBundle());
  b.files["checkpoints/25.tsr"] = b.files["checkpoints/10.tsr"];
  auto r = fx_->verify(fx_->pack(b, true), {}, trust());
  EXPECT_EQ(r.exit_code(), 1) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, verify::v1::FAIL, "checkpoints/25.tsr")) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, verify::v1::FAIL, "imprint")) << verify::summaryText(r);
}

TEST_F(TimestampTamperTest, TokenFromUntrustedTsa) {
  auto bundle = fx_->exportRange(0, 40, {{10, stamp(10)}, {25, stamp(25, "other.cnf")}, {40, stamp(40)}});
  ASSERT_TRUE(bundle.ok());
  auto r = fx_->verify(bundle->bundle, {}, trust());
  EXPECT_EQ(r.exit_code(), 1) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, verify::v1::FAIL, "checkpoints/25.tsr")) << verify::summaryText(r);
}

TEST_F(TimestampTamperTest, EditedToken) {
  Bundle b = Fixture::unpack(stampedBundle());
  std::string& t = b.files["checkpoints/40.tsr"];
  t[t.size() - 5] ^= 0x01;  // inside the signature
  auto r = fx_->verify(fx_->pack(b, true), {}, trust());
  EXPECT_EQ(r.exit_code(), 1) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, verify::v1::FAIL, "checkpoints/40.tsr")) << verify::summaryText(r);
}

TEST_F(TimestampTamperTest, MissingTokenIsIncomplete) {
  Bundle b = Fixture::unpack(stampedBundle());
  b.files.erase("checkpoints/25.tsr");
  auto r = fx_->verify(fx_->pack(b, true), {}, trust());
  EXPECT_EQ(r.exit_code(), 2) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, verify::v1::UNVERIFIABLE, "checkpoints/25.tsr")) << verify::summaryText(r);
  // Without the policy a missing token is not a finding.
  EXPECT_EQ(fx_->verify(fx_->pack(b, true), {}, trust("ca.crt", false)).exit_code(), 0);
}

TEST_F(TimestampTamperTest, NoTsaRootsWhilePolicyRequiresIsNotAPass) {
  auto t = fx_->trust();
  t.mutable_policy()->set_require_tsa(true);
  auto r = fx_->verify(stampedBundle(), {}, t);
  EXPECT_NE(r.exit_code(), 0) << verify::summaryText(r);
}

}  // namespace
}  // namespace xborder::evidence::testing
