#include "controlplane/evidence/crypto/timestamp.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>

#include "controlplane/evidence/crypto/encoding.h"
#include "controlplane/evidence/crypto/openssl_util.h"
#include "controlplane/evidence/crypto/str_util.h"

namespace xborder::evidence::crypto {
namespace {

using internal::opensslError;
using internal::u8;

using Pkcs7Ptr = std::unique_ptr<PKCS7, internal::OsslFree<PKCS7_free>>;
using TstInfoPtr = std::unique_ptr<TS_TST_INFO, internal::OsslFree<TS_TST_INFO_free>>;
using TsReqPtr = std::unique_ptr<TS_REQ, internal::OsslFree<TS_REQ_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, internal::OsslFree<TS_RESP_free>>;
using VerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, internal::OsslFree<TS_VERIFY_CTX_free>>;
using StorePtr = std::unique_ptr<X509_STORE, internal::OsslFree<X509_STORE_free>>;
using IntPtr = std::unique_ptr<ASN1_INTEGER, internal::OsslFree<ASN1_INTEGER_free>>;

void freeCerts(STACK_OF(X509)* s) { sk_X509_pop_free(s, X509_free); }
using CertsPtr = std::unique_ptr<STACK_OF(X509), internal::OsslFree<freeCerts>>;

absl::Status tokenError(absl::StatusCode code, std::string_view why) {
  return absl::Status(code, internal::cat("TSA token: ", why));
}

std::string nameText(const X509_NAME* n) {
  internal::BioPtr b(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(b.get(), n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return internal::bioContents(b.get());
}

// Reads every certificate in a PEM text.
absl::StatusOr<CertsPtr> readCerts(std::string_view pem) {
  CertsPtr certs(sk_X509_new_null());
  auto bio = internal::memBio(pem);
  while (true) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) break;
    sk_X509_push(certs.get(), x);
  }
  internal::clearOpensslErrors();  // the loop ends on "no start line"
  return certs;
}

absl::StatusOr<uint64_t> asnToU64(const ASN1_INTEGER* i) {
  uint64_t v = 0;
  if (ASN1_INTEGER_get_uint64(&v, i) != 1) {
    internal::clearOpensslErrors();
    return absl::InvalidArgumentError("integer does not fit in 64 bits");
  }
  return v;
}

absl::StatusOr<TsaTokenInfo> describe(PKCS7* token) {
  TstInfoPtr tst(PKCS7_to_TS_TST_INFO(token));
  if (!tst) return opensslError(absl::StatusCode::kInvalidArgument, "TSA token: no TSTInfo content");
  TsaTokenInfo info;
  const ASN1_GENERALIZEDTIME* gt = TS_TST_INFO_get_time(tst.get());
  struct tm tm {};
  if (gt == nullptr || ASN1_TIME_to_tm(gt, &tm) != 1) {
    return tokenError(absl::StatusCode::kInvalidArgument, "bad genTime");
  }
  info.gen_time_unix = static_cast<int64_t>(timegm(&tm));
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  info.gen_time = buf;
  if (const ASN1_INTEGER* serial = TS_TST_INFO_get_serial(tst.get())) {
    std::unique_ptr<BIGNUM, internal::OsslFree<BN_free>> bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (bn) {
      char* hex = BN_bn2hex(bn.get());
      info.serial_hex = hex;
      OPENSSL_free(hex);
    }
  }
  char oid[128];
  if (OBJ_obj2txt(oid, sizeof(oid), TS_TST_INFO_get_policy_id(tst.get()), 1) > 0) info.policy = oid;
  const X509_ALGOR* alg = TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(tst.get()));
  const ASN1_OBJECT* alg_obj = nullptr;
  X509_ALGOR_get0(&alg_obj, nullptr, nullptr, alg);
  const int nid = OBJ_obj2nid(alg_obj);
  info.imprint_alg = nid == NID_sha256 ? "sha256" : nid == NID_sm3 ? "sm3" : (nid != NID_undef ? OBJ_nid2sn(nid) : "?");
  if (const ASN1_INTEGER* n = TS_TST_INFO_get_nonce(tst.get())) {
    auto v = asnToU64(n);
    if (v.ok()) info.nonce = *v;
  }
  STACK_OF(X509)* signers = PKCS7_get0_signers(token, nullptr, 0);
  if (signers != nullptr && sk_X509_num(signers) == 1) {
    info.signer = nameText(X509_get_subject_name(sk_X509_value(signers, 0)));
  }
  sk_X509_free(signers);
  internal::clearOpensslErrors();  // no certificates in the token is not an error here
  if (GENERAL_NAME* gn = TS_TST_INFO_get_tsa(tst.get())) {
    if (gn->type == GEN_DIRNAME) {
      info.tsa_name = nameText(gn->d.directoryName);
    } else {
      internal::BioPtr b(BIO_new(BIO_s_mem()));
      GENERAL_NAME_print(b.get(), gn);
      info.tsa_name = internal::bioContents(b.get());
    }
  } else {
    info.tsa_name = info.signer;
  }
  return info;
}

absl::StatusOr<Pkcs7Ptr> readToken(std::string_view der) {
  const unsigned char* p = u8(der);
  Pkcs7Ptr token(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!token || p != u8(der) + der.size()) {
    internal::clearOpensslErrors();
    return tokenError(absl::StatusCode::kInvalidArgument, "not a DER TimeStampToken");
  }
  if (!PKCS7_type_is_signed(token.get())) {
    return tokenError(absl::StatusCode::kInvalidArgument, "not a SignedData TimeStampToken");
  }
  return token;
}

// Maps the first TS-library reason in the error queue to a precise message.
absl::Status classifyVerifyFailure(std::string_view x509_reason) {
  std::string all;
  int ts_reason = 0;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    all += all.empty() ? buf : internal::cat("; ", buf);
    if (ts_reason == 0 && ERR_GET_LIB(e) == ERR_LIB_TS) ts_reason = ERR_GET_REASON(e);
  }
  const auto code = absl::StatusCode::kUnauthenticated;
  switch (ts_reason) {
    case TS_R_MESSAGE_IMPRINT_MISMATCH:
      return tokenError(code, "message imprint mismatch: token is over a different body");
    case TS_R_CERTIFICATE_VERIFY_ERROR:
      return tokenError(code, internal::cat("signer does not chain to a trusted TSA root: ", x509_reason));
    case TS_R_SIGNATURE_FAILURE:
      return tokenError(code, "signature does not verify");
    case TS_R_INVALID_SIGNER_CERTIFICATE_PURPOSE:
      return tokenError(code, "signer certificate lacks the critical timeStamping EKU");
    case TS_R_ESS_SIGNING_CERTIFICATE_ERROR:
      return tokenError(code, "ESS signing-certificate attribute does not match the signer");
    case TS_R_NONCE_MISMATCH:
      return tokenError(code, "nonce mismatch");
    default:
      return tokenError(code, internal::cat("verification failed: ", all));
  }
}

}  // namespace

absl::StatusOr<TsaRequest> tsaRequest(std::string_view body, TsaHash hash) {
  const EVP_MD* md = hash == TsaHash::kSm3 ? EVP_sm3() : EVP_sha256();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &dlen, md, nullptr) != 1) {
    return opensslError(absl::StatusCode::kInternal, "hashing the body");
  }
  TsaRequest out;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&out.nonce), sizeof(out.nonce)) != 1) {
    return opensslError(absl::StatusCode::kInternal, "RAND_bytes");
  }
  out.nonce >>= 1;  // keep it positive and within 63 bits for every TSA's INTEGER parser
  TsReqPtr req(TS_REQ_new());
  std::unique_ptr<TS_MSG_IMPRINT, internal::OsslFree<TS_MSG_IMPRINT_free>> imp(TS_MSG_IMPRINT_new());
  std::unique_ptr<X509_ALGOR, internal::OsslFree<X509_ALGOR_free>> alg(X509_ALGOR_new());
  IntPtr nonce(ASN1_INTEGER_new());
  if (!req || !imp || !alg || !nonce ||
      X509_ALGOR_set0(alg.get(), OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, nullptr) != 1 ||
      TS_MSG_IMPRINT_set_algo(imp.get(), alg.get()) != 1 || TS_MSG_IMPRINT_set_msg(imp.get(), digest, static_cast<int>(dlen)) != 1 ||
      TS_REQ_set_version(req.get(), 1) != 1 || TS_REQ_set_msg_imprint(req.get(), imp.get()) != 1 ||
      ASN1_INTEGER_set_uint64(nonce.get(), out.nonce) != 1 || TS_REQ_set_nonce(req.get(), nonce.get()) != 1 ||
      TS_REQ_set_cert_req(req.get(), 1) != 1) {
    return opensslError(absl::StatusCode::kInternal, "building the TimeStampReq");
  }
  unsigned char* der = nullptr;
  int len = i2d_TS_REQ(req.get(), &der);
  if (len <= 0) return opensslError(absl::StatusCode::kInternal, "encoding the TimeStampReq");
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> tsaTokenFromResponse(std::string_view response_der) {
  const unsigned char* p = u8(response_der);
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(response_der.size())));
  if (!resp || p != u8(response_der) + response_der.size()) {
    internal::clearOpensslErrors();
    return absl::InvalidArgumentError("TSA response: not a DER TimeStampResp");
  }
  TS_STATUS_INFO* si = TS_RESP_get_status_info(resp.get());
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
  if (status != 0 && status != 1) {  // granted, grantedWithMods
    std::string text;
    if (const STACK_OF(ASN1_UTF8STRING)* t = TS_STATUS_INFO_get0_text(si)) {
      for (int i = 0; i < sk_ASN1_UTF8STRING_num(t); ++i) {
        const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(t, i);
        text += internal::cat(i ? "; " : "", std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                          static_cast<size_t>(ASN1_STRING_length(s))));
      }
    }
    return absl::FailedPreconditionError(
        internal::cat("TSA response: request not granted (status ", status, text.empty() ? "" : ": ", text, ")"));
  }
  PKCS7* token = TS_RESP_get_token(resp.get());
  if (token == nullptr) return absl::InvalidArgumentError("TSA response: granted but carries no token");
  unsigned char* der = nullptr;
  int len = i2d_PKCS7(token, &der);
  if (len <= 0) return opensslError(absl::StatusCode::kInternal, "encoding the token");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<TsaTokenInfo> inspectTsaToken(std::string_view token_der) {
  auto token = readToken(token_der);
  if (!token.ok()) return token.status();
  return describe(token->get());
}

absl::StatusOr<TsaTokenInfo> verifyTsaToken(std::string_view token_der, std::string_view body,
                                            const TsaVerifyOptions& options) {
  auto token = readToken(token_der);
  if (!token.ok()) return token.status();
  auto info = describe(token->get());
  if (!info.ok()) return info.status();
  if ((info->imprint_alg == "sha256" && !options.allow_sha256) || (info->imprint_alg == "sm3" && !options.allow_sm3) ||
      (info->imprint_alg != "sha256" && info->imprint_alg != "sm3")) {
    return tokenError(absl::StatusCode::kUnauthenticated,
                      internal::cat("imprint algorithm ", info->imprint_alg, " not allowed"));
  }
  auto roots = readCerts(options.trusted_roots_pem);
  if (!roots.ok()) return roots.status();
  if (sk_X509_num(roots->get()) == 0) {
    return absl::InvalidArgumentError("TSA verification needs at least one trusted root certificate");
  }
  StorePtr store(X509_STORE_new());
  if (!store) return absl::ResourceExhaustedError("X509_STORE_new");
  for (int i = 0; i < sk_X509_num(roots->get()); ++i) X509_STORE_add_cert(store.get(), sk_X509_value(roots->get(), i));
  // Long-term validation: judge the chain as of genTime, not now (EVIDENCE.md §2.1).
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), static_cast<time_t>(info->gen_time_unix));

  VerifyCtxPtr ctx(TS_VERIFY_CTX_new());
  if (!ctx) return absl::ResourceExhaustedError("TS_VERIFY_CTX_new");
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_SIGNER | TS_VFY_DATA);
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());  // the ctx owns it from here (3.0 API)
  TS_VERIFY_CTX_set_data(ctx.get(), internal::memBio(body).release());
  // Intermediates: the token's own certificates plus any the caller supplies.
  CertsPtr chain(sk_X509_new_null());
  if (const STACK_OF(X509)* in_token = token->get()->d.sign->cert) {
    for (int i = 0; i < sk_X509_num(in_token); ++i) {
      X509* x = sk_X509_value(in_token, i);
      X509_up_ref(x);
      sk_X509_push(chain.get(), x);
    }
  }
  if (!options.untrusted_certs_pem.empty()) {
    auto extra = readCerts(options.untrusted_certs_pem);
    if (!extra.ok()) return extra.status();
    while (sk_X509_num(extra->get()) > 0) sk_X509_push(chain.get(), sk_X509_shift(extra->get()));
    CertsPtr copy(sk_X509_new_null());
    for (int i = 0; i < sk_X509_num(chain.get()); ++i) {
      X509* x = sk_X509_value(chain.get(), i);
      X509_up_ref(x);
      sk_X509_push(copy.get(), x);
    }
    TS_VERIFY_CTX_set_certs(ctx.get(), copy.release());
  }
  ERR_clear_error();
  if (TS_RESP_verify_token(ctx.get(), token->get()) != 1) {
    // TS reports only "certificate verify error"; re-run the chain check alone so
    // the report can name the X.509 reason.
    std::string x509_reason = "unknown";
    STACK_OF(X509)* signers = PKCS7_get0_signers(token->get(), chain.get(), 0);
    if (signers != nullptr && sk_X509_num(signers) == 1) {
      StorePtr s2(X509_STORE_new());
      for (int i = 0; i < sk_X509_num(roots->get()); ++i) X509_STORE_add_cert(s2.get(), sk_X509_value(roots->get(), i));
      X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(s2.get()), static_cast<time_t>(info->gen_time_unix));
      std::unique_ptr<X509_STORE_CTX, internal::OsslFree<X509_STORE_CTX_free>> sc(X509_STORE_CTX_new());
      if (sc && X509_STORE_CTX_init(sc.get(), s2.get(), sk_X509_value(signers, 0), chain.get()) == 1) {
        X509_STORE_CTX_set_purpose(sc.get(), X509_PURPOSE_TIMESTAMP_SIGN);
        if (X509_verify_cert(sc.get()) != 1) {
          x509_reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc.get()));
        }
      }
    }
    sk_X509_free(signers);
    return classifyVerifyFailure(x509_reason);
  }
  if (options.nonce.has_value() && info->nonce != options.nonce) {
    return tokenError(absl::StatusCode::kUnauthenticated, "nonce mismatch");
  }
  return info;
}

}  // namespace xborder::evidence::crypto
