// The tamper matrix (EVIDENCE.md §8): every fixture is the one good bundle with one
// mutation, made here; each must give the right exit code and name the right place.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"
#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/bundle/bundle_proof_files.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "gtest/gtest.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence::testing {
namespace {

using verify::v1::FAIL;
using verify::v1::UNVERIFIABLE;

constexpr char kFrames[] = "records/0-40.frames";

class TamperTest : public ::testing::Test {
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

  // Mutates a copy of the good bundle and verifies it.
  verify::v1::Result mutate(const std::function<void(Bundle&)>& f, bool reseal,
                            std::optional<std::string> since = {}) {
    Bundle b = Fixture::unpack(*good_);
    f(b);
    return fx_->verify(fx_->pack(b, reseal), since);
  }
  static std::vector<std::string> payloads(Bundle& b) { return payloadsOf(b.files[kFrames]); }

  static Fixture* fx_;
  static std::string* good_;
};
Fixture* TamperTest::fx_ = nullptr;
std::string* TamperTest::good_ = nullptr;

#define EXPECT_VERDICT(result, code, status, where)                                   \
  do {                                                                                \
    const auto& r_ = (result);                                                        \
    EXPECT_EQ(r_.exit_code(), code) << verify::summaryText(r_);                       \
    EXPECT_TRUE(hasFinding(r_, status, where)) << "expected finding at '" << (where) \
                                               << "'\n" << verify::summaryText(r_);   \
  } while (0)

TEST_F(TamperTest, GoodBundleVerifies) {
  auto r = fx_->verify(*good_);
  EXPECT_EQ(r.exit_code(), 0) << verify::summaryText(r);
  EXPECT_EQ(r.verdict(), "VERIFIED");
  EXPECT_EQ(r.records(), 40u);
  EXPECT_EQ(r.checkpoints_size(), 3);  // 10, 25, 40
  EXPECT_GT(r.cited_size(), 0);
  // Repacking without changes and with a re-seal both keep it valid.
  EXPECT_EQ(mutate([](Bundle&) {}, false).exit_code(), 0);
  EXPECT_EQ(mutate([](Bundle&) {}, true).exit_code(), 0);
}

TEST_F(TamperTest, GoodBundleWithSinceVerifies) {
  auto r = fx_->verify(*good_, fx_->checkpointNote(10));
  EXPECT_EQ(r.exit_code(), 0) << verify::summaryText(r);
}

TEST_F(TamperTest, ExportIsDeterministic) {
  auto again = fx_->exportRange(0, 40);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bundle, *good_);
}

// 1. Records and tree.
TEST_F(TamperTest, FlippedBitWithCrcFixedFailsAtCheckpointRoot) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    p[5].back() ^= 1;  // last byte of rule_id: still a valid record
    b.files[kFrames] = reframe(p);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "checkpoint 10");
}

TEST_F(TamperTest, FlippedBitWithoutCrcFixIsTransportCorruption) {
  auto r = mutate([](Bundle& b) {
    std::string& f = b.files[kFrames];
    // Record 0's payload starts at byte 8; flip a byte inside record 2.
    size_t off = 0;
    for (int i = 0; i < 2; ++i) {
      uint32_t len;
      memcpy(&len, f.data() + off, 4);
      off += 8 + ((len + 7) & ~7u);
    }
    f[off + 12] ^= 0x40;
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "frame 2 at offset");
}

TEST_F(TamperTest, FlippedBitWithoutResealFailsManifest) {
  auto r = mutate([](Bundle& b) { b.files[kFrames][20] ^= 1; }, false);
  EXPECT_VERDICT(r, 1, FAIL, kFrames);
}

TEST_F(TamperTest, DeletedRecord) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    p.erase(p.begin() + 5);
    b.files[kFrames] = reframe(p);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "record 5");
}

TEST_F(TamperTest, DuplicatedRecord) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    p.insert(p.begin() + 5, p[5]);
    p.pop_back();
    b.files[kFrames] = reframe(p);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "record 6");
}

TEST_F(TamperTest, ReorderedRecords) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    std::swap(p[7], p[8]);
    b.files[kFrames] = reframe(p);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "record 7");
}

TEST_F(TamperTest, ForgedRecordWithCorrectIndex) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    evidence::v1::EvidenceRecord rec;
    rec.ParseFromString(p[12]);
    rec.mutable_flow()->set_policy_decision("allow-filing");
    rec.mutable_flow()->set_dst_country("US");
    p[12] = rec.SerializeAsString();
    b.files[kFrames] = reframe(p);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "checkpoint 25");
}

TEST_F(TamperTest, TruncatedFramesFile) {
  auto r = mutate([](Bundle& b) { b.files[kFrames].resize(b.files[kFrames].size() - 13); }, true);
  EXPECT_VERDICT(r, 1, FAIL, "frame 39 at offset");
}

TEST_F(TamperTest, LastRecordsDroppedButCheckpointKept) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    p.resize(35);
    b.files[kFrames] = reframe(p);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, kFrames);
}

TEST_F(TamperTest, WrongOriginInRecord) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    p[4] = makeRecord(4, "evidence.example/other-appliance");
    b.files[kFrames] = reframe(p);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "record 4");
}

TEST_F(TamperTest, UnknownFormatVersionIsUnverifiable) {
  auto r = mutate([](Bundle& b) {
    auto p = payloads(b);
    p[3] = makeRecord(3, kOrigin, 2);
    b.files[kFrames] = reframe(p);
  }, true);
  // The changed bytes also change the root: that is tampering, and it outranks.
  EXPECT_TRUE(hasFinding(r, UNVERIFIABLE, "record 3")) << verify::summaryText(r);
  EXPECT_NE(r.exit_code(), 0);
}

// 2. Checkpoints and signatures.
TEST_F(TamperTest, EditedCheckpointRoot) {
  auto r = mutate([](Bundle& b) {
    std::string& n = b.files["checkpoints/25.note"];
    size_t root_line = n.find('\n', n.find('\n') + 1) + 1;
    n[root_line + 3] = n[root_line + 3] == 'A' ? 'B' : 'A';
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "checkpoints/25.note");
}

TEST_F(TamperTest, CheckpointWithLeadingZeroSizeResigned) {
  auto r = mutate([](Bundle& b) {
    std::string body = absl::StrCat(kOrigin, "\n0025\n", bundle::toBase64(fx_->root(25)), "\n");
    b.files["checkpoints/25.note"] = *crypto::signNote(body, fx_->signers);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "checkpoints/25.note");
}

TEST_F(TamperTest, EquivocationInsideBundle) {
  auto r = mutate([](Bundle& b) {
    std::string other = fx_->root(25);
    other[0] ^= 1;
    b.files["checkpoints/25-alt.note"] = fx_->signCheckpoint(25, other);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "checkpoint 25");
}

TEST_F(TamperTest, EquivocationAgainstRegulatorsCheckpoint) {
  std::string other = fx_->root(25);
  other[31] ^= 0x80;
  auto r = fx_->verify(*good_, fx_->signCheckpoint(25, other));
  EXPECT_VERDICT(r, 1, FAIL, "checkpoint 25");
}

TEST_F(TamperTest, RolledBackCheckpoint) {
  // The regulator has seen size 50; the bundle's newest checkpoint is 40.
  auto r = fx_->verify(*good_, fx_->checkpointNote(50));
  EXPECT_VERDICT(r, 1, FAIL, "rollback");
}

TEST_F(TamperTest, ReplacedCheckpointWithOlderOne) {
  // Drop the newest checkpoint and the records after 25: an insider "forgets" history.
  auto r = mutate([](Bundle& b) {
    b.files.erase("checkpoints/40.note");
    b.files.erase("proofs/consistency/25-40.txt");
  }, true, fx_->checkpointNote(40));
  EXPECT_EQ(r.exit_code(), 1) << verify::summaryText(r);
}

TEST_F(TamperTest, WrongKeyInTrustFile) {
  Fixture other;
  auto r = fx_->verify(*good_, {}, other.trust());
  EXPECT_VERDICT(r, 1, FAIL, "MANIFEST.sig");
}

TEST_F(TamperTest, AlgorithmSubstitution) {
  auto t = fx_->trust();
  t.set_hash("sm3");
  auto r = fx_->verify(*good_, {}, t);
  EXPECT_VERDICT(r, 1, FAIL, "MANIFEST.json");
}

TEST_F(TamperTest, ConsistencyProofAltered) {
  auto r = mutate([](Bundle& b) {
    auto c = *bundle::parseConsistency(b.files["proofs/consistency/10-25.txt"]);
    c.hashes[0][0] ^= 1;
    b.files["proofs/consistency/10-25.txt"] = bundle::formatConsistency(c);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "proofs/consistency/10-25.txt");
}

// 3. Cited-record proofs.
TEST_F(TamperTest, TlogProofHashAltered) {
  std::string path;
  auto r = mutate([&](Bundle& b) {
    for (auto& [p, d] : b.files) {
      if (p.starts_with("proofs/records/")) {
        auto tp = *bundle::parseTlogProof(d);
        tp.hashes[1][5] ^= 4;
        d = bundle::formatTlogProof(tp);
        path = p;
        break;
      }
    }
  }, true);
  ASSERT_FALSE(path.empty());
  EXPECT_VERDICT(r, 1, FAIL, path);
}

TEST_F(TamperTest, TlogProofIndexShifted) {
  auto r = mutate([&](Bundle& b) {
    auto tp = *bundle::parseTlogProof(b.files["proofs/records/3.tlog-proof"]);
    tp.index = 4;
    b.files["proofs/records/3.tlog-proof"] = bundle::formatTlogProof(tp);
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "proofs/records/3.tlog-proof");
}

TEST_F(TamperTest, CitedProofRemoved) {
  auto r = mutate([&](Bundle& b) { b.files.erase("proofs/records/3.tlog-proof"); }, true);
  EXPECT_VERDICT(r, 1, FAIL, "proofs/records/3.tlog-proof");
}

// 4. Bundle and manifest.
TEST_F(TamperTest, ManifestEdited) {
  auto r = mutate([](Bundle& b) {
    std::string& m = b.files["MANIFEST.json"];
    m.replace(m.find("2026-11-23"), 10, "2026-11-22");
  }, false);
  EXPECT_VERDICT(r, 1, FAIL, "MANIFEST.sig");
}

TEST_F(TamperTest, Sm3MismatchAloneFailsAndWithdrawsLaterSteps) {
  // A manifest (validly re-signed) whose SHA-256 values are right but one SM3 is not.
  auto r = mutate([](Bundle& b) {
    auto m = *bundle::manifestFromJson(b.files["MANIFEST.json"]);
    for (auto& f : *m.mutable_files()) {
      if (f.path() == "checkpoints/25.note") f.set_sm3(std::string(64, '0'));
    }
    b.files["MANIFEST.json"] = bundle::manifestToJson(m);
    b.files["MANIFEST.sig"] = *crypto::signNote(bundle::manifestNoteBody(b.files["MANIFEST.json"]), fx_->signers);
  }, false);
  EXPECT_VERDICT(r, 1, FAIL, "checkpoints/25.note");
  for (const auto& c : r.checks()) {
    if (c.step() >= 3) {
      EXPECT_EQ(c.status(), UNVERIFIABLE) << c.id();
    }
  }
  EXPECT_EQ(r.records(), 0u);
}

TEST_F(TamperTest, CustodyNoteEdited) {
  auto r = mutate([](Bundle& b) {
    std::string& n = b.files["custody/export.note"];
    n.replace(n.find("purpose "), 8, "purpose:");
  }, true);
  EXPECT_VERDICT(r, 1, FAIL, "custody/export.note");
}

TEST_F(TamperTest, FileListedButMissing) {
  auto r = mutate([](Bundle& b) { b.files.erase("checkpoints/10.note"); }, false);
  EXPECT_VERDICT(r, 1, FAIL, "checkpoints/10.note");
}

TEST_F(TamperTest, FileAddedNotInManifest) {
  auto r = mutate([](Bundle& b) { b.files["records/extra.frames"] = "x"; }, false);
  EXPECT_VERDICT(r, 1, FAIL, "records/extra.frames");
}

std::string withEntry(const std::string& good, bundle::TarEntry extra) {
  auto entries = *bundle::readTar(good);
  entries.push_back(std::move(extra));
  return *bundle::writeTar(std::move(entries));
}

TEST_F(TamperTest, PathWithDotDot) {
  auto top = Fixture::unpack(*good_).top;
  auto r = fx_->verify(withEntry(*good_, {top + "/../evil", "x", '0', ""}));
  EXPECT_VERDICT(r, 1, FAIL, "/../evil");
}

TEST_F(TamperTest, AbsolutePath) {
  auto r = fx_->verify(withEntry(*good_, {"/etc/evil", "x", '0', ""}));
  EXPECT_VERDICT(r, 1, FAIL, "/etc/evil");
}

TEST_F(TamperTest, Symlink) {
  auto top = Fixture::unpack(*good_).top;
  auto r = fx_->verify(withEntry(*good_, {top + "/keys/link", "", '2', "/etc/passwd"}));
  EXPECT_VERDICT(r, 1, FAIL, "keys/link");
}

TEST_F(TamperTest, Hardlink) {
  auto top = Fixture::unpack(*good_).top;
  auto r = fx_->verify(withEntry(*good_, {top + "/keys/hard", "", '1', top + "/MANIFEST.json"}));
  EXPECT_VERDICT(r, 1, FAIL, "keys/hard");
}

TEST_F(TamperTest, DuplicateEntry) {
  auto top = Fixture::unpack(*good_).top;
  auto r = fx_->verify(withEntry(*good_, {top + "/checkpoints/10.note", "forged", '0', ""}));
  EXPECT_VERDICT(r, 1, FAIL, "checkpoints/10.note");
}

TEST_F(TamperTest, TruncatedArchive) {
  auto r = fx_->verify(good_->substr(0, good_->size() / 2));
  EXPECT_VERDICT(r, 1, FAIL, "archive");
}

// 5. Incremental bundles.
TEST_F(TamperTest, IncrementalBundleVerifiesAndCompactRangeIsChecked) {
  auto inc = fx_->exportRange(10, 40);
  ASSERT_TRUE(inc.ok()) << inc.status();
  auto ok = fx_->verify(inc->bundle, fx_->checkpointNote(10));
  EXPECT_EQ(ok.exit_code(), 0) << verify::summaryText(ok);
  Bundle b = Fixture::unpack(inc->bundle);
  auto c = *bundle::parseCompact(b.files["proofs/compact/10.txt"]);
  c.hashes[0][3] ^= 1;
  b.files["proofs/compact/10.txt"] = bundle::formatCompact(c);
  auto bad = fx_->verify(fx_->pack(b, true), fx_->checkpointNote(10));
  EXPECT_VERDICT(bad, 1, FAIL, "proofs/compact/10.txt");
  // Without the compact range the records cannot be tied to any root: incomplete.
  b.files.erase("proofs/compact/10.txt");
  auto missing = fx_->verify(fx_->pack(b, true), fx_->checkpointNote(10));
  EXPECT_VERDICT(missing, 2, UNVERIFIABLE, "proofs/compact/10.txt");
}

TEST_F(TamperTest, UncoveredRecordsAreUnverifiable) {
  // Records appended after the last checkpoint in the bundle: not signed yet.
  auto r = mutate([](Bundle& b) {
    b.files.erase("checkpoints/40.note");
    b.files.erase("proofs/consistency/25-40.txt");
    for (auto it = b.files.begin(); it != b.files.end();) {
      it = it->first.starts_with("proofs/records/") ? b.files.erase(it) : std::next(it);
    }
    auto m = *bundle::manifestFromJson(b.files["MANIFEST.json"]);
    m.clear_cited();
    b.files["MANIFEST.json"] = bundle::manifestToJson(m);
  }, true);
  EXPECT_VERDICT(r, 2, UNVERIFIABLE, "record 25");
}

}  // namespace
}  // namespace xborder::evidence::testing

namespace xborder::evidence::testing {
namespace {

// The fuzz target's seed bundle is signed with the fuzz key; it must stay a bundle the
// verifier accepts (so mutations explore the deep checks). XB_REGEN_SEEDS=1 rewrites it.
TEST(FuzzSeedTest, SeedBundleIsCurrentAndVerifies) {
  Fixture fx(12, {5, 12}, HashAlg::kSha256, std::string(kFuzzKeySeed, 32));
  auto r = fx.exportRange(0, 12);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(fx.verify(r->bundle).exit_code(), 0);
  // The seed lives beside this file; ctest also passes XB_SOURCE_DIR, a direct run may not.
  const char* src = std::getenv("XB_SOURCE_DIR");
  const std::string here = std::filesystem::path(__FILE__).parent_path().string();
  std::string path = src != nullptr ? std::string(src) + "/tests/evidence_bundle" : here;
  path += "/fuzz_seeds/bundle/good-bundle.tar";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  if (std::getenv("XB_REGEN_SEEDS")) {
    std::ofstream(path, std::ios::binary) << r->bundle;
  }
  std::ifstream f(path, std::ios::binary);
  std::string committed((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(committed, r->bundle) << "regenerate with XB_REGEN_SEEDS=1";
}

}  // namespace
}  // namespace xborder::evidence::testing
