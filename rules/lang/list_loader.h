#pragma once
// Loads a negative list from YAML and checks everything at once: structure (unknown
// keys, wrong types), references (detectors, dictionaries, entries, destinations,
// tenants), CIDRs, threshold bands, filing validity and entries that can never match.
// Every problem becomes one Diagnostic; a list is usable only with none.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/lang/list_ast.h"

namespace xborder::rules::lang {

struct LoadOptions {
  // Operator-supplied prefix-to-country CSV; replaces the list's own geo_table.
  std::string geoOverride;
  // A filing that expired before this date is an error. Default: the list's
  // effective_date (a filing that is dead before the list starts can never apply).
  std::optional<Date> asOf;
};

struct LoadResult {
  std::optional<NegativeList> list;  // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return diagnostics.empty(); }
  std::string formatAll() const;  // one "file:line:col: message" line per problem
};

LoadResult loadListFile(const std::string& path, const LoadOptions& options = {});
// `fileName` is what diagnostics print; relative geo_table paths resolve against baseDir.
LoadResult loadListText(std::string_view yaml, std::string_view fileName,
                        const LoadOptions& options = {}, std::string_view baseDir = ".");

std::optional<Date> parseDate(std::string_view text);
// "Asia/Shanghai", "UTC", "+08:00", "-05:30" -> minutes east of UTC.
std::optional<int> parseTimezone(std::string_view text);

// Internal: semantic checks run by the loader after parsing (list_validate.cc).
void validateList(NegativeList& list, const LoadOptions& options, std::vector<Diagnostic>* out);

}  // namespace xborder::rules::lang
