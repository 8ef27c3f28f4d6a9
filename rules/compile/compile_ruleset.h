#pragma once
// Compiles a validated negative list into the ruleset artifact (rules/proto/ruleset.proto).
// Deterministic: everything is sorted by id/name/address, and serialization uses
// protobuf's deterministic mode, so the same list always yields the same bytes and the
// same SHA-256 (the version hash evidence records cite).

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "rules/lang/list_ast.h"
#include "rules/proto/ruleset.pb.h"

namespace xborder::rules::compile {

// Limits the evaluator relies on (it keeps detector sets in 64-bit masks).
inline constexpr size_t kMaxDetectors = 64;

struct CompileOptions {
  // Build the detectors' Hyperscan database and embed its bytes (hyperscan_db), so the
  // dataplane loads it instead of compiling. Off only in tests that need no scanner.
  bool embedHyperscan = true;
};

absl::StatusOr<pb::Ruleset> compileList(const lang::NegativeList& list, const CompileOptions& options = {});
std::string serializeDeterministic(const pb::Ruleset& ruleset);
std::string sha256Hex(std::string_view bytes);

}  // namespace xborder::rules::compile
