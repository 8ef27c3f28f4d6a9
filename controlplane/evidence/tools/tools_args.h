#pragma once
// Minimal "--flag value" / "--switch" parsing for the evidence tools: unknown flags
// and missing values are usage errors, never ignored.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace xborder::evidence::tools {

struct Args {
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
  std::vector<std::string> positional;

  std::optional<std::string> get(const std::string& flag) const {
    auto it = values.find(flag);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  bool has(const std::string& flag) const { return switches.count(flag) || values.count(flag); }
};

// `with_value` lists flags that take a value; `switches` those that do not.
inline absl::StatusOr<Args> parseArgs(int argc, char** argv, int first, const std::set<std::string>& with_value,
                                      const std::set<std::string>& switches) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.size() > 2 && s.starts_with("--")) {
      std::string v;
      bool inline_value = false;
      if (auto eq = s.find('='); eq != std::string::npos) {
        v = s.substr(eq + 1);
        s = s.substr(0, eq);
        inline_value = true;
      }
      if (switches.count(s) && !inline_value) {
        a.switches.insert(s);
      } else if (with_value.count(s)) {
        if (!inline_value) {
          if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(s, " needs a value"));
          v = argv[++i];
        }
        if (a.values.count(s)) return absl::InvalidArgumentError(absl::StrCat(s, " given twice"));
        a.values[s] = v;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown option ", s));
      }
    } else if (s == "-h") {
      a.switches.insert("--help");
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

}  // namespace xborder::evidence::tools
