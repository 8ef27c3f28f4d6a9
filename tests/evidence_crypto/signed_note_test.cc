#include "controlplane/evidence/crypto/signed_note.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "controlplane/evidence/crypto/str_util.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "controlplane/evidence/crypto/encoding.h"
#include "tests/evidence_crypto/test_vectors.h"

namespace xborder::evidence::crypto {
namespace {

using namespace testing;  // NOLINT: vectors

NoteSigner peterSigner() {
  std::string skey = *base64DecodeStrict(kPeterSkeyB64);
  auto key = PrivateKey::fromRaw(KeyType::kEd25519, std::string_view(skey).substr(1));
  EXPECT_TRUE(key.ok()) << key.status();
  auto s = NoteSigner::create("PeterNeumann", *key);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

NoteVerifier vk(std::string_view v) {
  auto r = NoteVerifier::fromVkey(v);
  EXPECT_TRUE(r.ok()) << v << ": " << r.status();
  return *r;
}

TEST(SignedNote, GolangSignVectorByteForByte) {
  NoteSigner s = peterSigner();
  EXPECT_EQ(s.verifier().vkey(), kPeterVkey);
  EXPECT_EQ(s.keyId(), 0xc74f20a3u);
  auto note = signNote(kPeterText, {&s, 1});
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(*note, internal::cat(kPeterText, "\n", kPeterSig));
}

TEST(SignedNote, GolangOpenVectors) {
  const std::string msg = internal::cat(kPeterText, "\n", kPeterSig, kEnochSig);
  std::vector<NoteVerifier> peter = {vk(kPeterVkey)};
  auto n = openNote(msg, peter);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->text, kPeterText);
  ASSERT_EQ(n->verified.size(), 1u);
  EXPECT_EQ(n->verified[0].name, "PeterNeumann");
  EXPECT_EQ(n->verified[0].key_id, 0xc74f20a3u);
  ASSERT_EQ(n->unverified.size(), 1u);
  EXPECT_EQ(n->unverified[0].name, "EnochRoot");
  EXPECT_EQ(n->unverified[0].key_id, 0xaf0cfe78u);

  std::vector<NoteVerifier> both = {vk(kPeterVkey), vk(kEnochVkey)};
  n = openNote(msg, both);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->verified.size(), 2u);
  EXPECT_TRUE(n->unverified.empty());

  n = openNote(msg, {});
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(n.status().message(), "note has no verifiable signatures");
}

TEST(SignedNote, AmbiguousVerifierIsAnErrorOnlyWhenUsed) {
  std::vector<NoteVerifier> vs = {vk(kEnochVkey), vk(kPeterVkey), vk(kEnochVkey)};
  auto n = openNote(internal::cat(kPeterText, "\n", kEnochSig), vs);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.status().message(), "ambiguous key EnochRoot+af0cfe78");
  EXPECT_TRUE(openNote(internal::cat(kPeterText, "\n", kPeterSig), vs).ok());
}

TEST(SignedNote, KnownKeyWithBadSignatureRejectsWholeNote) {
  std::string bad(kPeterSig);
  bad.insert(60, "ABCD");
  std::vector<NoteVerifier> vs = {vk(kPeterVkey), vk(kEnochVkey)};
  auto n = openNote(internal::cat(kPeterText, "\n", kEnochSig, bad), vs);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(n.status().message(), "invalid signature for key PeterNeumann+c74f20a3");
}

TEST(SignedNote, UnknownKeySharingNameOrIdIsIgnored) {
  std::vector<NoteVerifier> vs = {vk(kPeterVkey)};
  // Same name, other ID (Enoch's signature relabelled): ignored, so nothing verifies.
  std::string renamed = absl::StrReplaceAll(std::string(kEnochSig), {{"EnochRoot", "PeterNeumann"}});
  auto n = openNote(internal::cat(kPeterText, "\n", renamed), vs);
  EXPECT_EQ(n.status().message(), "note has no verifiable signatures");
  // Same ID, other name: ignored too.
  std::string other = absl::StrReplaceAll(std::string(kPeterSig), {{"PeterNeumann", "CarmenSandiego"}});
  n = openNote(internal::cat(kPeterText, "\n", other, kPeterSig), vs);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(n->unverified.size(), 1u);
  EXPECT_EQ(n->unverified[0].name, "CarmenSandiego");
}

TEST(SignedNote, MalformedNotesAreRejected) {
  const std::string t(kPeterText);
  const std::string sig(kPeterSig);
  std::string noncanon = sig;  // last base64 char: 'M' -> 'N' changes only pad bits
  noncanon[noncanon.size() - 3] = 'N';
  std::string sig17;
  std::vector<std::string> bad = {
      t,
      t + "\n",
      t + "\n" + sig.substr(0, sig.size() - 1),
      "\x01" + t + "\n" + sig,
      "\xff" + t + "\n" + sig,
      t + "\n" + "\xE2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
      t + "\n" + sig + "Unexpected line.\n",
      absl::StrReplaceAll(t + "\n" + sig, {{"\n", "\r\n"}}),
      t + "\n" + sig + sig,                                                       // duplicate line
      t + "\n" + absl::StrReplaceAll(sig, {{"PeterNeumann", "Peter+Neumann"}}),  // '+' in name
      t + "\n" + absl::StrReplaceAll(sig, {{"\xE2\x80\x94 ", "- "}}),             // ASCII dash
      t + "\n" + absl::StrReplaceAll(sig, {{"=\n", "\n"}}),                       // unpadded base64
      t + "\n" + absl::StrReplaceAll(sig, {{"=\n", "= \n"}}),                     // trailing space
      t + "\n" + noncanon,
      t + "\n" + "\xE2\x80\x94 PeterNeumann AAAA\n",  // shorter than a key ID + 1
      "caf\xc3\x28\n\n" + sig,                        // invalid UTF-8
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    auto n = openNote(bad[i], std::vector<NoteVerifier>{vk(kPeterVkey)});
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument) << "case " << i << ": " << n.status();
    EXPECT_TRUE(absl::StartsWith(n.status().message(), "malformed note")) << "case " << i;
  }
}

TEST(SignedNote, AtMostSixteenSignatures) {
  std::vector<NoteSigner> signers;
  for (int i = 0; i < 17; ++i) {
    auto k = PrivateKey::generate(KeyType::kEd25519);
    ASSERT_TRUE(k.ok());
    signers.push_back(*NoteSigner::create(internal::cat("k", i), *k));
  }
  auto note16 = signNote("hello\n", std::span(signers).first(16));
  ASSERT_TRUE(note16.ok()) << note16.status();
  std::vector<NoteVerifier> vs = {signers[15].verifier()};
  EXPECT_TRUE(openNote(*note16, vs).ok());
  EXPECT_FALSE(signNote("hello\n", signers).ok());
  // Hand-append a 17th line to a 16-signature note.
  std::string sig17 = *signers[16].sign("hello\n");
  std::string blob(4, '\0');
  for (int i = 0; i < 4; ++i) blob[static_cast<size_t>(i)] = static_cast<char>(signers[16].keyId() >> (24 - 8 * i));
  std::string note17 = internal::cat(*note16, "\xE2\x80\x94 k16 ", base64Encode(blob + sig17), "\n");
  auto n = openNote(note17, vs);
  EXPECT_EQ(n.status().message(), "malformed note: more than 16 signatures");
}

TEST(SignedNote, VkeyManglingsAreRejected) {
  const std::string v(kPeterVkey);
  for (size_t i = 0; i <= v.size(); ++i) {
    for (size_t j = i + 1; j <= v.size(); ++j) {
      if (i == 0 && j == v.size()) continue;
      EXPECT_FALSE(NoteVerifier::fromVkey(v.substr(i, j - i)).ok()) << v.substr(i, j - i);
    }
  }
  for (size_t i = 0; i < v.size(); ++i) {
    std::string b = v;
    ++b[i];
    EXPECT_FALSE(NoteVerifier::fromVkey(b).ok()) << b;
  }
  // Wrong key length and unknown algorithm, each with a matching key hash (golang/mod).
  EXPECT_FALSE(NoteVerifier::fromVkey(
                   "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
                   .ok());
  EXPECT_FALSE(NoteVerifier::fromVkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  // Upper-case key ID is not canonical.
  EXPECT_FALSE(NoteVerifier::fromVkey("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
}

TEST(SignedNote, Ed25519RoundTripAndTamper) {
  auto k = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(k.ok());
  auto s = NoteSigner::create("log.example/a", *k);
  ASSERT_TRUE(s.ok());
  auto note = signNote("body\nline two\n", {&*s, 1});
  ASSERT_TRUE(note.ok());
  auto v = NoteVerifier::fromVkey(s->verifier().vkey());
  ASSERT_TRUE(v.ok()) << v.status();
  std::vector<NoteVerifier> vs = {*v};
  EXPECT_TRUE(openNote(*note, vs).ok());
  std::string tampered = absl::StrReplaceAll(*note, {{"two", "Two"}});
  EXPECT_EQ(openNote(tampered, vs).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(SignedNote, Sm2AndEd25519OnOneNote) {
  auto ed = NoteSigner::create("log.example/a", *PrivateKey::generate(KeyType::kEd25519));
  auto sm = NoteSigner::create("log.example/a", *PrivateKey::generate(KeyType::kSm2));
  ASSERT_TRUE(ed.ok() && sm.ok());
  std::vector<NoteSigner> signers = {*ed, *sm};
  auto note = signNote("checkpoint body\n", signers);
  ASSERT_TRUE(note.ok()) << note.status();
  // A verifier configured for only one algorithm ignores the other line.
  for (const NoteVerifier& only : {ed->verifier(), sm->verifier()}) {
    std::vector<NoteVerifier> vs = {*NoteVerifier::fromVkey(only.vkey())};
    auto n = openNote(*note, vs);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(n->verified.size(), 1u);
    EXPECT_EQ(n->unverified.size(), 1u);
  }
  std::vector<NoteVerifier> vs = {sm->verifier()};
  EXPECT_EQ(openNote(absl::StrReplaceAll(*note, {{"body", "bodY"}}), vs).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(SignedNote, Sm2GoldenVerifyOnlyVector) {
  NoteVerifier v = vk(kGoldenSm2Vkey);
  EXPECT_EQ(v.keyType(), KeyType::kSm2);
  EXPECT_EQ(v.keyId(), 0x4170e8d6u);
  EXPECT_EQ(v.vkey(), kGoldenSm2Vkey);
  std::vector<NoteVerifier> vs = {v};
  const std::string note = internal::cat(kGoldenBody, "\n", kGoldenSm2Line);
  auto n = openNote(note, vs);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(n->verified.size(), 1u);
  EXPECT_EQ(hexEncode(n->verified[0].signature), kGoldenSm2RsHex);
  // Size line 8 -> 9 must fail.
  std::string edited = absl::StrReplaceAll(note, {{"\n8\n", "\n9\n"}});
  EXPECT_EQ(openNote(edited, vs).status().message(), "invalid signature for key evidence.example/appliance-01+4170e8d6");
  // The GM/T 0003.5 sample scalar gives the vkey's public point.
  auto d = PrivateKey::fromRaw(KeyType::kSm2, *hexDecode(kGmSampleDHex));
  ASSERT_TRUE(d.ok()) << d.status();
  auto s = NoteSigner::create(std::string(kGoldenOrigin), *d);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verifier().vkey(), kGoldenSm2Vkey);
}

// EVIDENCE.md §8 item 13: a signature made with the empty (OpenSSL 3.0 default) ID
// must not verify, which proves the verifier sets the ID itself.
TEST(SignedNote, Sm2SignatureWithoutDistIdIsRejected) {
  auto d = PrivateKey::fromRaw(KeyType::kSm2, *hexDecode(kGmSampleDHex));
  ASSERT_TRUE(d.ok());
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit(md, nullptr, EVP_sm3(), nullptr, d->get()), 1);
  unsigned char der[80];
  size_t len = sizeof(der);
  ASSERT_EQ(EVP_DigestSign(md, der, &len, reinterpret_cast<const unsigned char*>(kGoldenBody.data()),
                           kGoldenBody.size()),
            1);
  EVP_MD_CTX_free(md);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  ASSERT_NE(sig, nullptr);
  std::string blob = *hexDecode("4170e8d6");
  blob.resize(4 + 64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(blob.data()) + 4, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(blob.data()) + 36, 32);
  ECDSA_SIG_free(sig);
  std::string note = internal::cat(kGoldenBody, "\n\xE2\x80\x94 ", kGoldenOrigin, " ", base64Encode(blob), "\n");
  std::vector<NoteVerifier> vs = {vk(kGoldenSm2Vkey)};
  EXPECT_EQ(openNote(note, vs).status().code(), absl::StatusCode::kUnauthenticated);
}

// c2sp.org/tlog-cosignature v1.0.1: a witness line with a timestamp, beside the log's line.
TEST(SignedNote, WitnessCosignature) {
  NoteSigner log = peterSigner();
  auto wkey = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(wkey.ok());
  auto witness = NoteSigner::createCosigner("witness.example/w1", *wkey, [] { return uint64_t{1727964367}; });
  ASSERT_TRUE(witness.ok()) << witness.status();
  EXPECT_TRUE(witness->verifier().isCosignature());
  // The vkey carries type 0x04 and round-trips.
  auto wv = NoteVerifier::fromVkey(witness->verifier().vkey());
  ASSERT_TRUE(wv.ok()) << wv.status();
  EXPECT_TRUE(wv->isCosignature());
  // The key part follows the second '+' (base64 itself may contain '+').
  const std::string vkey = witness->verifier().vkey();
  auto key_bytes = base64DecodeStrict(vkey.substr(vkey.find('+', vkey.find('+') + 1) + 1));
  ASSERT_TRUE(key_bytes.has_value()) << vkey;
  ASSERT_EQ(key_bytes->size(), 33u);
  EXPECT_EQ((*key_bytes)[0], '\x04');

  std::vector<NoteSigner> signers = {log, *witness};
  auto note = signNote(kGoldenBody, signers);
  ASSERT_TRUE(note.ok()) << note.status();
  std::vector<NoteVerifier> vs = {log.verifier(), *wv};
  auto n = openNote(*note, vs);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(n->verified.size(), 2u);
  EXPECT_FALSE(n->verified[0].cosignature_time.has_value());
  EXPECT_EQ(n->verified[1].cosignature_time, 1727964367u);
  EXPECT_EQ(n->verified[1].signature.size(), 72u);

  // The same Ed25519 key as a plain 0x01 verifier has another key ID: line ignored.
  std::vector<NoteVerifier> plain = {*NoteVerifier::create("witness.example/w1", wkey->publicKey())};
  EXPECT_EQ(openNote(*note, plain).status().message(), "note has no verifiable signatures");
  // Editing the signed timestamp breaks the cosignature.
  auto parsed = parseNote(*note);
  ASSERT_TRUE(parsed.ok());
  std::string blob = *hexDecode("00000000");
  for (int i = 0; i < 4; ++i) blob[static_cast<size_t>(i)] = static_cast<char>(witness->keyId() >> (24 - 8 * i));
  std::string sig = parsed->signatures[1].signature;
  sig[7] ^= 0x01;
  std::string forged = internal::cat(kGoldenBody, "\n",
                                     "\xE2\x80\x94 witness.example/w1 ", base64Encode(blob + sig), "\n");
  std::vector<NoteVerifier> wonly = {*wv};
  EXPECT_EQ(openNote(forged, wonly).status().code(), absl::StatusCode::kUnauthenticated);
  // A cosignature over another body does not verify either.
  std::string moved = absl::StrReplaceAll(*note, {{"\n8\n", "\n9\n"}});
  EXPECT_EQ(openNote(moved, wonly).status().code(), absl::StatusCode::kUnauthenticated);
  // Cosigners must be Ed25519.
  EXPECT_FALSE(NoteSigner::createCosigner("w", *PrivateKey::generate(KeyType::kSm2)).ok());
}

TEST(SignedNote, CosignatureVectorsFromTransparencyDevFormats) {
  // transparency-dev/formats note/note_cosigv1_test.go (Apache-2.0).
  auto v = NoteVerifier::fromVkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->isCosignature());
  auto sig = base64DecodeStrict(
      "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==");
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(cosignatureTimestamp(sig->substr(4)), 1727964367u);
  auto plain = base64DecodeStrict(
      "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(cosignatureTimestamp(plain->substr(4)).has_value());
}

TEST(SignedNote, SignRejectsBadText) {
  NoteSigner s = peterSigner();
  EXPECT_FALSE(signNote("no newline", {&s, 1}).ok());
  EXPECT_FALSE(signNote("tab\there\n", {&s, 1}).ok());
  EXPECT_FALSE(signNote("cr\r\n", {&s, 1}).ok());
  EXPECT_FALSE(signNote("ok\n", {}).ok());
  EXPECT_FALSE(NoteSigner::create("bad name", *PrivateKey::generate(KeyType::kEd25519)).ok());
  EXPECT_FALSE(NoteSigner::create("x25519", *PrivateKey::generate(KeyType::kX25519)).ok());
}

}  // namespace
}  // namespace xborder::evidence::crypto
