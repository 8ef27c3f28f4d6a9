// Per-worker hand-off of FlowSamples to the control thread's AnomalyMonitor: RulesPolicy
// pushes one POD sample per finished flow (worker, never waits; a full ring drops the
// sample and counts it), the control thread drains every worker's ring into the one
// monitor. SPSC, trivially copyable slots, no allocation after construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dataplane/anomaly/anomaly_monitor.h"
#include "dataplane/evidence_sink/evidence_sink_ring.h"

namespace xborder::dp::anomaly {

static_assert(std::is_trivially_copyable_v<FlowSample>);

class FlowSampleRing {
 public:
  explicit FlowSampleRing(size_t slots = 8192) : ring_(slots) {}
  // Worker.
  bool push(const FlowSample& s) noexcept {
    if (ring_.push(s)) return true;
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }
  // Control thread: feeds up to `max` samples to the monitor; returns how many.
  size_t drainInto(AnomalyMonitor& monitor, size_t max = SIZE_MAX) {
    size_t n = 0;
    FlowSample s;
    while (n < max && ring_.pop(s)) {
      monitor.observe(s);
      ++n;
    }
    return n;
  }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  size_t size() const { return ring_.size(); }

 private:
  evidence_sink::SpscRing<FlowSample> ring_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace xborder::dp::anomaly
