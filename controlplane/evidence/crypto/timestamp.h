// RFC 3161 trusted time stamps over checkpoint bodies (EVIDENCE.md §2.1, §7.6):
// build a TimeStampReq, extract the token from a TimeStampResp, and verify a token
// against the body and the regulator's trusted TSA roots, offline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace xborder::evidence::crypto {

// Message-imprint hash: SHA-256 by default, SM3 in the GM profile.
enum class TsaHash { kSha256, kSm3 };

struct TsaRequest {
  std::string der;     // DER TimeStampReq: version 1, imprint, nonce, certReq=true
  uint64_t nonce = 0;  // random 63-bit nonce carried in the request
};

// A request over `body` (the exact signed checkpoint text).
absl::StatusOr<TsaRequest> tsaRequest(std::string_view body, TsaHash hash = TsaHash::kSha256);

// Extracts the DER TimeStampToken (the PKCS#7 SignedData that is archived and
// logged as an ANCHOR record) from a DER TimeStampResp. FailedPrecondition when
// the TSA did not grant the request (with its status text), InvalidArgument when
// the response does not parse.
absl::StatusOr<std::string> tsaTokenFromResponse(std::string_view response_der);

struct TsaVerifyOptions {
  std::string trusted_roots_pem;    // the regulator's TSA roots; never from the bundle
  std::string untrusted_certs_pem;  // optional intermediates (e.g. keys/tsa-chain.pem)
  std::optional<uint64_t> nonce;    // when set, the token must carry this nonce
  // Imprint algorithms accepted; SHA-256 and SM3 by default (never SHA-1/MD5).
  bool allow_sha256 = true;
  bool allow_sm3 = true;
};

struct TsaTokenInfo {
  int64_t gen_time_unix = 0;
  std::string gen_time;     // RFC 3339 UTC, e.g. "2026-11-23T01:40:00Z"
  std::string tsa_name;     // the TSTInfo tsa field if present, else the signer's subject
  std::string signer;       // signer certificate subject (RFC 2253)
  std::string serial_hex;   // TSTInfo serialNumber
  std::string policy;       // policy OID, dotted
  std::string imprint_alg;  // "sha256" or "sm3"
  std::optional<uint64_t> nonce;
};

// Verifies a DER TimeStampToken over `body`: signature, ESS signing-certificate
// binding, signer chain to `trusted_roots_pem` with the critical timeStamping EKU
// (checked at genTime, so tokens stay valid after the TSA certificate expires),
// and that the message imprint is the hash of `body`. Errors (precise, first
// problem found):
//   InvalidArgument  "TSA token: not a DER TimeStampToken" / bad options
//   Unauthenticated  "TSA token: message imprint mismatch: token is over a different body"
//                    "TSA token: signer does not chain to a trusted TSA root: <reason>"
//                    "TSA token: signature does not verify"
//                    "TSA token: signer certificate lacks the critical timeStamping EKU"
//                    "TSA token: nonce mismatch"
//                    "TSA token: imprint algorithm <alg> not allowed"
absl::StatusOr<TsaTokenInfo> verifyTsaToken(std::string_view token_der, std::string_view body,
                                            const TsaVerifyOptions& options);
inline absl::StatusOr<TsaTokenInfo> verifyTsaToken(std::string_view token_der, std::string_view body,
                                                   std::string_view trusted_roots_pem) {
  TsaVerifyOptions o;
  o.trusted_roots_pem = std::string(trusted_roots_pem);
  return verifyTsaToken(token_der, body, o);
}

// Parses a token without verifying it (for reports and tools).
absl::StatusOr<TsaTokenInfo> inspectTsaToken(std::string_view token_der);

}  // namespace xborder::evidence::crypto
