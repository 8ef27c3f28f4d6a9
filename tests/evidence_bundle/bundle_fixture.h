#pragma once
// A good bundle built in memory (records, signed checkpoints, export) and helpers to
// unpack, mutate, re-seal (re-sign MANIFEST as an insider holding the log key would)
// and verify it. Every tamper fixture starts from this one bundle.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/evidence/bundle/bundle_export.h"
#include "controlplane/evidence/bundle/bundle_tar.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/record/record.pb.h"
#include "controlplane/evidence/verify/verify_verifier.h"

namespace xborder::evidence::testing {

inline constexpr char kOrigin[] = "evidence.example/appliance-01";

class VectorSource : public bundle::RecordSource {
 public:
  uint64_t size() const override { return records.size(); }
  absl::StatusOr<std::string> record(uint64_t i) const override {
    if (i >= records.size()) return absl::OutOfRangeError("no such record");
    return records[i];
  }
  std::vector<std::string> records;
};

// Record i: a FLOW (every 7th blocked) or, every 11th, an ALARM; rule_id is the last
// field on the wire so a flipped bit there keeps the protobuf valid.
std::string makeRecord(uint64_t index, const std::string& origin = kOrigin, uint32_t version = 1);

struct Bundle {
  std::string top;                              // EVB-... directory
  std::map<std::string, std::string> files;     // relative path -> bytes
};

class Fixture {
 public:
  // Builds a log of `n` records with checkpoints at `sizes`.
  // `seed` (32 bytes) fixes the Ed25519 key, e.g. for the fuzz seed bundle.
  explicit Fixture(uint64_t n = 50, std::vector<uint64_t> sizes = {10, 25, 40, 50},
                   HashAlg alg = HashAlg::kSha256, std::string seed = "");
  // The same log over the given records (record i must carry index i and kOrigin).
  Fixture(std::vector<std::string> records, std::vector<uint64_t> sizes);

  absl::StatusOr<bundle::ExportResult> exportRange(std::optional<uint64_t> from, std::optional<uint64_t> to,
                                                   std::map<uint64_t, std::string> tsr = {});
  std::string signCheckpoint(uint64_t size, std::string root) const;  // full note
  std::string checkpointNote(uint64_t size) const { return notes_.at(size); }
  const std::string& root(uint64_t size) const { return roots_.at(size); }

  static Bundle unpack(const std::string& tar);
  // Rebuilds the tar; with reseal, recomputes MANIFEST.json files[] and re-signs it.
  std::string pack(const Bundle& b, bool reseal) const;

  bundle::v1::TrustFile trust() const;
  verify::v1::Result verify(const std::string& tar, std::optional<std::string> since = {},
                            std::optional<bundle::v1::TrustFile> trust = {}) const;

  VectorSource source;
  std::vector<crypto::NoteSigner> signers;
  HashAlg alg;

 private:
  std::map<uint64_t, std::string> notes_;
  std::map<uint64_t, std::string> roots_;
  void init(const std::vector<uint64_t>& sizes, std::string seed);
};

// A frames file rebuilt from payloads (CRC recomputed).
std::string reframe(const std::vector<std::string>& payloads);
std::vector<std::string> payloadsOf(const std::string& frames);

// The fixed Ed25519 seed of the fuzz target's trust file and seed bundle.
inline constexpr char kFuzzKeySeed[] = "xborder-evidence-fuzz-seed-key!!";  // 32 bytes

// True if some check with `status` has a location or detail containing `where`.
bool hasFinding(const verify::v1::Result& r, verify::v1::Status status, const std::string& where);

}  // namespace xborder::evidence::testing
