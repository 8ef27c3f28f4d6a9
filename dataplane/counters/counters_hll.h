#pragma once
// HyperLogLog sketch of distinct individuals (precision 14: 16384 one-byte registers,
// ~0.8% standard error), over the detectors' keyed hashes (64-bit HMAC truncations,
// already uniform, so they are not re-hashed). Small counts are exact: the first
// kSparseLimit distinct hashes are also kept in a small open-addressed set, and the
// count is that set's size until it fills. The estimate beyond that is Ertl's improved
// raw estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
// 2017), which needs no bias tables and has no linear-counting switch-over bump.
//
// Threading: one writer (the owning worker) and any number of readers. Registers and
// the sparse set are relaxed atomics (plain loads/stores on x86) so a control-path
// reader that merges or estimates while the worker adds is race-free; the sketch only
// grows, so a reader sees a state at most one update behind. add() never allocates.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace xborder::dp::counters {

class Hll {
 public:
  static constexpr int kPrecision = 14;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;
  static constexpr size_t kSparseSlots = 256;
  static constexpr uint32_t kSparseLimit = 192;  // 75% load, then dense only

  Hll();
  Hll(const Hll&) = delete;
  Hll& operator=(const Hll&) = delete;

  void add(uint64_t hash);             // worker only
  uint64_t estimate() const;           // any thread; O(kRegisters) unless exact
  bool exact() const { return !saturated_.load(std::memory_order_acquire); }
  void mergeFrom(const Hll& other);    // max of registers, union of sparse sets (single writer)
  void clear();

  // Serialisation (snapshot): registers, and the sparse hashes while exact.
  void copyRegisters(std::span<uint8_t, kRegisters> out) const;
  void setRegisters(std::span<const uint8_t, kRegisters> in);  // max-merges
  size_t sparseHashes(std::span<uint64_t, kSparseSlots> out) const;  // returns count
  void markSaturated() { saturated_.store(true, std::memory_order_release); }

 private:
  void addSparse(uint64_t hash);
  void addRegister(uint64_t hash);

  std::unique_ptr<std::atomic<uint8_t>[]> registers_;
  std::unique_ptr<std::atomic<uint64_t>[]> sparse_;  // 0 = empty slot
  std::atomic<uint32_t> sparseCount_{0};
  std::atomic<bool> saturated_{false};
};

}  // namespace xborder::dp::counters
