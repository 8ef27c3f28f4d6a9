#pragma once
// Builds a deterministic evidence bundle (EVIDENCE.md §5.1) from a record source and
// the log's published checkpoints. The caller (xborder-evidence export) then logs the
// export itself as an EXPORT record: chain of custody.
//
// Same inputs and created_at give the same bytes (Ed25519 is deterministic; SM2
// signatures are randomized, so the SM2 line differs between runs).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"

namespace xborder::evidence::bundle {

// Read access to the log's stored record bytes (exact leaf inputs).
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  virtual uint64_t size() const = 0;
  virtual absl::StatusOr<std::string> record(uint64_t index) const = 0;
};

struct PublishedCheckpoint {
  uint64_t size = 0;
  std::string note;   // signed note text
  std::string tsr;    // RFC 3161 TimeStampToken DER, empty if none
};

struct ExportRequest {
  std::string origin;
  HashAlg hash = HashAlg::kSha256;
  std::vector<PublishedCheckpoint> checkpoints;  // any order
  std::span<const crypto::NoteSigner> signers;   // sign MANIFEST.sig and custody note
  std::string appliance_chain_pem;  // keys/appliance-chain.pem (optional)
  std::string tsa_chain_pem;        // keys/tsa-chain.pem (optional)
  // Index range [from, to) or time range [since, until) in unix nanos (observed time).
  std::optional<uint64_t> from, to;
  std::optional<int64_t> since_nanos, until_nanos;
  std::optional<std::string> since_checkpoint;  // regulator's last-seen note
  std::vector<uint64_t> cite;                   // extra record indices to prove
  size_t max_auto_cited = 1000;                 // decision/alarm records proved automatically
  std::string created_at;                       // RFC 3339 UTC; part of the name
  std::string prev_bundle_sha256;
  std::string operator_role = "operator";
  std::string purpose = "regulator export";
  // Sealed-snippet envelopes of records [from, to) as bundle paths
  // ("envelopes/<index>-<field>.env") -> bytes; optional.
  std::function<absl::StatusOr<std::map<std::string, std::string>>(uint64_t from, uint64_t to)> envelopes;
};

struct ExportResult {
  std::string bundle;        // the tar bytes
  std::string name;          // EVB-<slug>-<from>-<to>-<time>
  uint64_t from = 0, to = 0;
  std::string manifest_sha256, manifest_sm3;  // raw 32 bytes each
  std::vector<uint64_t> cited;
};

absl::StatusOr<ExportResult> exportBundle(const RecordSource& source, const ExportRequest& req);

}  // namespace xborder::evidence::bundle
