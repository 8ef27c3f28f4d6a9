#include "controlplane/evidence/crypto/certificate.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "controlplane/evidence/crypto/encoding.h"
#include "controlplane/evidence/crypto/openssl_util.h"
#include "controlplane/evidence/crypto/str_util.h"

namespace xborder::evidence::crypto {
namespace {

using internal::opensslError;

using X509ReqPtr = std::unique_ptr<X509_REQ, internal::OsslFree<X509_REQ_free>>;
using NamePtr = std::unique_ptr<X509_NAME, internal::OsslFree<X509_NAME_free>>;

absl::StatusOr<NamePtr> buildName(const CertSubject& s) {
  if (s.common_name.empty()) return absl::InvalidArgumentError("certificate subject needs a common name");
  NamePtr name(X509_NAME_new());
  auto add = [&](const char* field, const std::string& v) {
    return v.empty() || X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8, internal::u8(v),
                                                   static_cast<int>(v.size()), -1, 0) == 1;
  };
  if (!name || !add("C", s.country) || !add("O", s.organization) || !add("OU", s.org_unit) ||
      !add("serialNumber", s.serial_number) || !add("CN", s.common_name)) {
    return opensslError(absl::StatusCode::kInvalidArgument, "building the certificate subject");
  }
  return name;
}

std::unique_ptr<ASN1_OCTET_STRING, internal::OsslFree<ASN1_OCTET_STRING_free>> sm2Id() {
  std::unique_ptr<ASN1_OCTET_STRING, internal::OsslFree<ASN1_OCTET_STRING_free>> id(ASN1_OCTET_STRING_new());
  if (id) ASN1_OCTET_STRING_set(id.get(), internal::u8(internal::kSm2DistId), static_cast<int>(internal::kSm2DistId.size()));
  return id;
}

// Signs with X509_sign_ctx / X509_REQ_sign_ctx so the SM2 ID can be set on the ctx.
template <typename Fn>
absl::Status signWith(const PrivateKey& key, Fn&& sign_ctx) {
  internal::MdCtxPtr md(EVP_MD_CTX_new());
  internal::PkeyCtxPtr pctx;
  if (!md) return absl::ResourceExhaustedError("EVP_MD_CTX_new");
  if (key.type() == KeyType::kSm2) {
    if (auto st = internal::initSm2DigestCtx(md.get(), key.get(), /*sign=*/true, &pctx); !st.ok()) return st;
  } else if (key.type() == KeyType::kEd25519) {
    if (EVP_DigestSignInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) != 1) {
      return opensslError(absl::StatusCode::kInternal, "Ed25519 sign init");
    }
  } else {
    return absl::InvalidArgumentError("certificates need an Ed25519 or SM2 key");
  }
  if (sign_ctx(md.get()) <= 0) return opensslError(absl::StatusCode::kInternal, "signing");
  return absl::OkStatus();
}

absl::StatusOr<internal::X509Ptr> readCert(std::string_view pem) {
  auto bio = internal::memBio(pem);
  internal::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) return opensslError(absl::StatusCode::kInvalidArgument, "not a PEM certificate");
  return x;
}

void freeExtensions(STACK_OF(X509_EXTENSION)* s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }

bool addExt(X509V3_CTX* ctx, STACK_OF(X509_EXTENSION)* sk, X509* x, int nid, const char* value) {
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (e == nullptr) return false;
  bool ok = x ? X509_add_ext(x, e, -1) == 1 : sk_X509_EXTENSION_push(sk, e) > 0;
  if (x || !ok) X509_EXTENSION_free(e);
  return ok;
}

}  // namespace

absl::StatusOr<std::string> makeSelfSignedCert(const PrivateKey& key, const CertSubject& subject,
                                               const CertOptions& options) {
  auto name = buildName(subject);
  if (!name.ok()) return name.status();
  internal::X509Ptr x(X509_new());
  if (!x) return absl::ResourceExhaustedError("X509_new");
  uint64_t serial = options.serial;
  if (serial == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
      return opensslError(absl::StatusCode::kInternal, "RAND_bytes");
    }
    serial = (serial >> 1) | 1;  // positive, non-zero
  }
  time_t start = options.not_before_unix != 0 ? static_cast<time_t>(options.not_before_unix) : time(nullptr);
  if (X509_set_version(x.get(), X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), serial) != 1 ||
      X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, 0, &start) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(x.get()), options.days, 0, &start) == nullptr ||
      X509_set_subject_name(x.get(), name->get()) != 1 || X509_set_issuer_name(x.get(), name->get()) != 1 ||
      X509_set_pubkey(x.get(), key.get()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "filling the certificate");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  if (!addExt(&ctx, nullptr, x.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExt(&ctx, nullptr, x.get(), NID_key_usage, "critical,digitalSignature,nonRepudiation") ||
      !addExt(&ctx, nullptr, x.get(), NID_subject_key_identifier, "hash")) {
    return opensslError(absl::StatusCode::kInternal, "adding certificate extensions");
  }
  auto st = signWith(key, [&](EVP_MD_CTX* md) { return X509_sign_ctx(x.get(), md); });
  if (!st.ok()) return st;
  internal::BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), x.get()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "writing certificate PEM");
  }
  return internal::bioContents(out.get());
}

absl::StatusOr<std::string> makeCsr(const PrivateKey& key, const CertSubject& subject) {
  auto name = buildName(subject);
  if (!name.ok()) return name.status();
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name->get()) != 1 || X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "filling the CSR");
  }
  std::unique_ptr<STACK_OF(X509_EXTENSION), internal::OsslFree<freeExtensions>> exts(sk_X509_EXTENSION_new_null());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
  if (!exts || !addExt(&ctx, exts.get(), nullptr, NID_key_usage, "critical,digitalSignature,nonRepudiation") ||
      X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "adding CSR extensions");
  }
  auto st = signWith(key, [&](EVP_MD_CTX* md) { return X509_REQ_sign_ctx(req.get(), md); });
  if (!st.ok()) return st;
  internal::BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "writing CSR PEM");
  }
  return internal::bioContents(out.get());
}

absl::Status verifyCertSignature(std::string_view cert_pem, const PublicKey& issuer) {
  auto x = readCert(cert_pem);
  if (!x.ok()) return x.status();
  if (issuer.type() == KeyType::kSm2) X509_set0_distinguishing_id(x->get(), sm2Id().release());
  if (X509_verify(x->get(), issuer.get()) != 1) {
    return opensslError(absl::StatusCode::kUnauthenticated, "certificate signature does not verify");
  }
  return absl::OkStatus();
}

absl::Status verifyCsr(std::string_view csr_pem) {
  auto bio = internal::memBio(csr_pem);
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return opensslError(absl::StatusCode::kInvalidArgument, "not a PEM certificate request");
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr) return opensslError(absl::StatusCode::kInvalidArgument, "CSR has no public key");
  if (EVP_PKEY_is_a(pub, "SM2")) X509_REQ_set0_distinguishing_id(req.get(), sm2Id().release());
  if (X509_REQ_verify(req.get(), pub) != 1) {
    return opensslError(absl::StatusCode::kUnauthenticated, "CSR signature does not verify");
  }
  return absl::OkStatus();
}

absl::StatusOr<PublicKey> certPublicKey(std::string_view cert_pem) {
  auto x = readCert(cert_pem);
  if (!x.ok()) return x.status();
  internal::BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), X509_get0_pubkey(x->get())) != 1) {
    return opensslError(absl::StatusCode::kInvalidArgument, "certificate public key");
  }
  return PublicKey::fromPem(internal::bioContents(out.get()));
}

absl::StatusOr<std::string> certFingerprint(std::string_view cert_pem, std::string_view digest) {
  auto x = readCert(cert_pem);
  if (!x.ok()) return x.status();
  std::unique_ptr<EVP_MD, internal::OsslFree<EVP_MD_free>> md(
      EVP_MD_fetch(nullptr, std::string(digest).c_str(), nullptr));
  if (!md) return opensslError(absl::StatusCode::kInvalidArgument, internal::cat("unknown digest ", digest));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(x->get(), md.get(), out, &len) != 1) {
    return opensslError(absl::StatusCode::kInternal, "certificate digest");
  }
  return hexEncode(std::string_view(reinterpret_cast<char*>(out), len));
}

namespace {

void freeCertStack(STACK_OF(X509)* s) { sk_X509_pop_free(s, X509_free); }
using CertStackPtr = std::unique_ptr<STACK_OF(X509), internal::OsslFree<freeCertStack>>;

CertStackPtr readAllCerts(std::string_view pem) {
  CertStackPtr certs(sk_X509_new_null());
  auto bio = internal::memBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) sk_X509_push(certs.get(), x);
  internal::clearOpensslErrors();  // the loop ends on "no start line"
  return certs;
}

bool sm2Signed(const X509* x) { return X509_get_signature_nid(x) == NID_SM2_with_SM3; }

std::string rfc2253(const X509_NAME* n) {
  internal::BioPtr b(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(b.get(), n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return internal::bioContents(b.get());
}

}  // namespace

absl::StatusOr<CertChainInfo> verifyCertChain(std::string_view chain_pem, std::string_view trusted_roots_pem,
                                              int64_t at_unix) {
  CertStackPtr chain = readAllCerts(chain_pem);
  CertStackPtr roots = readAllCerts(trusted_roots_pem);
  if (sk_X509_num(chain.get()) == 0) return absl::InvalidArgumentError("certificate chain: no certificate");
  if (sk_X509_num(roots.get()) == 0) return absl::InvalidArgumentError("certificate chain: no trusted root");
  // X509_verify_cert checks each signature with the ID stored on the certificate
  // being verified, so every SM2-signed one (roots included: self-signatures) gets it.
  for (STACK_OF(X509)* s : {chain.get(), roots.get()}) {
    for (int i = 0; i < sk_X509_num(s); ++i) {
      if (sm2Signed(sk_X509_value(s, i))) X509_set0_distinguishing_id(sk_X509_value(s, i), sm2Id().release());
    }
  }
  std::unique_ptr<X509_STORE, internal::OsslFree<X509_STORE_free>> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, internal::OsslFree<X509_STORE_CTX_free>> ctx(X509_STORE_CTX_new());
  if (!store || !ctx) return absl::ResourceExhaustedError("X509_STORE_new");
  for (int i = 0; i < sk_X509_num(roots.get()); ++i) X509_STORE_add_cert(store.get(), sk_X509_value(roots.get(), i));
  X509* leaf = sk_X509_value(chain.get(), 0);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain.get()) != 1) {
    return opensslError(absl::StatusCode::kInternal, "X509_STORE_CTX_init");
  }
  if (at_unix != 0) X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at_unix));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    internal::clearOpensslErrors();
    return absl::UnauthenticatedError(
        internal::cat("certificate chain: ", X509_verify_cert_error_string(err), " (depth ",
                      X509_STORE_CTX_get_error_depth(ctx.get()), ")"));
  }
  const uint32_t ku = X509_get_key_usage(leaf);
  if (ku != UINT32_MAX && (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
    return absl::UnauthenticatedError("certificate chain: leaf keyUsage allows neither digitalSignature nor nonRepudiation");
  }
  CertChainInfo info;
  info.subject = rfc2253(X509_get_subject_name(leaf));
  info.issuer = rfc2253(X509_get_issuer_name(leaf));
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1) info.not_after_unix = static_cast<int64_t>(timegm(&tm));
  info.chain_length = static_cast<size_t>(sk_X509_num(X509_STORE_CTX_get0_chain(ctx.get())));
  return info;
}

}  // namespace xborder::evidence::crypto
