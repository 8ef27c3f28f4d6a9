#pragma once
// Single-producer single-consumer ring of fixed-size slots. The app could use DPDK's
// rte_ring, but this library must run without EAL (dry run, tests), and an SPSC ring
// of trivially-copyable slots is a few lines: one cache line each for head and tail,
// each side caching the other's index so a push or pop touches shared lines only when
// its cached view runs out. Push and pop never block, allocate or syscall.
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace xborder::dp::evidence_sink {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit SpscRing(size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity)), mask_(capacity_ - 1),
        slots_(new T[capacity_]) {}

  // Producer. False when full (the caller counts the loss).
  bool push(const T& item) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - headCache_ >= capacity_) {
      headCache_ = head_.load(std::memory_order_acquire);
      if (tail - headCache_ >= capacity_) return false;
    }
    slots_[tail & mask_] = item;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  // Producer: is there room for one more right now?
  bool hasRoom() const {
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_acquire) < capacity_;
  }

  // Consumer. False when empty.
  bool pop(T& out) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tailCache_) {
      tailCache_ = tail_.load(std::memory_order_acquire);
      if (head == tailCache_) return false;
    }
    out = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  size_t capacity() const { return capacity_; }
  size_t size() const {
    return static_cast<size_t>(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
  }

 private:
  static constexpr size_t kLine = 64;
  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(kLine) std::atomic<uint64_t> tail_{0};
  uint64_t headCache_ = 0;  // producer's view of head_
  alignas(kLine) std::atomic<uint64_t> head_{0};
  uint64_t tailCache_ = 0;  // consumer's view of tail_
};

}  // namespace xborder::dp::evidence_sink
