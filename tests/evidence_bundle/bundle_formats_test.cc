// Unit tests of the bundle formats: tar writer/reader and hygiene, frames and CRC32C,
// the C2SP tlog-proof example of EVIDENCE.md §7.5, proof files, manifest JSON.
#include "absl/strings/escaping.h"
#include "controlplane/evidence/bundle/bundle_digest.h"
#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/bundle/bundle_proof_files.h"
#include "controlplane/evidence/bundle/bundle_tar.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/merkle/merkle_verify.h"
#include "gtest/gtest.h"

namespace xborder::evidence::bundle {
namespace {

TEST(TarTest, RoundTripIsSortedAndDeterministic) {
  std::vector<TarEntry> in = {{"b/2.txt", "two", '0', ""}, {"a.txt", std::string(700, 'x'), '0', ""}, {"b", "", '5', ""}};
  auto t1 = writeTar(in);
  std::reverse(in.begin(), in.end());
  auto t2 = writeTar(in);
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_EQ(*t1, *t2);
  EXPECT_EQ(t1->size() % 512, 0u);
  auto out = readTar(*t1);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[0].path, "a.txt");
  EXPECT_EQ((*out)[0].data, std::string(700, 'x'));
  EXPECT_EQ((*out)[2].data, "two");
  EXPECT_TRUE(checkHygiene(*out).empty());
  // mtime and uid are zero in every header.
  EXPECT_EQ(t1->substr(136, 11), "00000000000");
  EXPECT_EQ(t1->substr(108, 7), "0000000");
}

TEST(TarTest, LongPathUsesPrefix) {
  std::string p = std::string(80, 'd') + "/" + std::string(90, 'f');
  auto t = writeTar({{p, "x", '0', ""}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*readTar(*t))[0].path, p);
}

TEST(TarTest, ReaderRejectsDamage) {
  auto t = *writeTar({{"a", "hello", '0', ""}});
  std::string bad = t;
  bad[0] = 'b';  // header checksum no longer matches
  EXPECT_FALSE(readTar(bad).ok());
  EXPECT_FALSE(readTar(t.substr(0, 512 + 100)).ok());
  EXPECT_FALSE(readTar(t.substr(0, 1024)).ok());  // no end marker
}

TEST(TarTest, HygieneFindsEveryHostileEntry) {
  std::vector<TarEntry> e = {{"ok/file", "", '0', ""},     {"/abs", "", '0', ""},   {"x/../y", "", '0', ""},
                             {"l", "", '2', "/etc/passwd"}, {"h", "", '1', "ok/file"}, {"ok/file", "", '0', ""},
                             {"a//b", "", '0', ""},         {"dev", "", '3', ""},      {"c\\d", "", '0', ""}};
  auto p = checkHygiene(e);
  ASSERT_EQ(p.size(), 8u);
  EXPECT_EQ(p[0].path, "/abs");
  EXPECT_NE(p[1].reason.find(".."), std::string::npos);
  EXPECT_NE(p[2].reason.find("symlink"), std::string::npos);
  EXPECT_NE(p[3].reason.find("hardlink"), std::string::npos);
  EXPECT_NE(p[4].reason.find("duplicate"), std::string::npos);
}

// EVIDENCE.md §7.5: the worked tlog-proof for leaf 5 of the 8-leaf reference tree.
constexpr char kProof75[] =
    "c2sp.org/tlog-proof@v1\n"
    "index 5\n"
    "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=\n"
    "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=\n"
    "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=\n"
    "\n"
    "evidence.example/appliance-01\n"
    "8\n"
    "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    "\n"
    "\xe2\x80\x94 evidence.example/appliance-01 "
    "b8kmfb1x54AgJLDtiahRlXr7f8klirjCGjAQEo+LmJx9Yf/0FyPNVa1jh6oZl5DrllEFHaTU7ugIRPSvfmotW9iPoAA=\n";

TEST(TlogProofTest, ParsesAndVerifiesTheSpecExample) {
  auto p = parseTlogProof(kProof75);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->index, 5u);
  ASSERT_EQ(p->hashes.size(), 3u);
  EXPECT_EQ(formatTlogProof(*p), kProof75);
  auto v = crypto::NoteVerifier::fromVkey(
      "evidence.example/appliance-01+6fc9267d+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  ASSERT_TRUE(v.ok()) << v.status();
  std::vector<crypto::NoteVerifier> vs{*v};
  auto cp = crypto::openCheckpoint(p->checkpoint, vs, "evidence.example/appliance-01");
  ASSERT_TRUE(cp.ok()) << cp.status();
  Hasher h(HashAlg::kSha256);
  std::string leaf_input = absl::HexStringToBytes("40414243");
  Hash leaf = h.leafHash(leaf_input);
  std::string leaf_raw(reinterpret_cast<const char*>(leaf.data()), leaf.size());
  EXPECT_TRUE(merkle::verifyInclusion(h, p->index, cp->checkpoint.size, leaf_raw, p->hashes, cp->checkpoint.root).ok());
  EXPECT_FALSE(merkle::verifyInclusion(h, 4, cp->checkpoint.size, leaf_raw, p->hashes, cp->checkpoint.root).ok());
}

TEST(TlogProofTest, StrictParse) {
  std::string s = kProof75;
  EXPECT_FALSE(parseTlogProof(s.substr(1)).ok());
  std::string lead = s;
  lead.replace(lead.find("index 5"), 7, "index 05");
  EXPECT_FALSE(parseTlogProof(lead).ok());
  std::string crlf = s;
  crlf.replace(crlf.find("index 5\n"), 8, "index 5\r\n");
  EXPECT_FALSE(parseTlogProof(crlf).ok());
  std::string nopad = s;
  nopad.replace(nopad.find("nms="), 4, "nms");
  EXPECT_FALSE(parseTlogProof(nopad).ok());
  std::string noblank = s;
  noblank.erase(noblank.find("\n\nevidence") + 1, 1);
  EXPECT_FALSE(parseTlogProof(noblank).ok());
  TlogProof with_extra = *parseTlogProof(s);
  with_extra.extra = "meta";
  auto again = parseTlogProof(formatTlogProof(with_extra));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->extra, "meta");
}

TEST(ProofFilesTest, ConsistencyAndCompactRoundTrip) {
  ConsistencyFile c{3, 8, {std::string(32, 'a'), std::string(32, 'b')}};
  auto c2 = parseConsistency(formatConsistency(c));
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->old_size, 3u);
  EXPECT_EQ(c2->hashes, c.hashes);
  EXPECT_FALSE(parseConsistency("old 3\nnew 8\nAAAA\n").ok());  // not 32 bytes
  EXPECT_FALSE(parseConsistency("old 03\nnew 8\n").ok());
  CompactFile k{5, {std::string(32, 'c'), std::string(32, 'd')}};
  auto k2 = parseCompact(formatCompact(k));
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(k2->size, 5u);
  EXPECT_EQ(k2->hashes.size(), 2u);
}

TEST(ManifestTest, JsonRoundTripAndUnknownFieldsRejected) {
  v1::Manifest m;
  m.set_format("evb/1");
  m.set_origin("o");
  m.set_range_to(9);
  setManifestFiles(m, {{"b", "x"}, {"a", ""}});
  ASSERT_EQ(m.files_size(), 2);
  EXPECT_EQ(m.files(0).path(), "a");
  EXPECT_EQ(m.files(0).sha256(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // SM3("") from GB/T 32905 tooling.
  EXPECT_EQ(m.files(0).sm3(), "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
  std::string json = manifestToJson(m);
  auto back = manifestFromJson(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(manifestToJson(*back), json);
  EXPECT_FALSE(manifestFromJson("{\"format\":\"evb/1\",\"surprise\":1}").ok());
  EXPECT_EQ(manifestNoteBody("").substr(0, 6), "evb/1\n");
}

TEST(DigestTest, StrictBase64) {
  EXPECT_TRUE(fromBase64Strict("AAAA").ok());
  EXPECT_FALSE(fromBase64Strict("AAA").ok());
  EXPECT_FALSE(fromBase64Strict("AAB=").ok());  // non-zero pad bits
  EXPECT_FALSE(fromBase64Strict("AA AA").ok());
  EXPECT_EQ(toHex(sm3Bytes("abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

}  // namespace
}  // namespace xborder::evidence::bundle
