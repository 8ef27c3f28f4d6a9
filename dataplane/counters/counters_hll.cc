#include "dataplane/counters/counters_hll.h"

#include <bit>
#include <cmath>
#include <limits>

namespace xborder::dp::counters {
namespace {
constexpr int kQ = 64 - Hll::kPrecision;  // bits left for the rank
constexpr double kM = static_cast<double>(Hll::kRegisters);

// A keyed hash of exactly 0 would look like an empty slot; folding it onto 1 costs
// one in 2^64 of accuracy.
uint64_t slotValue(uint64_t hash) { return hash == 0 ? 1 : hash; }

double sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0, z = x, prev;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (z != prev);
  return z;
}

double tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x, prev;
  do {
    x = std::sqrt(x);
    prev = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
  } while (z != prev);
  return z / 3.0;
}
}  // namespace

Hll::Hll()
    : registers_(new std::atomic<uint8_t>[kRegisters]), sparse_(new std::atomic<uint64_t>[kSparseSlots]) {
  clear();
}

void Hll::clear() {
  for (size_t i = 0; i < kRegisters; ++i) registers_[i].store(0, std::memory_order_relaxed);
  for (size_t i = 0; i < kSparseSlots; ++i) sparse_[i].store(0, std::memory_order_relaxed);
  sparseCount_.store(0, std::memory_order_relaxed);
  saturated_.store(false, std::memory_order_release);
}

void Hll::addRegister(uint64_t hash) {
  const size_t idx = hash >> kQ;
  const uint64_t rest = hash << kPrecision;  // the low kQ bits, shifted up
  const uint8_t rank = rest == 0 ? kQ + 1 : static_cast<uint8_t>(std::countl_zero(rest) + 1);
  auto& reg = registers_[idx];
  if (rank > reg.load(std::memory_order_relaxed)) reg.store(rank, std::memory_order_relaxed);
}

void Hll::addSparse(uint64_t hash) {
  const uint64_t v = slotValue(hash);
  size_t i = static_cast<size_t>(v) & (kSparseSlots - 1);
  for (;;) {
    const uint64_t cur = sparse_[i].load(std::memory_order_relaxed);
    if (cur == v) return;
    if (cur == 0) break;
    i = (i + 1) & (kSparseSlots - 1);
  }
  const uint32_t n = sparseCount_.load(std::memory_order_relaxed);
  if (n >= kSparseLimit) {
    saturated_.store(true, std::memory_order_release);
    return;
  }
  sparse_[i].store(v, std::memory_order_relaxed);
  sparseCount_.store(n + 1, std::memory_order_release);
}

void Hll::add(uint64_t hash) {
  addRegister(hash);
  if (!saturated_.load(std::memory_order_relaxed)) addSparse(hash);
}

uint64_t Hll::estimate() const {
  if (exact()) return sparseCount_.load(std::memory_order_acquire);
  uint32_t histogram[kQ + 2] = {};
  for (size_t i = 0; i < kRegisters; ++i) ++histogram[registers_[i].load(std::memory_order_relaxed)];
  double z = kM * tau(1.0 - histogram[kQ + 1] / kM);
  for (int k = kQ; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += kM * sigma(histogram[0] / kM);
  const double alphaInf = 0.5 / std::log(2.0);
  return static_cast<uint64_t>(std::llround(alphaInf * kM * kM / z));
}

void Hll::mergeFrom(const Hll& other) {
  for (size_t i = 0; i < kRegisters; ++i) {
    const uint8_t v = other.registers_[i].load(std::memory_order_relaxed);
    if (v > registers_[i].load(std::memory_order_relaxed)) registers_[i].store(v, std::memory_order_relaxed);
  }
  if (!other.exact()) {
    saturated_.store(true, std::memory_order_release);
    return;
  }
  for (size_t i = 0; i < kSparseSlots && !saturated_.load(std::memory_order_relaxed); ++i) {
    const uint64_t v = other.sparse_[i].load(std::memory_order_relaxed);
    if (v != 0) addSparse(v);
  }
}

void Hll::copyRegisters(std::span<uint8_t, kRegisters> out) const {
  for (size_t i = 0; i < kRegisters; ++i) out[i] = registers_[i].load(std::memory_order_relaxed);
}

void Hll::setRegisters(std::span<const uint8_t, kRegisters> in) {
  for (size_t i = 0; i < kRegisters; ++i) {
    if (in[i] > registers_[i].load(std::memory_order_relaxed)) registers_[i].store(in[i], std::memory_order_relaxed);
  }
}

size_t Hll::sparseHashes(std::span<uint64_t, kSparseSlots> out) const {
  size_t n = 0;
  for (size_t i = 0; i < kSparseSlots; ++i) {
    const uint64_t v = sparse_[i].load(std::memory_order_relaxed);
    if (v != 0) out[n++] = v;
  }
  return n;
}

}  // namespace xborder::dp::counters
