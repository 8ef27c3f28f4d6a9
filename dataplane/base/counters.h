// Per-worker counters. Each counter has exactly one writer (its worker), so an
// increment is a relaxed load + relaxed store: a plain add on x86, no lock prefix.
// Readers on other threads (visitCounters, telemetry) see a value that may lag
// by a few increments, never a torn one.
#pragma once

#include <atomic>
#include <cstdint>

namespace xborder::dp {

class RelaxedCounter {
 public:
  void add(uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

}  // namespace xborder::dp
