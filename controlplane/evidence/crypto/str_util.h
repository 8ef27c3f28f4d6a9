// Debian's absl 20220623 is built with its own absl::string_view (not an alias of
// std::string_view), so absl::StrCat cannot take a std::string_view. cat() adapts
// std::string_view arguments and forwards everything else. Internal.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace xborder::evidence::crypto::internal {

template <typename T>
decltype(auto) toAbsl(const T& v) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return absl::string_view(v.data(), v.size());
  } else {
    return (v);
  }
}

inline std::string_view toStd(absl::string_view v) { return std::string_view(v.data(), v.size()); }

template <typename... A>
std::string cat(const A&... a) {
  return absl::StrCat(toAbsl(a)...);
}

}  // namespace xborder::evidence::crypto::internal
