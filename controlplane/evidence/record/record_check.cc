#include "controlplane/evidence/record/record_check.h"

#include <string>

#include <google/protobuf/arena.h>

#include "absl/strings/str_cat.h"

namespace xborder::evidence {

bool hasUnknownFields(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* refl = message.GetReflection();
  if (!refl->GetUnknownFields(message).empty()) {
    return true;
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < refl->FieldSize(message, field); ++i) {
        if (hasUnknownFields(refl->GetRepeatedMessage(message, field, i))) {
          return true;
        }
      }
    } else if (hasUnknownFields(refl->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

namespace {

absl::Status checkParsed(const v1::EvidenceRecord& record, const RecordExpectation& expect) {
  if (record.format_version() != kRecordFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "unverifiable: record format_version ", record.format_version(), " (this build reads 1)"));
  }
  // Records are flat: the top level and the one body message. Checking those two
  // directly is several times cheaper than walking every field by reflection.
  const google::protobuf::Reflection* refl = record.GetReflection();
  bool unknown = !refl->GetUnknownFields(record).empty();
  if (!unknown && record.body_case() != v1::EvidenceRecord::BODY_NOT_SET) {
    const auto* body = refl->GetOneofFieldDescriptor(record, record.GetDescriptor()->oneof_decl(0));
    if (body != nullptr) {
      // Body messages are flat (store_test checks that), so their own set is enough.
      const google::protobuf::Message& b = refl->GetMessage(record, body);
      unknown = !b.GetReflection()->GetUnknownFields(b).empty();
    }
  }
  if (unknown) {
    return absl::FailedPreconditionError("unverifiable: record carries unknown fields (newer format)");
  }
  if (expect.index && record.index() != *expect.index) {
    return absl::DataLossError(
        absl::StrCat("record index ", record.index(), " at leaf position ", *expect.index));
  }
  if (expect.origin && record.origin() != *expect.origin) {
    return absl::DataLossError(absl::StrCat("record origin '", record.origin(),
                                            "' differs from log origin '", std::string(*expect.origin), "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::EvidenceRecord> parseRecord(std::string_view bytes,
                                               const RecordExpectation& expect) {
  v1::EvidenceRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("record is not a valid EvidenceRecord protobuf");
  }
  if (auto s = checkParsed(record, expect); !s.ok()) return s;
  return record;
}

absl::StatusOr<RecordSummary> checkRecord(std::string_view bytes, const RecordExpectation& expect) {
  thread_local google::protobuf::Arena arena;
  thread_local size_t uses = 0;
  // Reset now and then rather than per record: cheap, and memory stays bounded.
  if (++uses % 256 == 0) arena.Reset();
  auto* record = google::protobuf::Arena::CreateMessage<v1::EvidenceRecord>(&arena);
  if (!record->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("record is not a valid EvidenceRecord protobuf");
  }
  if (auto s = checkParsed(*record, expect); !s.ok()) return s;
  return RecordSummary{record->type(), record->index(), record->observed_unix_nanos()};
}

}  // namespace xborder::evidence
