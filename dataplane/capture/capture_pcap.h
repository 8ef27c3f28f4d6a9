// Reads pcap/pcapng captures (Ethernet) with libpcap for the tools that drive the
// Engine without EAL (xborder-replay, xborder-dryrun). Control path: errors are
// absl::Status; the caller owns the loop so it can batch packets into bursts.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

struct pcap;

namespace xborder::dp {

struct CapturedPacket {
  uint64_t ts_ns = 0;  // ns since the Unix epoch
  const uint8_t* data = nullptr;  // valid until the next next() call
  uint32_t caplen = 0;
  uint32_t wirelen = 0;
};

class CaptureReader {
 public:
  CaptureReader() = default;
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  // Opens a capture; fails unless it is Ethernet (DLT_EN10MB).
  absl::Status open(const std::string& path);
  // Next packet; false at the end (a capture cut mid-packet ends at the last whole one).
  bool next(CapturedPacket* out);
  void close();
  // File bytes read so far and the file size (progress display).
  uint64_t bytesRead() const;
  uint64_t fileSize() const { return size_; }

 private:
  struct pcap* pc_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace xborder::dp
