#pragma once
// A fast, allocation-free reading of one stored EvidenceRecord for the verifier's
// record pass. It walks the protobuf wire format against tables built from the
// generated descriptors (record.proto stays the single source of truth) and pulls out
// the few fields the pass needs, as views into the record bytes.
//
// It never rejects a record on its own. It accepts only records that protobuf would
// parse with the same values and that parseRecord would accept for the expected index
// and origin: format_version 1, only known fields with their declared wire types, each
// singular field and the oneof body at most once, strict UTF-8 in string fields. For
// anything else it answers "not sure" and the caller runs parseRecord, whose verdict
// and message stand. So the fast path can only make verification faster, never change
// its findings (verify_record_scan_test checks this against parseRecord on mutations).
#include <cstdint>
#include <string_view>

#include "controlplane/evidence/record/record.pb.h"

namespace xborder::evidence::verify {

// What the record pass reads from a record.
struct RecordFacts {
  uint64_t index = 0;
  int64_t observed_unix_nanos = 0;
  int32_t type = 0;   // v1::RecordType value (proto3 enums are open)
  uint32_t body = 0;  // field number of the oneof body that is set, 0 = none
  bool sealed = false;  // a FLOW body with at least one sealed_digests entry
  bool final = false;   // a FLOW body with final set: the flow's last record
  std::string_view origin, tenant;
  std::string_view dst_country, data_category, policy_decision, flow_id;  // FLOW bodies only
};

// True, with `out` filled, if the bytes are certainly a valid format-1 record with
// only known fields, index == expect_index and origin == expect_origin. False means
// "not sure": call parseRecord.
bool scanRecordFast(std::string_view bytes, uint64_t expect_index, std::string_view expect_origin,
                    RecordFacts* out);

// The same facts from a parsed record (views into `r`).
RecordFacts factsOf(const evidence::v1::EvidenceRecord& r);

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);

}  // namespace xborder::evidence::verify
