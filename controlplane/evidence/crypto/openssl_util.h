// Internal helpers shared by the crypto sources: RAII owners for OpenSSL objects
// and conversion of OpenSSL's error queue into absl::Status. Not part of the API.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace xborder::evidence::crypto::internal {

template <auto kFree>
struct OsslFree {
  template <typename T>
  void operator()(T* p) const { kFree(p); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslFree<EVP_MD_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslFree<EVP_CIPHER_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OsslFree<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OsslFree<X509_free>>;

// Builds a status from `what` plus every entry of OpenSSL's thread-local error
// queue (which it clears), so a failure names both our step and OpenSSL's reason.
absl::Status opensslError(absl::StatusCode code, std::string_view what);

// Drains the error queue without reporting (after an expected failure).
void clearOpensslErrors();

// A read-only memory BIO over `data` (which must outlive the BIO).
BioPtr memBio(std::string_view data);

// Everything written to a memory BIO so far.
std::string bioContents(BIO* bio);

inline const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// SM2 signatures in notes and certificates always carry the GB/T 35276-2017 §10
// default distinguishing ID, set explicitly (OpenSSL 3.0 defaults to an empty ID).
inline constexpr std::string_view kSm2DistId = "1234567812345678";

// Sets up `md` for SM2-with-SM3 signing or verification (recipe A of EVIDENCE.md §3.1:
// EVP_PKEY_CTX_set1_id + EVP_MD_CTX_set_pkey_ctx; passing distid to *_Init_ex fails
// silently on 3.0). The returned pkey ctx must outlive `md`.
absl::Status initSm2DigestCtx(EVP_MD_CTX* md, EVP_PKEY* key, bool sign, PkeyCtxPtr* pctx_out);

}  // namespace xborder::evidence::crypto::internal
