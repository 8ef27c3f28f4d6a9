#include "rules/geo/geo_country_table.h"

#include "rules/geo/geo_strcat.h"

namespace xborder::rules::geo {

bool isCountryCode(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

std::vector<CountryPrefix> parseCountryCsvAll(std::string_view text, std::vector<CsvProblem>* problems) {
  std::vector<CountryPrefix> out;
  int lineNo = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    ++lineNo;
    std::string_view l = line;
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r')) l.remove_suffix(1);
    std::string_view trimmed = stripSpace(l);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    int col0 = static_cast<int>(l.size() - trimmed.size()) + 1;
    size_t comma = trimmed.find(',');
    if (comma == std::string_view::npos) {
      problems->push_back({lineNo, col0, "expected \"prefix,country\""});
      continue;
    }
    std::string_view pfx = stripSpace(trimmed.substr(0, comma));
    std::string_view cc = stripSpace(trimmed.substr(comma + 1));
    std::string why;
    auto cidr = parseCidr(pfx, &why);
    if (!cidr) {
      problems->push_back({lineNo, col0, strCat("bad prefix \"", pfx, "\": ", why)});
      continue;
    }
    if (!isCountryCode(cc)) {
      problems->push_back({lineNo, col0 + static_cast<int>(comma) + 1,
                           strCat("\"", cc, "\" is not an ISO 3166-1 alpha-2 code")});
      continue;
    }
    out.push_back({*cidr, std::string(cc), lineNo});
  }
  return out;
}

absl::StatusOr<std::vector<CountryPrefix>> parseCountryCsv(std::string_view text, std::string_view name) {
  std::vector<CsvProblem> problems;
  auto out = parseCountryCsvAll(text, &problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        strCat(name, ":", problems[0].line, ":", problems[0].col, ": ", problems[0].message));
  }
  return out;
}

}  // namespace xborder::rules::geo
