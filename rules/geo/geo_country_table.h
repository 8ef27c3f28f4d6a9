#pragma once
// Prefix-to-country table from a CSV ("prefix,country" per line, '#' comments), the
// format of shared/spec/geo-sample.csv. Country codes are ISO 3166-1 alpha-2.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/geo/geo_ip.h"

namespace xborder::rules::geo {

struct CountryPrefix {
  Cidr cidr;
  std::string country;
  int line = 0;  // 1-based line in the CSV, for diagnostics
};

// Parses CSV text; on error the status message is "name:line:col: reason" for the
// first bad line (the loader reports every line through parseCountryCsvAll).
absl::StatusOr<std::vector<CountryPrefix>> parseCountryCsv(std::string_view text,
                                                           std::string_view name);
struct CsvProblem {
  int line;
  int col;
  std::string message;
};
std::vector<CountryPrefix> parseCountryCsvAll(std::string_view text, std::vector<CsvProblem>* problems);

bool isCountryCode(std::string_view s);

}  // namespace xborder::rules::geo
