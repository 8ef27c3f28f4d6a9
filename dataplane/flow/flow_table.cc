#include "dataplane/flow/flow_table.h"

#include <cstring>

namespace xborder::dp {

void FlowTable::init(uint32_t capacity, const FlowTimeouts& timeouts) {
  timeouts_ = timeouts;
  uint32_t cap = 64;
  while (cap < capacity && cap < (1u << 30)) {
    cap <<= 1;
  }
  capacity_ = cap;
  size_ = 0;
  entries_.assign(cap, FlowEntry{});
  slots_.assign(static_cast<size_t>(cap) * 2, Slot{0, 0});
  slot_mask_ = cap * 2 - 1;
  free_.resize(cap);
  for (uint32_t i = 0; i < cap; ++i) {
    free_[i] = cap - 1 - i;  // pop order 0, 1, 2, ...
  }
  free_top_ = cap;
  wheel_.assign(kWheelSize + 1, kNoFlow);
  for (uint64_t& w : busy_) {
    w = 0;
  }
  clock_started_ = false;
  cursor_sec_ = 0;
}

void FlowTable::startClock(uint64_t now_sec) noexcept {
  clock_started_ = true;
  cursor_sec_ = now_sec;
}

uint32_t FlowTable::insert(const FlowKey& k, uint64_t hash, uint64_t now_ns) noexcept {
  if (free_top_ == 0) {
    return kNoFlow;
  }
  const uint32_t idx = free_[--free_top_];
  FlowEntry& e = entries_[idx];
  const uint32_t gen = e.gen + 1;
  std::memset(&e, 0, sizeof(e));
  e.key = k;
  e.gen = gen;
  e.first_ns = now_ns;
  e.last_ns = now_ns;
  e.ndpi_slot = kNoFlow;
  e.meta_slot = kNoFlow;
  const auto lo = static_cast<uint32_t>(hash);
  uint32_t i = lo & slot_mask_;
  while (slots_[i].idx_plus1 != 0) {
    i = (i + 1) & slot_mask_;
  }
  slots_[i] = Slot{lo, idx + 1};
  ++size_;
  if (!clock_started_) {
    startClock(now_ns / 1000000000ull);
  }
  link(idx, deadlineNs(e) / 1000000000ull);
  return idx;
}

void FlowTable::remove(uint32_t idx) noexcept {
  FlowEntry& e = entries_[idx];
  if (e.wheel_slot != 0xFFFF) {
    unlink(idx);
  }
  const auto lo = static_cast<uint32_t>(hashFlowKey(e.key));
  uint32_t i = lo & slot_mask_;
  while (slots_[i].idx_plus1 != idx + 1) {
    i = (i + 1) & slot_mask_;
  }
  // Backward-shift deletion keeps probe chains intact without tombstones.
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & slot_mask_;
    const Slot s = slots_[j];
    if (s.idx_plus1 == 0) {
      break;
    }
    const uint32_t home = s.hash_lo & slot_mask_;
    const bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      slots_[i] = s;
      i = j;
    }
  }
  slots_[i] = Slot{0, 0};
  ++e.gen;  // stale references (fragment cache) to this entry no longer match
  free_[free_top_++] = idx;
  --size_;
}

uint64_t FlowTable::deadlineNs(const FlowEntry& e) const noexcept {
  uint32_t t;
  switch (e.key.proto) {
    case kIpProtoTcp:
      t = e.tcp_state == TcpState::kEstablished ? timeouts_.tcp_established
          : e.tcp_state == TcpState::kClosed    ? timeouts_.tcp_closed
                                                : timeouts_.tcp_transitory;
      break;
    case kIpProtoUdp:
      t = timeouts_.udp;
      break;
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
      t = timeouts_.icmp;
      break;
    default:
      t = timeouts_.other;
  }
  return e.last_ns + static_cast<uint64_t>(t) * 1000000000ull;
}

void FlowTable::link(uint32_t idx, uint64_t deadline_sec) noexcept {
  if (deadline_sec <= cursor_sec_) {
    deadline_sec = cursor_sec_;
  } else if (deadline_sec - cursor_sec_ >= kWheelSize) {
    deadline_sec = cursor_sec_ + kWheelSize - 1;  // re-filed when that slot comes up
  }
  const uint32_t s = static_cast<uint32_t>(deadline_sec & kWheelMask);
  FlowEntry& e = entries_[idx];
  e.wheel_slot = static_cast<uint16_t>(s);
  e.prev = kNoFlow;
  e.next = wheel_[s];
  if (e.next != kNoFlow) {
    entries_[e.next].prev = idx;
  }
  wheel_[s] = idx;
  busy_[s >> 6] |= 1ull << (s & 63);
}

void FlowTable::linkDeferred(uint32_t idx) noexcept {
  FlowEntry& e = entries_[idx];
  e.wheel_slot = static_cast<uint16_t>(kDeferred);
  e.prev = kNoFlow;
  e.next = wheel_[kDeferred];
  if (e.next != kNoFlow) {
    entries_[e.next].prev = idx;
  }
  wheel_[kDeferred] = idx;
}

uint32_t FlowTable::nextBusySlot() const noexcept {
  const uint32_t start = static_cast<uint32_t>(cursor_sec_ & kWheelMask);
  // Scan the bitmap from `start` around the wheel: at most 65 words.
  uint32_t word = start >> 6;
  uint64_t bits = busy_[word] & (~0ull << (start & 63));
  for (uint32_t n = 0; n <= kWheelSize / 64; ++n) {
    if (bits != 0) {
      const uint32_t slot = (word << 6) | static_cast<uint32_t>(__builtin_ctzll(bits));
      return (slot - start) & kWheelMask;
    }
    word = (word + 1) & (kWheelSize / 64 - 1);
    bits = busy_[word];
  }
  return kWheelSize;
}

void FlowTable::unlink(uint32_t idx) noexcept {
  FlowEntry& e = entries_[idx];
  if (e.prev != kNoFlow) {
    entries_[e.prev].next = e.next;
  } else {
    wheel_[e.wheel_slot] = e.next;
    if (e.next == kNoFlow && e.wheel_slot != kDeferred) {
      busy_[e.wheel_slot >> 6] &= ~(1ull << (e.wheel_slot & 63));
    }
  }
  if (e.next != kNoFlow) {
    entries_[e.next].prev = e.prev;
  }
  e.next = e.prev = kNoFlow;
  e.wheel_slot = 0xFFFF;
}

void FlowTable::reschedule(uint32_t idx) noexcept {
  unlink(idx);
  link(idx, deadlineNs(entries_[idx]) / 1000000000ull);
}

uint32_t FlowTable::pickVictim() noexcept {
  if (size_ == 0) {
    return kNoFlow;
  }
  constexpr uint32_t kMaxProbes = 32;
  uint32_t best = kNoFlow;
  uint64_t best_deadline = ~0ull;
  for (uint32_t probe = 0; probe < kMaxProbes; ++probe) {
    const uint32_t n = nextBusySlot();
    if (n == kWheelSize) {
      break;
    }
    const uint64_t slot_sec = cursor_sec_ + n;
    const uint32_t idx = wheel_[slot_sec & kWheelMask];
    const uint64_t deadline = deadlineNs(entries_[idx]);
    const uint64_t deadline_sec = deadline / 1000000000ull;
    if (deadline_sec <= slot_sec || slot_sec - cursor_sec_ == kWheelSize - 1) {
      // Filed where it belongs (or at the wheel's far end): every other flow is
      // filed at or after this second, so none is due sooner.
      return deadline < best_deadline ? idx : best;
    }
    if (deadline < best_deadline) {
      best = idx;
      best_deadline = deadline;
    }
    unlink(idx);
    link(idx, deadline_sec);  // a later slot: the scan moves on
  }
  if (best != kNoFlow) {
    return best;
  }
  return wheel_[kDeferred];
}

}  // namespace xborder::dp
