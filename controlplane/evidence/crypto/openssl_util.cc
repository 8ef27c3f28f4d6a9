#include "controlplane/evidence/crypto/openssl_util.h"

#include <openssl/err.h>

#include "controlplane/evidence/crypto/str_util.h"

namespace xborder::evidence::crypto::internal {

absl::Status opensslError(absl::StatusCode code, std::string_view what) {
  std::string msg(what);
  unsigned long e;
  bool first = true;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&msg, first ? ": " : "; ", buf);
    first = false;
  }
  return absl::Status(code, msg);
}

void clearOpensslErrors() { ERR_clear_error(); }

BioPtr memBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bioContents(BIO* bio) {
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
}

absl::Status initSm2DigestCtx(EVP_MD_CTX* md, EVP_PKEY* key, bool sign, PkeyCtxPtr* pctx_out) {
  PkeyCtxPtr pctx(EVP_PKEY_CTX_new(key, nullptr));
  if (!pctx) return opensslError(absl::StatusCode::kInternal, "SM2: EVP_PKEY_CTX_new");
  // Length 16, not sizeof(literal) == 17: a trailing NUL silently changes the ID.
  if (EVP_PKEY_CTX_set1_id(pctx.get(), kSm2DistId.data(), kSm2DistId.size()) <= 0) {
    return opensslError(absl::StatusCode::kInternal, "SM2: setting the distinguishing ID");
  }
  EVP_MD_CTX_set_pkey_ctx(md, pctx.get());
  int rc = sign ? EVP_DigestSignInit(md, nullptr, EVP_sm3(), nullptr, key)
                : EVP_DigestVerifyInit(md, nullptr, EVP_sm3(), nullptr, key);
  if (rc <= 0) return opensslError(absl::StatusCode::kInternal, "SM2: digest init with SM3");
  *pctx_out = std::move(pctx);
  return absl::OkStatus();
}

}  // namespace xborder::evidence::crypto::internal
