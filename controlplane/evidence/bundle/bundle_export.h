#pragma once
// Builds a deterministic evidence bundle (EVIDENCE.md §5.1) from a record source and
// the log's published checkpoints. The caller (xborder-evidence export) then logs the
// export itself as an EXPORT record: chain of custody.
//
// Same inputs and created_at give the same bytes (Ed25519 is deterministic; SM2
// signatures are randomized, so the SM2 line differs between runs).
//
// Streaming (exportBundleTo): the tar is sorted by path, so MANIFEST.json (which holds
// the SHA-256 and SM3 of records/<from>-<to>.frames) comes before the frames file.
// The exporter therefore reads the frames twice, in chunks: pass 1 digests them (and
// picks the records to cite), the small files and the manifest are built, and pass 2
// streams the frames into the tar, re-hashing them with SHA-256 and failing if they
// changed between the passes. Two passes over the store, rather than a temporary copy
// of the frames, because the second read mostly comes from the page cache while a
// temporary file would write every byte twice.
//
// Memory: a few chunks of frames (ExportRequest::chunk_bytes, 4 MiB, or one record if a
// record is larger: the one being read and the one pass 1's SM3 thread is hashing), the
// small files (checkpoints, proofs of cited records, envelopes, keys) and the manifest;
// nothing per exported record. The Merkle tree and proofs come from the source's own
// tree (LogRecordSource: the store's); only a source without one makes the exporter
// hash [0, to) itself, at 64 bytes per leaf.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/evidence/bundle/bundle_tar_writer.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/merkle/merkle_hasher.h"
#include "controlplane/evidence/merkle/merkle_tree.h"

namespace xborder::evidence {
class Log;
}

namespace xborder::evidence::bundle {

// Roots and proofs over a source's leaves.
class TreeView {
 public:
  virtual ~TreeView() = default;
  virtual absl::StatusOr<Hash> root(uint64_t size) const = 0;
  virtual absl::StatusOr<std::vector<Hash>> inclusionProof(uint64_t index, uint64_t size) const = 0;
  virtual absl::StatusOr<std::vector<Hash>> consistencyProof(uint64_t size1, uint64_t size2) const = 0;
  virtual absl::StatusOr<CompactRange> compactRange(uint64_t size) const = 0;
};

// Read access to the log's stored record bytes (exact leaf inputs).
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  virtual uint64_t size() const = 0;
  virtual absl::StatusOr<std::string> record(uint64_t index) const = 0;
  // The exact frames of [from, to) (what records/<from>-<to>.frames holds). The default
  // frames record() one by one; a store returns its segment bytes.
  virtual absl::StatusOr<std::string> frames(uint64_t from, uint64_t to) const;
  // The source's own tree over its size() leaves, or nullptr (the exporter then
  // hashes every record of [0, to) itself).
  virtual const TreeView* tree() const { return nullptr; }
};

// The store as a source: frames straight from the segments, proofs from the store's
// tree (built and checked by recovery when the log was opened).
class LogRecordSource : public RecordSource, private TreeView {
 public:
  explicit LogRecordSource(const Log& log) : log_(log) {}
  uint64_t size() const override;
  absl::StatusOr<std::string> record(uint64_t index) const override;
  absl::StatusOr<std::string> frames(uint64_t from, uint64_t to) const override;
  const TreeView* tree() const override { return this; }

 private:
  absl::StatusOr<Hash> root(uint64_t size) const override;
  absl::StatusOr<std::vector<Hash>> inclusionProof(uint64_t index, uint64_t size) const override;
  absl::StatusOr<std::vector<Hash>> consistencyProof(uint64_t size1, uint64_t size2) const override;
  absl::StatusOr<CompactRange> compactRange(uint64_t size) const override;

  const Log& log_;
};

struct PublishedCheckpoint {
  uint64_t size = 0;
  std::string note;   // signed note text
  std::string tsr;    // RFC 3161 TimeStampToken DER, empty if none
};

struct ExportProgress {
  std::string_view phase;  // "scan" (time range), "hash" (pass 1), "write" (pass 2)
  uint64_t done = 0, total = 0;  // records of this phase
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
  // Streaming only. Frames are read about this many bytes at a time.
  size_t chunk_bytes = size_t{4} << 20;
  // Called after every chunk; a non-OK status stops the export with that status.
  std::function<absl::Status(const ExportProgress&)> progress;
};

struct ExportResult {
  std::string bundle;        // the tar bytes (exportBundle only; empty when streamed)
  std::string name;          // EVB-<slug>-<from>-<to>-<time>
  uint64_t from = 0, to = 0;
  std::string manifest_sha256, manifest_sm3;  // raw 32 bytes each
  std::vector<uint64_t> cited;
  uint64_t bundle_bytes = 0;
  std::string bundle_sha256;  // raw 32 bytes, of the whole tar
};

// Streams the bundle into `sink` (an AtomicFileSink for the CLI: commit it after an
// OK result). On error the sink holds a partial archive.
absl::StatusOr<ExportResult> exportBundleTo(const RecordSource& source, const ExportRequest& req, ByteSink& sink);

// The same bundle in memory (ExportResult::bundle): tests and small logs.
absl::StatusOr<ExportResult> exportBundle(const RecordSource& source, const ExportRequest& req);

// The exporter before streaming: every file built in memory (the frames as one
// string), the tree rebuilt from record() and the tar made by writeTar. Kept as the
// reference the streaming exporter must match byte for byte (bundle_export_stream_test)
// and as the "old path" column of ev_bundle_bench. Memory: about twice the bundle.
absl::StatusOr<ExportResult> exportBundleBuffered(const RecordSource& source, const ExportRequest& req);

}  // namespace xborder::evidence::bundle
