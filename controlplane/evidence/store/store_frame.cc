#include "controlplane/evidence/store/store_frame.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/store/store_crc32c.h"

namespace xborder::evidence {
namespace {

uint32_t loadLe32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24);
}

void storeLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

void appendFrame(std::string& out, std::string_view payload) {
  const size_t start = out.size();
  out.resize(start + frameSize(payload.size()), '\0');
  char* p = out.data() + start;
  storeLe32(p, static_cast<uint32_t>(payload.size()));
  uint32_t crc = crc32cExtend(0, p, 4);
  crc = crc32cExtend(crc, payload.data(), payload.size());
  storeLe32(p + 4, crc);
  std::memcpy(p + kFrameHeaderSize, payload.data(), payload.size());
}

std::string_view frameStopName(FrameStop stop) {
  switch (stop) {
    case FrameStop::kEof: return "end of bytes";
    case FrameStop::kEndMarker: return "end marker";
    case FrameStop::kTruncated: return "truncated frame";
    case FrameStop::kBadLength: return "bad length";
    case FrameStop::kBadCrc: return "crc mismatch";
    case FrameStop::kBadPadding: return "non-zero padding";
  }
  return "?";
}

FrameScan scanFrames(std::string_view bytes, uint64_t baseOffset) {
  FrameScan scan;
  size_t off = 0;
  while (true) {
    scan.endOffset = baseOffset + off;
    if (off == bytes.size()) {
      scan.stop = FrameStop::kEof;
      return scan;
    }
    if (bytes.size() - off < kFrameHeaderSize) {
      // A few trailing bytes: zeros are preallocated space, anything else a torn header.
      bool zero = true;
      for (size_t i = off; i < bytes.size(); ++i) zero = zero && bytes[i] == 0;
      scan.stop = zero ? FrameStop::kEndMarker : FrameStop::kTruncated;
      return scan;
    }
    const uint32_t len = loadLe32(bytes.data() + off);
    if (len == 0) {
      scan.stop = FrameStop::kEndMarker;
      return scan;
    }
    if (len > kMaxFramePayload) {
      scan.stop = FrameStop::kBadLength;
      return scan;
    }
    const size_t total = frameSize(len);
    if (bytes.size() - off < total) {
      scan.stop = FrameStop::kTruncated;
      return scan;
    }
    const uint32_t want = loadLe32(bytes.data() + off + 4);
    uint32_t crc = crc32cExtend(0, bytes.data() + off, 4);
    crc = crc32cExtend(crc, bytes.data() + off + kFrameHeaderSize, len);
    if (crc != want) {
      scan.stop = FrameStop::kBadCrc;
      return scan;
    }
    for (size_t i = off + kFrameHeaderSize + len; i < off + total; ++i) {
      if (bytes[i] != 0) {
        scan.stop = FrameStop::kBadPadding;
        return scan;
      }
    }
    scan.frames.push_back(Frame{baseOffset + off, bytes.substr(off + kFrameHeaderSize, len)});
    off += total;
  }
}

absl::StatusOr<std::vector<Frame>> parseFrames(std::string_view bytes) {
  FrameScan scan = scanFrames(bytes);
  if (scan.stop != FrameStop::kEof) {
    return absl::DataLossError(absl::StrCat("frame ", scan.frames.size(), " at offset ",
                                            scan.endOffset, ": ",
                                            std::string(frameStopName(scan.stop))));
  }
  return std::move(scan.frames);
}

}  // namespace xborder::evidence
