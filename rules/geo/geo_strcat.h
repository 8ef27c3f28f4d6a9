#pragma once
// String building for messages. Debian's absl (20220623) is built with its own
// absl::string_view, which does not accept std::string_view, so absl::StrCat is out.

#include <concepts>
#include <string>
#include <string_view>

namespace xborder::rules {

inline void strAppendOne(std::string& s, std::string_view v) { s.append(v); }
inline void strAppendOne(std::string& s, const char* v) { s.append(v); }
inline void strAppendOne(std::string& s, const std::string& v) { s.append(v); }
template <std::integral T>
  requires(!std::same_as<T, char> && !std::same_as<T, bool>)
void strAppendOne(std::string& s, T v) {
  s += std::to_string(v);
}

template <typename... A>
std::string strCat(const A&... a) {
  std::string s;
  (strAppendOne(s, a), ...);
  return s;
}

template <typename C>
std::string strJoin(const C& items, std::string_view sep) {
  std::string s;
  bool first = true;
  for (const auto& i : items) {
    if (!first) s.append(sep);
    first = false;
    s.append(std::string_view(i));
  }
  return s;
}

inline std::string_view stripSpace(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\r')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

}  // namespace xborder::rules
