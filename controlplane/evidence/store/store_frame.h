#pragma once
// Record frames (EVIDENCE.md §4.2): u32le payload_len | u32le crc32c(len_le || payload)
// | payload | zero padding to 8 bytes. A zero length ends the data (preallocated
// space). The CRC covers the length, so a torn length field is caught; 8-byte
// alignment keeps the length field inside one sector. Exported bundles carry the
// exact frames, so the same reader serves the store and the offline verifier.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace xborder::evidence {

inline constexpr size_t kFrameHeaderSize = 8;
inline constexpr size_t kFrameAlign = 8;
inline constexpr uint32_t kMaxFramePayload = 1u << 20;  // 1 MiB

inline constexpr size_t frameSize(size_t payloadSize) {
  return kFrameHeaderSize + ((payloadSize + kFrameAlign - 1) & ~(kFrameAlign - 1));
}

// Appends one frame (payload must be 1..kMaxFramePayload bytes; the caller checks).
void appendFrame(std::string& out, std::string_view payload);

enum class FrameStop {
  kEof,         // the bytes ended exactly after a frame
  kEndMarker,   // a zero length field: end of data
  kTruncated,   // a frame runs past the end of the bytes
  kBadLength,   // length above kMaxFramePayload
  kBadCrc,      // CRC mismatch
  kBadPadding,  // non-zero padding bytes
};
std::string_view frameStopName(FrameStop stop);

struct Frame {
  uint64_t offset;           // of the frame header, relative to the scanned bytes' base
  std::string_view payload;  // points into the scanned bytes
};

struct FrameScan {
  std::vector<Frame> frames;  // every good frame before the stop
  uint64_t endOffset = 0;     // base-relative offset where the scan stopped
  FrameStop stop = FrameStop::kEof;
};

// Reads frames from `bytes` until the end, a zero length, or the first bad frame.
FrameScan scanFrames(std::string_view bytes, uint64_t baseOffset = 0);

// Exported frame files: every byte must be a good frame (no end marker, no tail).
// Errors name the frame number and byte offset, e.g. "frame 12 at offset 3904: crc mismatch".
absl::StatusOr<std::vector<Frame>> parseFrames(std::string_view bytes);

}  // namespace xborder::evidence
