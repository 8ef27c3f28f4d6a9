#pragma once
// Record frames as they travel in a bundle: u32le len | u32le crc32c(len_le || payload) |
// payload | zero pad to 8 bytes (EVIDENCE.md §4.2, the store's segment framing without
// the segment header).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace xborder::evidence::bundle {

inline constexpr uint32_t kMaxFramePayload = 1u << 20;

void appendFrame(std::string& out, std::string_view payload);

// Splits a frames file into payload views. Errors name the record position and byte
// offset and say whether it is transport damage (CRC) or structure (length, padding).
absl::StatusOr<std::vector<std::string_view>> parseFrameFile(std::string_view file);

// CRC32C (Castagnoli). SSE4.2 when the CPU has it, else a table.
uint32_t frameCrc32c(uint32_t crc, std::string_view data);

}  // namespace xborder::evidence::bundle
