// Canonical encodings used by notes, checkpoints and vkeys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xborder::evidence::crypto {

// Standard base64 (RFC 4648 §4) with padding.
std::string base64Encode(std::string_view bytes);

// Decodes only the canonical form: standard alphabet, correct padding, zero pad
// bits, no whitespace. Anything else is nullopt (two texts must never decode to
// the same signature or root).
std::optional<std::string> base64DecodeStrict(std::string_view text);

// Lower-case hex, and its strict inverse (even length, [0-9a-fA-F] only).
std::string hexEncode(std::string_view bytes);
std::optional<std::string> hexDecode(std::string_view text);

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or code points
// above U+10FFFF).
bool isValidUtf8(std::string_view text);

}  // namespace xborder::evidence::crypto
