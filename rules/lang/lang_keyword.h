#pragma once
// How dictionary keywords are matched (the rule docs/negative-list.md states):
// ASCII letters fold case, other characters match exactly; a keyword that starts and
// ends with an ASCII word character matches only on word boundaries; every keyword is
// matched both as UTF-8 and as GBK.

#include <optional>
#include <string>
#include <string_view>

namespace xborder::rules::lang {

bool isValidUtf8(std::string_view s);
// Offset of the first byte that is not part of valid UTF-8, or npos.
size_t firstInvalidUtf8(std::string_view s);
bool isAscii(std::string_view s);
// UTF-8 -> GBK through glibc iconv; nullopt when a character has no GBK form.
std::optional<std::string> utf8ToGbk(std::string_view utf8);
bool needsWordBoundary(std::string_view keyword);

}  // namespace xborder::rules::lang
