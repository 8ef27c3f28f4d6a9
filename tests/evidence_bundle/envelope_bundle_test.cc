// Sealed payload snippets end to end: seal beside the log, export, verify (step 8),
// and the tamper fixtures of EVIDENCE.md §8 item 20.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <ctime>
#include <filesystem>

#include "controlplane/evidence/envelope/envelope_store.h"
#include "controlplane/evidence/merkle/merkle_tree.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence {
namespace {

using testing::Bundle;
using testing::Fixture;
using testing::hasFinding;
using testing::kOrigin;
using verify::v1::FAIL;
using verify::v1::PASS;
using verify::v1::UNVERIFIABLE;

struct Options {
  HashAlg alg = HashAlg::kSha256;
  crypto::KeyType key_type = crypto::KeyType::kX25519;
  uint64_t bind_record2_to = 2;  // seal record 2's envelopes bound to another index (AAD mismatch)
  bool bad_commitment = false;   // record 5 commits to another HMAC
};

// Ten records; record 2 seals "payload" and "hdr", record 5 seals "payload".
class SealedLog {
 public:
  explicit SealedLog(Options o = {}) : opt_(o), fixture_(0, {}, o.alg) {
    char tmpl[] = "/tmp/xb-envelope-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    key_ = *crypto::PrivateKey::generate(o.key_type);
    for (uint64_t i = 0; i < 10; ++i) {
      std::string bytes = testing::makeRecord(i);
      if (i == 2 || i == 5) {
        v1::EvidenceRecord rec;
        EXPECT_TRUE(rec.ParseFromString(bytes));
        std::vector<envelope::Snippet> snippets = {{"payload", "GET /export?id=" + std::to_string(i)}};
        if (i == 2) snippets.push_back({"hdr", std::string("\x00\x01 binary", 9)});
        uint64_t bind = i == 2 ? o.bind_record2_to : i;
        auto s = envelope::sealSnippets(dir_, key_.publicKey(), kOrigin, o.alg, bind, snippets, rec);
        EXPECT_TRUE(s.ok()) << s;
        if (bind != i) {
          for (const auto& sn : snippets) {
            std::filesystem::rename(dir_ + "/" + envelope::envelopeName(bind, sn.field),
                                    dir_ + "/" + envelope::envelopeName(i, sn.field));
          }
        }
        if (i == 5 && o.bad_commitment) rec.mutable_flow()->set_sample_commitment(std::string(32, 'x'));
        bytes.clear();
        rec.SerializeToString(&bytes);
      }
      fixture_.source.records.push_back(bytes);
    }
    Hasher h(o.alg);
    MerkleTree tree(h);
    for (const auto& r : fixture_.source.records) tree.appendData(r);
    auto root = *tree.root(10);
    note_ = fixture_.signCheckpoint(10, std::string(reinterpret_cast<const char*>(root.data()), root.size()));
  }
  ~SealedLog() { std::filesystem::remove_all(dir_); }

  std::string exportTar() {
    bundle::ExportRequest req;
    req.origin = kOrigin;
    req.hash = opt_.alg;
    req.checkpoints.push_back({10, note_, ""});
    req.signers = fixture_.signers;
    req.from = 0;
    req.to = 10;
    req.created_at = "2026-11-23T01:00:00Z";
    req.envelopes = [this](uint64_t from, uint64_t to) { return envelope::readEnvelopes(dir_, from, to); };
    auto r = bundle::exportBundle(fixture_.source, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->bundle : "";
  }
  verify::v1::Result verify(const std::string& tar, const crypto::PrivateKey* key) const {
    verify::VerifyOptions vo;
    vo.trust = fixture_.trust();
    vo.now_unix = std::time(nullptr);
    if (key != nullptr) vo.regulator_key = *key;
    auto r = verify::verifyBundle(tar, vo);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : verify::v1::Result{};
  }
  // Unpacks, lets `mutate` change the files, re-signs MANIFEST (an insider with the log key).
  template <typename F>
  std::string tampered(F mutate) {
    Bundle b = Fixture::unpack(exportTar());
    mutate(b.files);
    return fixture_.pack(b, true);
  }
  const crypto::PrivateKey& key() const { return key_; }

 private:
  Options opt_;
  Fixture fixture_;
  std::string dir_;
  std::string note_;
  crypto::PrivateKey key_ = *crypto::PrivateKey::generate(crypto::KeyType::kX25519);
};

std::string dump(const verify::v1::Result& r) { return verify::summaryText(r); }

TEST(EnvelopeBundleTest, HpkeRoundTripWithAndWithoutKey) {
  SealedLog log;
  std::string tar = log.exportTar();
  Bundle b = Fixture::unpack(tar);
  EXPECT_TRUE(b.files.count("envelopes/2-payload.env"));
  EXPECT_TRUE(b.files.count("envelopes/2-hdr.env"));
  EXPECT_TRUE(b.files.count("envelopes/5-payload.env"));
  EXPECT_EQ(b.files.at("envelopes/2-payload.env").substr(0, 4), "EVHP");
  auto plain = log.verify(tar, nullptr);
  EXPECT_EQ(plain.exit_code(), 0) << dump(plain);
  EXPECT_TRUE(hasFinding(plain, PASS, "3 envelope(s) of 2 record(s)")) << dump(plain);
  auto opened = log.verify(tar, &log.key());
  EXPECT_EQ(opened.exit_code(), 0) << dump(opened);
  EXPECT_TRUE(hasFinding(opened, PASS, "3 envelope(s) opened")) << dump(opened);
  // The library opens what it sealed, bound to its place.
  auto p = envelope::openEnvelope(log.key(), kOrigin, 5, "payload", b.files.at("envelopes/5-payload.env"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->substr(envelope::kSaltSize), "GET /export?id=5");
  EXPECT_FALSE(envelope::openEnvelope(log.key(), kOrigin, 4, "payload", b.files.at("envelopes/5-payload.env")).ok());
}

TEST(EnvelopeBundleTest, GmRoundTrip) {
  SealedLog log({.alg = HashAlg::kSm3, .key_type = crypto::KeyType::kSm2});
  std::string tar = log.exportTar();
  EXPECT_EQ(Fixture::unpack(tar).files.at("envelopes/5-payload.env").substr(0, 4), "EVGM");
  auto r = log.verify(tar, &log.key());
  EXPECT_EQ(r.exit_code(), 0) << dump(r);
  EXPECT_TRUE(hasFinding(r, PASS, "3 envelope(s) opened")) << dump(r);
}

TEST(EnvelopeBundleTest, FlippedByteFailsNamingTheFile) {
  SealedLog log;
  auto tar = log.tampered([](auto& files) { files["envelopes/2-hdr.env"][40] ^= 0x01; });
  auto r = log.verify(tar, nullptr);
  EXPECT_EQ(r.exit_code(), 1) << dump(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "envelopes/2-hdr.env")) << dump(r);
}

TEST(EnvelopeBundleTest, DeletedEnvelopeIsIncompleteNamingTheRecord) {
  SealedLog log;
  auto tar = log.tampered([](auto& files) { files.erase("envelopes/5-payload.env"); });
  auto r = log.verify(tar, nullptr);
  EXPECT_EQ(r.exit_code(), 2) << dump(r);
  EXPECT_TRUE(hasFinding(r, UNVERIFIABLE, "record 5")) << dump(r);
}

TEST(EnvelopeBundleTest, UncommittedEnvelopeFails) {
  SealedLog log;
  auto in_range = log.tampered([](auto& files) { files["envelopes/3-payload.env"] = files["envelopes/2-payload.env"]; });
  auto r = log.verify(in_range, nullptr);
  EXPECT_EQ(r.exit_code(), 1) << dump(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "envelopes/3-payload.env")) << dump(r);
  auto beyond = log.tampered([](auto& files) { files["envelopes/99-payload.env"] = "EVHP"; });
  r = log.verify(beyond, nullptr);
  EXPECT_EQ(r.exit_code(), 1) << dump(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "envelopes/99-payload.env")) << dump(r);
}

TEST(EnvelopeBundleTest, AadMismatchFailsOnlyWhenOpened) {
  // Record 2 commits to envelopes that were bound to record 3: the digests match.
  SealedLog log({.bind_record2_to = 3});
  std::string tar = log.exportTar();
  EXPECT_EQ(log.verify(tar, nullptr).exit_code(), 0);
  auto r = log.verify(tar, &log.key());
  EXPECT_EQ(r.exit_code(), 1) << dump(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "envelopes/2-payload.env")) << dump(r);
  EXPECT_FALSE(hasFinding(r, FAIL, "envelopes/5-payload.env")) << dump(r);
}

TEST(EnvelopeBundleTest, CommitmentMismatchFails) {
  SealedLog log({.bad_commitment = true});
  auto r = log.verify(log.exportTar(), &log.key());
  EXPECT_EQ(r.exit_code(), 1) << dump(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "sample_commitment")) << dump(r);
}

TEST(EnvelopeBundleTest, WrongRegulatorKeyFailsClearly) {
  SealedLog log;
  auto other = *crypto::PrivateKey::generate(crypto::KeyType::kX25519);
  auto r = log.verify(log.exportTar(), &other);
  EXPECT_EQ(r.exit_code(), 1) << dump(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "does not open with the given regulator key")) << dump(r);
  auto sm2 = *crypto::PrivateKey::generate(crypto::KeyType::kSm2);
  r = log.verify(log.exportTar(), &sm2);
  EXPECT_EQ(r.exit_code(), 1) << dump(r);
  EXPECT_TRUE(hasFinding(r, FAIL, "needs an X25519 regulator key")) << dump(r);
}

TEST(EnvelopeSplitTest, RemovesOnlyTheTopLevelSideField) {
  auto first = envelope::splitSealedSnippets(
      R"({"sealed_snippets":[{"field":"payload","data_b64":"aGk="}],"type":"FLOW","flow":{"ruleId":"x"}})");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->record_json, R"({"type":"FLOW","flow":{"ruleId":"x"}})");
  ASSERT_EQ(first->snippets.size(), 1u);
  EXPECT_EQ(first->snippets[0].field, "payload");
  EXPECT_EQ(first->snippets[0].data, "hi");
  auto last = envelope::splitSealedSnippets(
      R"({"type":"FLOW", "tenant":"a\"sealed_snippets\"", "sealed_snippets": [{"field":"a","data_b64":"eA=="},{"field":"b"}] })");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->record_json, R"({"type":"FLOW", "tenant":"a\"sealed_snippets\""})");
  EXPECT_EQ(last->snippets.size(), 2u);
  auto nested = envelope::splitSealedSnippets(R"({"flow":{"sealed_snippets":1}})");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->record_json, R"({"flow":{"sealed_snippets":1}})");
  EXPECT_TRUE(nested->snippets.empty());
  EXPECT_FALSE(envelope::splitSealedSnippets(R"({"sealed_snippets":[{"bogus":1}]})").ok());
  EXPECT_FALSE(envelope::splitSealedSnippets(R"({"a":"unterminated)").ok());
  EXPECT_FALSE(envelope::splitSealedSnippets(R"({"sealed_snippets":[],"sealed_snippets":[]})").ok());
}

TEST(EnvelopeStoreTest, OrphansAreRemovedAndBadFieldsRefused) {
  char tmpl[] = "/tmp/xb-envelope-orphan-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto key = *crypto::PrivateKey::generate(crypto::KeyType::kX25519);
  for (uint64_t i : {1, 4}) {
    v1::EvidenceRecord rec;
    rec.mutable_flow();
    std::vector<envelope::Snippet> sn = {{"payload", "x"}};
    ASSERT_TRUE(envelope::sealSnippets(dir, key.publicKey(), kOrigin, HashAlg::kSha256, i, sn, rec).ok());
    EXPECT_EQ(rec.flow().sealed_digests_size(), 1);
  }
  auto removed = envelope::removeOrphanEnvelopes(dir, 3);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/envelopes/1-payload.env"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/envelopes/4-payload.env"));
  v1::EvidenceRecord rec;
  rec.mutable_flow();
  std::vector<envelope::Snippet> bad = {{"../x", "x"}};
  EXPECT_FALSE(envelope::sealSnippets(dir, key.publicKey(), kOrigin, HashAlg::kSha256, 5, bad, rec).ok());
  v1::EvidenceRecord alarm;
  std::vector<envelope::Snippet> ok = {{"payload", "x"}};
  EXPECT_FALSE(envelope::sealSnippets(dir, key.publicKey(), kOrigin, HashAlg::kSha256, 5, ok, alarm).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xborder::evidence
