#include "controlplane/evidence/crypto/checkpoint.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "controlplane/evidence/crypto/str_util.h"
#include "absl/strings/str_replace.h"
#include "controlplane/evidence/crypto/encoding.h"
#include "tests/evidence_crypto/test_vectors.h"

namespace xborder::evidence::crypto {
namespace {

using namespace testing;  // NOLINT: vectors

NoteSigner goldenSigner() {
  std::string skey = *base64DecodeStrict(kPeterSkeyB64);
  auto key = PrivateKey::fromRaw(KeyType::kEd25519, std::string_view(skey).substr(1));
  EXPECT_TRUE(key.ok());
  return *NoteSigner::create(std::string(kGoldenOrigin), *key);
}

// EVIDENCE.md §7.3: our formatter + signer reproduce the golden note byte for byte.
TEST(Checkpoint, GoldenCheckpointByteForByte) {
  Checkpoint cp{std::string(kGoldenOrigin), 8, *base64DecodeStrict(kGoldenRootB64)};
  EXPECT_EQ(hexEncode(cp.root), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  auto body = formatCheckpoint(cp);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, kGoldenBody);
  NoteSigner s = goldenSigner();
  EXPECT_EQ(s.verifier().vkey(), kGoldenEd25519Vkey);
  auto note = signNote(*body, {&s, 1});
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*note, internal::cat(kGoldenBody, "\n", kGoldenEd25519Line));
}

TEST(Checkpoint, OpenGoldenWithBothSignatures) {
  const std::string note = internal::cat(kGoldenBody, "\n", kGoldenEd25519Line, kGoldenSm2Line);
  std::vector<NoteVerifier> vs = {*NoteVerifier::fromVkey(kGoldenEd25519Vkey),
                                  *NoteVerifier::fromVkey(kGoldenSm2Vkey)};
  auto v = openCheckpoint(note, vs, kGoldenOrigin);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->checkpoint.size, 8u);
  EXPECT_EQ(v->checkpoint.origin, kGoldenOrigin);
  EXPECT_EQ(base64Encode(v->checkpoint.root), kGoldenRootB64);
  EXPECT_EQ(v->note.verified.size(), 2u);
  auto wrong = openCheckpoint(note, vs, "evidence.example/appliance-02");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  // Editing any body line breaks the signature.
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"appliance-01\n", "appliance-02\n"}, {"\n8\n", "\n7\n"}, {"XcnaeacG", "XcnaeacH"}}) {
    auto r = openCheckpoint(absl::StrReplaceAll(note, {{from, to}}), vs);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << from;
  }
}

TEST(Checkpoint, StrictParseRejects) {
  const std::string o(kGoldenOrigin);
  const std::string r(kGoldenRootB64);
  struct Case {
    std::string body;
    std::string want;  // substring of the error
  };
  std::string noncanon = r;
  noncanon[42] = 'h';  // 'g' -> 'h' flips a pad bit only
  std::vector<Case> cases = {
      {o + "\n0008\n" + r + "\n", "leading zeros"},
      {o + "\n+8\n" + r + "\n", "not a decimal"},
      {o + "\n-1\n" + r + "\n", "not a decimal"},
      {o + "\n\n" + r + "\n", "empty size"},
      {o + "\n8 \n" + r + "\n", "not a decimal"},
      {o + " \n8\n" + r + "\n", "trailing space"},
      {" " + o + "\n8\n" + r + "\n", "leading or trailing space"},
      {"\n8\n" + r + "\n", "empty origin"},
      {o + "\r\n8\r\n" + r + "\r\n", "carriage return"},
      {o + "\n8\n" + r, "newline"},
      {o + "\n8\n" + r + "\nextension line\n", "extension"},
      {o + "\n8\n" + r + " \n", "base64"},
      {o + "\n8\n" + noncanon + "\n", "base64"},
      {o + "\n8\n" + base64Encode(std::string(31, 'x')) + "\n", "31 bytes"},
      {o + "\n18446744073709551616\n" + r + "\n", "64 bits"},
      {o + "\n8\n", "only 2 lines"},
      {"caf\xc3\x28\n8\n" + r + "\n", "UTF-8"},
  };
  ASSERT_EQ(r[42], 'g');
  for (const Case& c : cases) {
    auto cp = parseCheckpoint(c.body);
    ASSERT_FALSE(cp.ok()) << c.body;
    EXPECT_EQ(cp.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(cp.status().message().find(c.want), std::string::npos) << cp.status() << " want " << c.want;
  }
}

TEST(Checkpoint, ParseAcceptsEdges) {
  const std::string r(kGoldenRootB64);
  auto zero = parseCheckpoint("o\n0\n" + r + "\n");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->size, 0u);
  auto max = parseCheckpoint("o\n18446744073709551615\n" + r + "\n");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size, UINT64_MAX);
  auto utf8 = parseCheckpoint("证据.example/设备-01\n1\n" + r + "\n");
  ASSERT_TRUE(utf8.ok()) << utf8.status();
}

TEST(Checkpoint, FormatParseRoundTrip) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    Checkpoint cp;
    cp.origin = internal::cat("log.example/", rng() % 1000);
    cp.size = i < 100 ? static_cast<uint64_t>(i) : rng();
    cp.root.resize(32);
    for (auto& c : cp.root) c = static_cast<char>(rng());
    auto body = formatCheckpoint(cp);
    ASSERT_TRUE(body.ok());
    auto back = parseCheckpoint(*body);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, cp);
  }
  EXPECT_FALSE(formatCheckpoint(Checkpoint{"o", 1, "short"}).ok());
  EXPECT_FALSE(formatCheckpoint(Checkpoint{"bad\norigin", 1, std::string(32, 'x')}).ok());
  EXPECT_FALSE(formatCheckpoint(Checkpoint{"", 1, std::string(32, 'x')}).ok());
}

TEST(Checkpoint, StoreAdaptersSignAndOpen) {
  NoteSigner s = goldenSigner();
  CheckpointSignFn sign = makeCheckpointSigner({s});
  auto note = sign(kGoldenBody);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(*note, internal::cat(kGoldenBody, "\n", kGoldenEd25519Line));
  // Not a checkpoint, or another origin than the key name: refused.
  EXPECT_EQ(sign("hello\n").status().code(), absl::StatusCode::kInvalidArgument);
  auto other = sign("evidence.example/appliance-02\n8\n" + std::string(kGoldenRootB64) + "\n");
  EXPECT_NE(other.status().message().find("differs from the checkpoint origin"), std::string::npos) << other.status();

  CheckpointOpenFn open = makeCheckpointOpener({s.verifier()}, std::string(kGoldenOrigin));
  auto body = open(*note);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, kGoldenBody);
  EXPECT_EQ(open(absl::StrReplaceAll(*note, {{"\n8\n", "\n9\n"}})).status().code(),
            absl::StatusCode::kUnauthenticated);
  CheckpointOpenFn wrong_origin = makeCheckpointOpener({s.verifier()}, "evidence.example/other");
  EXPECT_FALSE(wrong_origin(*note).ok());
}

}  // namespace
}  // namespace xborder::evidence::crypto
