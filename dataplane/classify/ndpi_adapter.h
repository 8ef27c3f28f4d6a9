// The only interface to nDPI 4.2 (with ndpi_adapter.cc, the only file that includes
// it): one detection module per worker, per-flow nDPI state from a preallocated
// pool held only while a flow is being classified, and extraction of the results
// into FlowEntry + FlowMeta. Follows ndpiReader 4.2 (example/reader_util.c):
// feed L3 + ms time; after a match keep feeding while extra dissection is possible
// (SNI, certificate, JA3); give up after the packet budget or at flow end, with
// guessing, so results agree with ndpiReader's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/base/counters.h"
#include "dataplane/classify/flow_meta.h"
#include "dataplane/flow/flow_table.h"

struct ndpi_detection_module_struct;
struct ndpi_flow_struct;

namespace xborder::dp {

class NdpiAdapter {
 public:
  NdpiAdapter() = default;
  ~NdpiAdapter();
  NdpiAdapter(const NdpiAdapter&) = delete;
  NdpiAdapter& operator=(const NdpiAdapter&) = delete;

  // Control path: creates the module and both pools. False + *error on failure.
  bool init(uint32_t pool_size, uint32_t meta_pool_size, std::string* error);

  // Gives the flow an nDPI state slot; false (flow->classify = kSkipped) if the
  // pool is exhausted.
  bool attach(FlowEntry* e) noexcept;
  // Feeds one packet (l3 = first byte of the IP header). `enough` = the packet
  // budget is exhausted. Returns true when classification finished (state released).
  bool feed(FlowEntry* e, const uint8_t* l3, uint32_t l3_len, uint64_t ts_ms,
            bool enough) noexcept;
  // Flow ended while still classifying: give up with guessing, extract, release.
  void finishAtEnd(FlowEntry* e) noexcept;
  // Returns the flow's metadata block to the pool (after it was logged).
  void releaseMeta(FlowEntry* e) noexcept;

  // Names, as ndpiReader prints them.
  std::string_view protocolLabel(const FlowEntry& e, char* buf, uint32_t n) const noexcept;
  std::string_view protoName(uint16_t id) const noexcept;
  std::string_view categoryName(uint16_t category) const noexcept;
  static std::string_view confidenceName(uint8_t confidence) noexcept;
  static std::string_view riskName(uint32_t bit) noexcept;
  // Suricata-style lower-case app_proto ("tls", "http", "dns", ... or "failed").
  // buf must hold 32 bytes.
  std::string_view eveAppProto(const FlowEntry& e, char* buf) const noexcept;

  const FlowMeta* meta(const FlowEntry& e) const noexcept {
    return e.meta_slot == FlowMetaPool::kNone ? nullptr : &meta_.at(e.meta_slot);
  }

  uint32_t flowStructSize() const noexcept { return flow_size_; }
  uint32_t classifying() const noexcept { return pool_size_ - free_top_; }
  uint32_t metaInUse() const noexcept { return meta_.inUse(); }
  // Counters (single writer: the worker; read from anywhere).
  uint64_t detections() const noexcept { return detections_.get(); }
  uint64_t giveups() const noexcept { return giveups_.get(); }
  uint64_t poolExhausted() const noexcept { return pool_exhausted_.get(); }
  uint64_t metaTruncated() const noexcept { return meta_truncated_.get(); }
  uint64_t packetsFed() const noexcept { return packets_fed_.get(); }

 private:
  ndpi_flow_struct* slot(uint32_t s) const noexcept;
  void complete(FlowEntry* e, bool give_up) noexcept;
  void extract(FlowEntry* e, ndpi_flow_struct* f) noexcept;
  void release(FlowEntry* e) noexcept;

  ndpi_detection_module_struct* mod_ = nullptr;
  uint32_t flow_size_ = 0;
  uint32_t pool_size_ = 0;
  uint32_t free_top_ = 0;
  std::vector<uint64_t> pool_;  // pool_size_ * flow_size_ bytes, 8-aligned
  std::vector<uint32_t> free_;
  FlowMetaPool meta_;
  uint64_t last_ms_ = 0;  // nDPI wants non-decreasing time (ndpiReader repairs it too)
  RelaxedCounter detections_;
  RelaxedCounter giveups_;
  RelaxedCounter pool_exhausted_;
  RelaxedCounter meta_truncated_;
  RelaxedCounter packets_fed_;
};

}  // namespace xborder::dp
