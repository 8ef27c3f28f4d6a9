#pragma once
// The records the kill -9 writer appends, rebuilt byte for byte by the harness.
#include <cstdint>
#include <string>

#include "controlplane/evidence/record/record.pb.h"

namespace xborder::evidence::testing {

inline constexpr char kCrashOrigin[] = "evidence.test/kill9";

// What Log::appendRecord stores for makeCrashRecord(id, pad) at `index`.
inline v1::EvidenceRecord makeCrashRecord(uint64_t id, size_t pad) {
  v1::EvidenceRecord r;
  r.set_type(v1::SYSTEM);
  r.set_observed_unix_nanos(static_cast<int64_t>(id));
  r.mutable_system()->set_kind("kill9");
  r.mutable_system()->set_detail(std::string(pad, static_cast<char>('a' + id % 26)));
  return r;
}

inline std::string storedCrashRecord(uint64_t index, uint64_t id, size_t pad) {
  v1::EvidenceRecord r = makeCrashRecord(id, pad);
  r.set_format_version(1);
  r.set_origin(kCrashOrigin);
  r.set_index(index);
  return r.SerializeAsString();
}

}  // namespace xborder::evidence::testing
