// Witness policy (EVIDENCE.md §5.1 trust, §8 case 11): the trust file enrols witness
// keys and a k-of-n threshold; every checkpoint needs k valid tlog-cosignature/v1
// lines. Too few is incomplete (exit 2); a cosignature from an enrolled witness that
// does not verify is tampering (exit 1); a witness alone cannot stand in for the log.
#include "absl/strings/str_cat.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "gtest/gtest.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence::testing {
namespace {

using verify::v1::FAIL;
using verify::v1::UNVERIFIABLE;

constexpr uint64_t kWitnessTime = 1767225600;

crypto::NoteSigner cosigner(const std::string& name, char seed) {
  auto key = crypto::PrivateKey::fromRaw(crypto::KeyType::kEd25519, std::string(32, seed));
  return *crypto::NoteSigner::createCosigner(name, *key, [] { return kWitnessTime; });
}

class WitnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fx_ = new Fixture();
    auto r = fx_->exportRange(0, 40);
    ASSERT_TRUE(r.ok()) << r.status();
    good_ = new std::string(r->bundle);
  }
  static void TearDownTestSuite() {
    delete fx_;
    delete good_;
  }

  // The good bundle with every checkpoint re-signed by the log and `cosigners`.
  static std::string cosigned(const std::vector<crypto::NoteSigner>& cosigners) {
    Bundle b = Fixture::unpack(*good_);
    for (auto& [path, data] : b.files) {
      if (!path.starts_with("checkpoints/") || !path.ends_with(".note")) continue;
      auto parsed = crypto::parseNote(data);
      EXPECT_TRUE(parsed.ok());
      std::vector<crypto::NoteSigner> all = fx_->signers;
      all.insert(all.end(), cosigners.begin(), cosigners.end());
      data = *crypto::signNote(parsed->text, all);
    }
    return fx_->pack(b, true);
  }

  static bundle::v1::TrustFile trust(uint32_t k) {
    bundle::v1::TrustFile t = fx_->trust();
    t.add_witness_vkeys(a_.verifier().vkey());
    t.add_witness_vkeys(b_.verifier().vkey());
    t.mutable_policy()->set_witness_threshold(k);
    return t;
  }

  static Fixture* fx_;
  static std::string* good_;
  static const crypto::NoteSigner a_, b_;
};
Fixture* WitnessTest::fx_ = nullptr;
std::string* WitnessTest::good_ = nullptr;
const crypto::NoteSigner WitnessTest::a_ = cosigner("witness.example/a", 'a');
const crypto::NoteSigner WitnessTest::b_ = cosigner("witness.example/b", 'b');

TEST_F(WitnessTest, TwoOfTwoCosignedVerifiesAndNamesTheWitnesses) {
  auto r = fx_->verify(cosigned({a_, b_}), {}, trust(2));
  EXPECT_EQ(r.exit_code(), 0) << verify::summaryText(r);
  ASSERT_GT(r.checkpoints_size(), 0);
  std::string sigs;
  for (const auto& s : r.checkpoints(0).signatures()) sigs += s + ";";
  EXPECT_NE(sigs.find(absl::StrCat("witness.example/a (witness, cosigned at ", kWitnessTime, ")")), std::string::npos)
      << sigs;
  EXPECT_NE(sigs.find("witness.example/b (witness"), std::string::npos) << sigs;
}

TEST_F(WitnessTest, TooFewCosignaturesAreIncomplete) {
  auto r = fx_->verify(cosigned({a_}), {}, trust(2));
  EXPECT_EQ(r.exit_code(), 2) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, UNVERIFIABLE, "checkpoints/10.note")) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, UNVERIFIABLE, "1 of the 2 witness cosignatures")) << verify::summaryText(r);
  // The same bundle under a 1-of-2 policy is complete.
  EXPECT_EQ(fx_->verify(cosigned({a_}), {}, trust(1)).exit_code(), 0);
  // No policy, no witness needed (the enrolled keys alone change nothing).
  EXPECT_EQ(fx_->verify(*good_, {}, trust(0)).exit_code(), 0);
}

TEST_F(WitnessTest, UnenrolledWitnessDoesNotCount) {
  auto r = fx_->verify(cosigned({cosigner("witness.example/stranger", 's')}), {}, trust(1));
  EXPECT_EQ(r.exit_code(), 2) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, UNVERIFIABLE, "0 of the 1 witness cosignatures")) << verify::summaryText(r);
}

TEST_F(WitnessTest, CosignatureOverAnotherBodyIsTampering) {
  // Witness a's line taken from a note over another checkpoint body, spliced into 25's.
  Bundle b = Fixture::unpack(cosigned({a_, b_}));
  auto other = crypto::parseNote(b.files["checkpoints/10.note"]);
  auto target = crypto::parseNote(b.files["checkpoints/25.note"]);
  ASSERT_TRUE(other.ok() && target.ok());
  const std::string& note10 = b.files["checkpoints/10.note"];
  const std::string prefix = absl::StrCat("\xe2\x80\x94 ", a_.name(), " ");
  const size_t at = note10.find(prefix);
  ASSERT_NE(at, std::string::npos);
  const std::string line = note10.substr(at, note10.find('\n', at) + 1 - at);
  std::string& note25 = b.files["checkpoints/25.note"];
  const size_t mine = note25.find(prefix);
  ASSERT_NE(mine, std::string::npos);
  note25.replace(mine, note25.find('\n', mine) + 1 - mine, line);
  auto r = fx_->verify(fx_->pack(b, true), {}, trust(2));
  EXPECT_EQ(r.exit_code(), 1) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "checkpoints/25.note")) << verify::summaryText(r);
}

TEST_F(WitnessTest, WitnessesAloneDoNotMakeACheckpoint) {
  Bundle b = Fixture::unpack(*good_);
  auto parsed = crypto::parseNote(b.files["checkpoints/25.note"]);
  ASSERT_TRUE(parsed.ok());
  b.files["checkpoints/25.note"] = *crypto::signNote(parsed->text, std::vector<crypto::NoteSigner>{a_, b_});
  auto r = fx_->verify(fx_->pack(b, true), {}, trust(2));
  EXPECT_EQ(r.exit_code(), 1) << verify::summaryText(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "checkpoints/25.note")) << verify::summaryText(r);
}

TEST_F(WitnessTest, ThresholdAboveTheEnrolledWitnessesIsAUsageError) {
  bundle::v1::TrustFile t = trust(2);
  t.mutable_policy()->set_witness_threshold(3);
  verify::VerifyOptions o;
  o.trust = t;
  EXPECT_FALSE(verify::verifyBundle(*good_, o).ok());
  t = trust(1);
  t.add_witness_vkeys(fx_->signers[0].verifier().vkey());  // a log key is not a witness key
  o.trust = t;
  EXPECT_FALSE(verify::verifyBundle(*good_, o).ok());
}

}  // namespace
}  // namespace xborder::evidence::testing
