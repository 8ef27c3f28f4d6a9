#include "controlplane/evidence/verify/verify_adapters.h"

#include <openssl/pem.h>
#include <openssl/x509.h>


#include "absl/strings/str_cat.h"
#include "controlplane/evidence/crypto/timestamp.h"

namespace xborder::evidence::verify {

absl::StatusOr<TimestampInfo> verifyTimestamp(std::string_view token, std::string_view body,
                                              const bundle::v1::TrustFile& trust,
                                              std::string_view untrusted_chain_pem) {
  crypto::TsaVerifyOptions o;
  for (const auto& pem : trust.tsa_roots_pem()) o.trusted_roots_pem += pem;
  if (o.trusted_roots_pem.empty()) return absl::FailedPreconditionError("no TSA root in the trust file");
  o.untrusted_certs_pem = std::string(untrusted_chain_pem);
  auto v = crypto::verifyTsaToken(token, body, o);
  if (!v.ok()) return v.status();
  return TimestampInfo{v->gen_time, v->tsa_name, v->gen_time_unix};
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
