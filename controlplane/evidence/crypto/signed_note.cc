#include "controlplane/evidence/crypto/signed_note.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/sha.h>

#include <cstdio>
#include <ctime>
#include <set>
#include <utility>

#include "controlplane/evidence/crypto/str_util.h"
#include "controlplane/evidence/crypto/encoding.h"
#include "controlplane/evidence/crypto/openssl_util.h"

namespace xborder::evidence::crypto {
namespace {

using internal::u8;

constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014 then a space

absl::Status malformed(std::string_view why) {
  return absl::InvalidArgumentError(internal::cat("malformed note: ", why));
}

std::string keyLabel(std::string_view name, uint32_t id) {
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", id);
  return internal::cat(name, "+", hex);
}

// Decodes one UTF-8 code point at s[i] (input already validated); returns its length.
size_t decodeRune(std::string_view s, size_t i, uint32_t* cp) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
  uint32_t v = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) v = (v << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  *cp = v;
  return len;
}

bool isUnicodeSpace(uint32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Signed-note text rule: valid UTF-8, no ASCII control character but '\n'.
absl::Status checkNoteChars(std::string_view s) {
  if (!isValidUtf8(s)) return malformed("not valid UTF-8");
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x20 && c != '\n') {
      return malformed(c == '\r' ? internal::cat("carriage return at byte ", i)
                                 : internal::cat("control character 0x", absl::Hex(c), " at byte ", i));
    }
  }
  return absl::OkStatus();
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(u8(data), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

// r||s (32+32 bytes, big-endian) <-> DER SM2Signature.
absl::StatusOr<std::string> rsToDer(std::string_view rs) {
  if (rs.size() != 64) return absl::InvalidArgumentError("SM2 note signature must be 64 bytes r||s");
  std::unique_ptr<ECDSA_SIG, internal::OsslFree<ECDSA_SIG_free>> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(u8(rs), 32, nullptr);
  BIGNUM* s = BN_bin2bn(u8(rs) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return internal::opensslError(absl::StatusCode::kInternal, "SM2: building signature");
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return internal::opensslError(absl::StatusCode::kInternal, "SM2: encoding signature");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> derToRs(std::string_view der) {
  const unsigned char* p = u8(der);
  std::unique_ptr<ECDSA_SIG, internal::OsslFree<ECDSA_SIG_free>> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return internal::opensslError(absl::StatusCode::kInternal, "SM2: decoding signature");
  std::string out(64, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + 32, 32) != 32) {
    return absl::InternalError("SM2: signature component longer than 32 bytes");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> noteSigType(KeyType type) {
  switch (type) {
    case KeyType::kEd25519: return std::string(1, static_cast<char>(kNoteSigEd25519));
    case KeyType::kSm2: return internal::cat(std::string(1, static_cast<char>(kNoteSigExtension)), kSm2NoteSigName);
    case KeyType::kX25519: break;
  }
  return absl::InvalidArgumentError("X25519 keys cannot sign notes");
}

uint32_t noteKeyId(std::string_view name, std::string_view type_and_pubkey) {
  std::string h = sha256(internal::cat(name, "\n", type_and_pubkey));
  return (uint32_t{static_cast<uint8_t>(h[0])} << 24) | (uint32_t{static_cast<uint8_t>(h[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(h[2])} << 8) | uint32_t{static_cast<uint8_t>(h[3])};
}

bool isValidNoteKeyName(std::string_view name) {
  if (name.empty() || !isValidUtf8(name)) return false;
  for (size_t i = 0; i < name.size();) {
    uint32_t cp;
    i += decodeRune(name, i, &cp);
    if (cp < 0x20 || cp == '+' || isUnicodeSpace(cp)) return false;
  }
  return true;
}

// ---- NoteVerifier ----

absl::StatusOr<NoteVerifier> NoteVerifier::build(std::string name, const PublicKey& key, bool cosignature) {
  if (!isValidNoteKeyName(name)) {
    return absl::InvalidArgumentError(internal::cat("invalid note key name \"", name, "\""));
  }
  absl::StatusOr<std::string> type = noteSigType(key.type());
  if (cosignature) {
    if (key.type() != KeyType::kEd25519) return absl::InvalidArgumentError("cosignature keys must be Ed25519");
    type = std::string(1, static_cast<char>(kNoteSigCosignatureV1));
  }
  if (!type.ok()) return type.status();
  std::string tk = internal::cat(*type, key.raw());
  uint32_t id = noteKeyId(name, tk);
  return NoteVerifier(std::move(name), id, key, std::move(tk), cosignature);
}

absl::StatusOr<NoteVerifier> NoteVerifier::create(std::string name, const PublicKey& key) {
  return build(std::move(name), key, false);
}

absl::StatusOr<NoteVerifier> NoteVerifier::createCosignature(std::string name, const PublicKey& key) {
  return build(std::move(name), key, true);
}

std::optional<uint64_t> cosignatureTimestamp(std::string_view signature) {
  if (signature.size() != 72) return std::nullopt;
  uint64_t t = 0;
  for (size_t i = 0; i < 8; ++i) t = (t << 8) | static_cast<uint8_t>(signature[i]);
  return t;
}

namespace {
std::string cosignedMessage(uint64_t t, std::string_view text) {
  return internal::cat("cosignature/v1\ntime ", t, "\n", text);
}
}  // namespace

absl::StatusOr<NoteVerifier> NoteVerifier::fromVkey(std::string_view vkey) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(internal::cat("invalid vkey: ", why));
  };
  size_t p1 = vkey.find('+');
  if (p1 == std::string_view::npos) return bad("want name+keyid+base64");
  size_t p2 = vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return bad("want name+keyid+base64");
  std::string_view name = vkey.substr(0, p1);
  std::string_view hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  std::string_view b64 = vkey.substr(p2 + 1);
  if (!isValidNoteKeyName(name)) return bad("bad key name");
  if (hex.size() != 8) return bad("key ID must be 8 lower-case hex digits");
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return bad("key ID must be 8 lower-case hex digits");
  }
  auto key = base64DecodeStrict(b64);
  if (!key || key->empty()) return bad("key is not canonical base64");
  absl::StatusOr<PublicKey> pub = absl::InvalidArgumentError("");
  const auto t = static_cast<uint8_t>((*key)[0]);
  if (t == kNoteSigEd25519 || t == kNoteSigCosignatureV1) {
    pub = PublicKey::fromRaw(KeyType::kEd25519, std::string_view(*key).substr(1));
  } else if (t == kNoteSigExtension && key->size() > 1 + kSm2NoteSigName.size() &&
             std::string_view(*key).substr(1, kSm2NoteSigName.size()) == kSm2NoteSigName) {
    pub = PublicKey::fromRaw(KeyType::kSm2, std::string_view(*key).substr(1 + kSm2NoteSigName.size()));
  } else {
    return bad("unsupported signature type");
  }
  if (!pub.ok()) return bad(internal::toStd(pub.status().message()));
  auto v = build(std::string(name), *pub, t == kNoteSigCosignatureV1);
  if (!v.ok()) return v.status();
  if (keyLabel(name, v->keyId()) != vkey.substr(0, p2)) return bad("key ID does not match the key");
  return v;
}

std::string NoteVerifier::vkey() const {
  return internal::cat(keyLabel(name_, key_id_), "+", base64Encode(type_and_key_));
}

bool NoteVerifier::verify(std::string_view text, std::string_view signature) const {
  internal::MdCtxPtr md(EVP_MD_CTX_new());
  if (!md) return false;
  bool ok = false;
  if (cosignature_) {
    auto t = cosignatureTimestamp(signature);
    if (!t) return false;
    const std::string msg = cosignedMessage(*t, text);
    signature.remove_prefix(8);
    ok = EVP_DigestVerifyInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, key_.get(), nullptr) == 1 &&
         EVP_DigestVerify(md.get(), u8(signature), signature.size(), u8(msg), msg.size()) == 1;
  } else if (key_.type() == KeyType::kEd25519) {
    ok = signature.size() == 64 &&
         EVP_DigestVerifyInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, key_.get(), nullptr) == 1 &&
         EVP_DigestVerify(md.get(), u8(signature), signature.size(), u8(text), text.size()) == 1;
  } else if (key_.type() == KeyType::kSm2) {
    auto der = rsToDer(signature);
    internal::PkeyCtxPtr pctx;
    ok = der.ok() && internal::initSm2DigestCtx(md.get(), key_.get(), /*sign=*/false, &pctx).ok() &&
         EVP_DigestVerify(md.get(), u8(*der), der->size(), u8(text), text.size()) == 1;
  }
  internal::clearOpensslErrors();  // a failed verify leaves entries; the caller reports
  return ok;
}

// ---- NoteSigner ----

absl::StatusOr<NoteSigner> NoteSigner::create(std::string name, PrivateKey key) {
  auto v = NoteVerifier::create(std::move(name), key.publicKey());
  if (!v.ok()) return v.status();
  return NoteSigner(std::move(key), *std::move(v), nullptr);
}

absl::StatusOr<NoteSigner> NoteSigner::createCosigner(std::string name, PrivateKey key,
                                                      std::function<uint64_t()> clock) {
  auto v = NoteVerifier::createCosignature(std::move(name), key.publicKey());
  if (!v.ok()) return v.status();
  if (!clock) clock = [] { return static_cast<uint64_t>(::time(nullptr)); };
  return NoteSigner(std::move(key), *std::move(v), std::move(clock));
}

absl::StatusOr<std::string> NoteSigner::sign(std::string_view text) const {
  internal::MdCtxPtr md(EVP_MD_CTX_new());
  if (!md) return absl::ResourceExhaustedError("EVP_MD_CTX_new");
  if (key_.type() == KeyType::kEd25519) {
    // Ed25519 is one-shot only, with a NULL digest (EVIDENCE.md §3.2).
    std::string prefix, msg;
    if (verifier_.isCosignature()) {
      const uint64_t t = clock_();
      prefix.resize(8);
      for (size_t i = 0; i < 8; ++i) prefix[i] = static_cast<char>(t >> (56 - 8 * i));
      msg = cosignedMessage(t, text);
      text = msg;
    }
    std::string sig(64, '\0');
    size_t len = sig.size();
    if (EVP_DigestSignInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, key_.get(), nullptr) != 1 ||
        EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, u8(text), text.size()) != 1 ||
        len != 64) {
      return internal::opensslError(absl::StatusCode::kInternal, "Ed25519 sign");
    }
    return prefix + sig;
  }
  internal::PkeyCtxPtr pctx;
  if (auto st = internal::initSm2DigestCtx(md.get(), key_.get(), /*sign=*/true, &pctx); !st.ok()) return st;
  size_t len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &len, u8(text), text.size()) != 1) {
    return internal::opensslError(absl::StatusCode::kInternal, "SM2 sign (size)");
  }
  std::string der(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &len, u8(text), text.size()) != 1) {
    return internal::opensslError(absl::StatusCode::kInternal, "SM2 sign");
  }
  der.resize(len);
  return derToRs(der);
}

// ---- notes ----

absl::StatusOr<ParsedNote> parseNote(std::string_view note) {
  if (auto st = checkNoteChars(note); !st.ok()) return st;
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return malformed("no blank line before the signatures");
  ParsedNote out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return malformed("no signature lines");
  if (sigs.back() != '\n') return malformed("last signature line does not end in a newline");
  std::set<std::pair<std::string, uint32_t>> seen;
  size_t line_no = 0;
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    ++line_no;
    if (out.signatures.size() == kMaxNoteSignatures) {
      return malformed(internal::cat("more than ", kMaxNoteSignatures, " signatures"));
    }
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
      return malformed(internal::cat("signature line ", line_no, " does not start with an em dash and a space"));
    }
    line.remove_prefix(kEmDashSpace.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return malformed(internal::cat("signature line ", line_no, " has no signature"));
    std::string_view name = line.substr(0, sp);
    std::string_view b64 = line.substr(sp + 1);
    if (!isValidNoteKeyName(name)) return malformed(internal::cat("signature line ", line_no, ": bad key name"));
    auto raw = base64DecodeStrict(b64);
    if (!raw) return malformed(internal::cat("signature line ", line_no, ": signature is not canonical base64"));
    if (raw->size() < 5) return malformed(internal::cat("signature line ", line_no, ": signature too short"));
    NoteSignature sig;
    sig.name = std::string(name);
    for (int i = 0; i < 4; ++i) sig.key_id = (sig.key_id << 8) | static_cast<uint8_t>((*raw)[static_cast<size_t>(i)]);
    sig.signature = raw->substr(4);
    if (!seen.emplace(sig.name, sig.key_id).second) {
      return malformed(internal::cat("duplicate signature for key ", keyLabel(sig.name, sig.key_id)));
    }
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

absl::StatusOr<std::string> signNote(std::string_view text, std::span<const NoteSigner> signers) {
  if (text.empty() || text.back() != '\n') return absl::InvalidArgumentError("note text must end in a newline");
  if (auto st = checkNoteChars(text); !st.ok()) return st;
  if (signers.empty()) return absl::InvalidArgumentError("no signers");
  if (signers.size() > kMaxNoteSignatures) return absl::InvalidArgumentError("too many signers");
  std::string out = internal::cat(text, "\n");
  std::set<std::pair<std::string, uint32_t>> seen;
  for (const NoteSigner& s : signers) {
    if (!seen.emplace(s.name(), s.keyId()).second) {
      return absl::InvalidArgumentError(internal::cat("duplicate signer ", keyLabel(s.name(), s.keyId())));
    }
    auto sig = s.sign(text);
    if (!sig.ok()) return sig.status();
    std::string blob(4, '\0');
    for (int i = 0; i < 4; ++i) blob[static_cast<size_t>(i)] = static_cast<char>(s.keyId() >> (24 - 8 * i));
    out += internal::cat(kEmDashSpace, s.name(), " ", base64Encode(blob + *sig), "\n");
  }
  return out;
}

absl::StatusOr<OpenedNote> openNote(std::string_view note, std::span<const NoteVerifier> verifiers) {
  auto parsed = parseNote(note);
  if (!parsed.ok()) return parsed.status();
  OpenedNote out;
  out.text = std::move(parsed->text);
  for (NoteSignature& sig : parsed->signatures) {
    const NoteVerifier* match = nullptr;
    for (const NoteVerifier& v : verifiers) {
      if (v.name() != sig.name || v.keyId() != sig.key_id) continue;
      if (match != nullptr) {
        return absl::FailedPreconditionError(internal::cat("ambiguous key ", keyLabel(sig.name, sig.key_id)));
      }
      match = &v;
    }
    if (match == nullptr) {
      out.unverified.push_back(std::move(sig));
      continue;
    }
    if (!match->verify(out.text, sig.signature)) {
      return absl::UnauthenticatedError(internal::cat("invalid signature for key ", keyLabel(sig.name, sig.key_id)));
    }
    if (match->isCosignature()) sig.cosignature_time = cosignatureTimestamp(sig.signature);
    out.verified.push_back(std::move(sig));
  }
  if (out.verified.empty()) return absl::UnauthenticatedError("note has no verifiable signatures");
  return out;
}

}  // namespace xborder::evidence::crypto
