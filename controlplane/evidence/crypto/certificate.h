// X.509 for the appliance's log key: a self-signed certificate, or a CSR for the
// zone's CA, for Ed25519 and SM2 keys. SM2 signatures on certificates and CSRs use
// SM3 with the distinguishing ID 1234567812345678 (GB/T 35276-2017 §10), set
// explicitly on both sides; OpenSSL 3.0 would otherwise use an empty ID.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/keys.h"

namespace xborder::evidence::crypto {

struct CertSubject {
  std::string common_name;     // e.g. the log origin
  std::string organization;    // operator
  std::string org_unit;        // e.g. FTZ or site
  std::string country = "CN";  // ISO 3166-1 alpha-2
  std::string serial_number;   // appliance serial (subject serialNumber attribute)
};

struct CertOptions {
  int64_t not_before_unix = 0;  // 0 = now
  int days = 3650;
  uint64_t serial = 0;  // 0 = random 63-bit
};

// PEM "BEGIN CERTIFICATE". Extensions: basicConstraints critical CA:FALSE,
// keyUsage critical digitalSignature+nonRepudiation, subjectKeyIdentifier.
absl::StatusOr<std::string> makeSelfSignedCert(const PrivateKey& key, const CertSubject& subject,
                                               const CertOptions& options = {});

// PEM "BEGIN CERTIFICATE REQUEST", requesting the same keyUsage.
absl::StatusOr<std::string> makeCsr(const PrivateKey& key, const CertSubject& subject);

// Checks a certificate's signature with `issuer` (its own key when self-signed),
// setting the SM2 ID when the key is SM2. Unauthenticated on a bad signature.
absl::Status verifyCertSignature(std::string_view cert_pem, const PublicKey& issuer);

// Checks a CSR's self-signature (proof of possession), SM2 ID included.
absl::Status verifyCsr(std::string_view csr_pem);

// The certificate's public key.
absl::StatusOr<PublicKey> certPublicKey(std::string_view cert_pem);

struct CertChainInfo {
  std::string subject;     // leaf subject, RFC 2253
  std::string issuer;      // leaf issuer, RFC 2253
  int64_t not_after_unix = 0;
  size_t chain_length = 0;  // certificates in the verified path, root included
};

// Verifies `chain_pem` (leaf first, then any intermediates) against
// `trusted_roots_pem` at `at_unix` (0 = now). Every SM2-signed certificate gets the
// distinguishing ID 1234567812345678 before verification (EVIDENCE.md §3.1 pitfall 5:
// OpenSSL 3.0 otherwise verifies SM2 chains with an empty ID and fails). The leaf
// must carry keyUsage digitalSignature (or nonRepudiation) when it has a keyUsage.
// Errors: InvalidArgument (no certificate / no root), Unauthenticated "<X.509 reason>".
absl::StatusOr<CertChainInfo> verifyCertChain(std::string_view chain_pem, std::string_view trusted_roots_pem,
                                              int64_t at_unix = 0);

// Fingerprints of the DER certificate, lower-case hex, digest "SHA256" or "SM3".
absl::StatusOr<std::string> certFingerprint(std::string_view cert_pem, std::string_view digest);

}  // namespace xborder::evidence::crypto
