#pragma once
// Strict reading of one stored EvidenceRecord (EVIDENCE.md §7.1 rules). The bytes are
// the Merkle leaf input: they are parsed, never re-encoded.
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/evidence/record/record.pb.h"

namespace xborder::evidence {

inline constexpr uint32_t kRecordFormatVersion = 1;

// What a reader expects of a record at a given leaf position. Unset fields are not checked.
struct RecordExpectation {
  std::optional<uint64_t> index;
  std::optional<std::string_view> origin;
};

// Parses `bytes` and checks format_version == 1, no unknown fields anywhere (a newer
// format: kFailedPrecondition, "unverifiable"), and the expected index and origin
// (kDataLoss on mismatch: the record is not where it claims to be).
absl::StatusOr<v1::EvidenceRecord> parseRecord(std::string_view bytes,
                                               const RecordExpectation& expect = {});

// The same checks without handing back the message: parses into a per-thread arena,
// several times cheaper per record (verifiers and the store's recovery scan use it).
struct RecordSummary {
  v1::RecordType type;
  uint64_t index;
  int64_t observedUnixNanos;
};
absl::StatusOr<RecordSummary> checkRecord(std::string_view bytes, const RecordExpectation& expect = {});

// True if the message or any sub-message carries fields this build does not know.
bool hasUnknownFields(const google::protobuf::Message& message);

}  // namespace xborder::evidence
