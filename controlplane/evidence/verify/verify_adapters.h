#pragma once
// Narrow seams between the verifier and OpenSSL-backed checks (RFC 3161 from crypto,
// X.509 subject names).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/bundle/bundle.pb.h"

namespace xborder::evidence::verify {

struct TimestampInfo {
  std::string gen_time;  // RFC 3339 UTC
  std::string tsa_name;  // TSTInfo tsa name or signer subject
  int64_t gen_time_unix = 0;
};
// Verifies an RFC 3161 token over `body` against the trust file's TSA roots (the
// bundle's keys/tsa-chain.pem may supply intermediates only), with the chain checked
// at genTime (long-term validation).
absl::StatusOr<TimestampInfo> verifyTimestamp(std::string_view token, std::string_view body,
                                              const bundle::v1::TrustFile& trust,
                                              std::string_view untrusted_chain_pem);

// Subject of the first certificate in a PEM chain ("" if none parses).
std::string certificateSubject(std::string_view pem);

}  // namespace xborder::evidence::verify
