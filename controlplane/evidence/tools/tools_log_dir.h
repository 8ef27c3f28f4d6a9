#pragma once
// What xborder-evidence keeps in a log directory beside the store's own files
// (controlplane/evidence/store/store_log.h):
//
//   keys/log-ed25519.pem     Ed25519 note key (0600)
//   keys/log-sm2.pem         SM2 note key when --sign ed25519+sm2 (0600)
//   keys/appliance.crt.pem   self-signed certificate of the Ed25519 key
//   keys/appliance.csr.pem   CSR for the zone's CA (replace the .crt with the CA's)
//   keys/tsa-chain.pem       the TSA's certificate chain, if the operator installs it
//   anchors/<size>.tsr       RFC 3161 token over checkpoint <size>
//   exports/last.sha256      hex SHA-256 of the last exported bundle (prev_bundle_sha256)

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/store/store_log.h"

namespace xborder::evidence::tools {

struct LogKeys {
  std::vector<crypto::NoteSigner> signers;  // Ed25519 first, then SM2
  std::vector<crypto::NoteVerifier> verifiers;
};

absl::StatusOr<LogKeys> loadKeys(const std::string& dir, const std::string& origin);

// Opens an existing log with its keys wired in as checkpoint signer and verifier.
absl::StatusOr<std::unique_ptr<Log>> openLog(const std::string& dir, LogKeys& keys);

absl::StatusOr<std::string> readFile(const std::string& path);
// tmp + fsync + rename + fsync(dir).
absl::Status writeFileAtomic(const std::string& path, std::string_view data, int mode = 0644);
bool fileExists(const std::string& path);

}  // namespace xborder::evidence::tools
