#include "controlplane/evidence/record/record_check.h"

#include <string>

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

absl::StatusOr<v1::EvidenceRecord> parseRecord(std::string_view bytes,
                                               const RecordExpectation& expect) {
  v1::EvidenceRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("record is not a valid EvidenceRecord protobuf");
  }
  if (record.format_version() != kRecordFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "unverifiable: record format_version ", record.format_version(), " (this build reads 1)"));
  }
  if (hasUnknownFields(record)) {
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
  return record;
}

}  // namespace xborder::evidence
