#include "controlplane/evidence/verify/verify_adapters.h"

#include <openssl/pem.h>
#include <openssl/x509.h>


#include "absl/strings/str_cat.h"
#if __has_include("controlplane/evidence/crypto/tsa.h")
#include "controlplane/evidence/crypto/tsa.h"
#define XB_HAVE_TSA 1
#endif

namespace xborder::evidence::verify {

absl::StatusOr<TimestampInfo> verifyTimestamp(std::string_view token, std::string_view body,
                                              const Hasher& hasher, const bundle::v1::TrustFile& trust) {
  std::vector<std::string> roots(trust.tsa_roots_pem().begin(), trust.tsa_roots_pem().end());
  if (roots.empty()) return absl::FailedPreconditionError("no TSA root in the trust file");
#ifdef XB_HAVE_TSA
  auto v = crypto::verifyTsaToken(token, body, roots);
  if (!v.ok()) return v.status();
  return TimestampInfo{v->gen_time_rfc3339, v->tsa_subject};
#else
  return absl::UnimplementedError("RFC 3161 verification not built");
#endif
}

std::string certificateSubject(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return "";
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return "";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  X509_free(cert);
  return buf;
}

}  // namespace xborder::evidence::verify
