#pragma once
// The offline bundle verifier (EVIDENCE.md §5.2). Runs the checks in order and fails
// closed: once the archive or the manifest fails, later steps are reported as not run
// (UNVERIFIABLE) because nothing inside an unauthenticated bundle can be trusted.
// Trust anchors come only from the regulator's trust file and --since checkpoint.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/bundle/bundle.pb.h"
#include "controlplane/evidence/crypto/keys.h"
#include "controlplane/evidence/verify/verify_result.pb.h"

namespace xborder::evidence::verify {

struct VerifyOptions {
  bundle::v1::TrustFile trust;
  // The regulator's last-seen signed checkpoint note for this origin (anti-rollback).
  std::optional<std::string> since_checkpoint;
  // Unix seconds; tokens are validated at their genTime, this only bounds "future" times.
  int64_t now_unix = 0;
  // Cores for the record pass (step 5): 0 = all the machine has, 1 = in order on this
  // thread. The result is the same either way.
  unsigned threads = 0;
  // The regulator's private key (X25519 or SM2): step 8 opens every envelope with it.
  // Without it step 8 still checks the envelope files against the records' digests.
  std::optional<crypto::PrivateKey> regulator_key;
};

// Exit codes of xborder-verify.
inline constexpr int kExitVerified = 0;
inline constexpr int kExitTampered = 1;
inline constexpr int kExitUnverifiable = 2;
inline constexpr int kExitUsage = 3;

// Verifies a bundle (the tar bytes). Returns an error only for problems with the
// verifier's own inputs (unusable trust file or --since checkpoint): exit 3.
// Everything wrong with the bundle is a row in the result.
absl::StatusOr<v1::Result> verifyBundle(std::string_view archive, const VerifyOptions& options);

// Overall exit code from the rows: any FAIL -> 1, else any UNVERIFIABLE -> 2, else 0.
int exitCodeFor(const v1::Result& r);

// One line per non-passing check, "FAIL step 5 records.index record 17: ...".
std::string summaryText(const v1::Result& r);
std::string resultJson(const v1::Result& r);

}  // namespace xborder::evidence::verify
