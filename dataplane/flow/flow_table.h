// Per-worker flow table: open addressing (linear probing, backward-shift delete)
// over a preallocated entry array, plus a lazy one-second timer wheel for idle
// expiry. Everything is allocated by init(); the packet path never allocates.
//
// Why not rte_hash: it needs EAL (hugepage memzones), and this library also runs
// without EAL (dry run, tests, the callgrind benchmark). Why not a std map: node
// allocation per flow. The table is single-writer (its worker), so no locks.
//
// Memory per idle tracked flow, excluding nDPI state: sizeof(FlowEntry) = 136 B
// plus two 8-byte hash slots (load factor <= 0.5) plus a 4-byte free-list slot
// = 156 B (about 156 MiB per million flows).
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/flow/flow_key.h"

namespace xborder::dp {

inline constexpr uint32_t kNoFlow = 0xFFFFFFFFu;

enum class TcpState : uint8_t { kNone = 0, kSynSent, kSynRecv, kEstablished, kFinWait, kClosed };
inline constexpr const char* kTcpStateNames[] = {"none",        "syn_sent", "syn_recv",
                                                 "established", "fin_wait", "closed"};

// How a flow ended (flow.reason in the flow log).
enum class EndReason : uint8_t { kTimeout = 0, kTcpClosed, kForced, kShutdown };
inline constexpr const char* kEndReasonNames[] = {"timeout", "tcp_closed", "forced", "shutdown"};

enum class ClassifyState : uint8_t {
  kPending = 0,   // waiting for / inside nDPI
  kDetected = 1,  // nDPI found the protocol
  kGaveUp = 2,    // budget exhausted or flow ended: nDPI guessed
  kSkipped = 3,   // no nDPI state available (pool exhausted)
};

struct FlowTimeouts {
  uint32_t tcp_established = 3600;
  uint32_t tcp_transitory = 120;
  uint32_t tcp_closed = 10;
  uint32_t udp = 180;
  uint32_t icmp = 30;
  uint32_t other = 60;
};

struct FlowEntry {
  FlowKey key;
  uint64_t first_ns;
  uint64_t last_ns;
  uint64_t pkts[2];   // [0] to server (sent by the client), [1] to client
  uint64_t bytes[2];  // frame bytes (caplen incl. Ethernet), as ndpiReader counts
  uint64_t risk;      // nDPI risk bitmask
  uint32_t next;      // timer-wheel list
  uint32_t prev;
  uint32_t gen;        // bumped at every allocation (fragment cache validation)
  uint32_t ndpi_slot;  // nDPI pool slot while classifying, else kNoFlow
  uint32_t meta_slot;  // extracted-metadata pool slot, else kNoFlow
  uint16_t master_proto;
  uint16_t app_proto;
  uint16_t category;
  uint16_t wheel_slot;
  uint16_t frags;  // IP fragments attributed to this flow
  uint8_t client_is_lo;  // the client (first sender) is key.lo_*
  uint8_t tcp_flags[2];  // OR of flags per direction
  TcpState tcp_state;
  ClassifyState classify;
  uint8_t confidence;  // ndpi_confidence_t
  uint8_t tunnel;      // Tunnel the flow was carried in (inner flows), else 0
  uint8_t is_inner;
  uint8_t alerted;
};
static_assert(sizeof(FlowEntry) == 136, "keep the per-flow footprint in check");

class FlowTable {
 public:
  // Allocates everything; capacity is rounded up to a power of two.
  void init(uint32_t capacity, const FlowTimeouts& timeouts);

  uint32_t capacity() const noexcept { return capacity_; }
  uint32_t size() const noexcept { return size_; }
  bool full() const noexcept { return size_ >= capacity_; }

  // Inline, on words: the known-flow fast path runs it on every packet.
  uint32_t find(const KeyWords& k, uint64_t hash) const noexcept {
    const auto lo = static_cast<uint32_t>(hash);
    const Slot* slots = slots_.data();
    for (uint32_t i = lo & slot_mask_;; i = (i + 1) & slot_mask_) {
      const Slot s = slots[i];
      if (s.idx_plus1 == 0) {
        return kNoFlow;
      }
      if (s.hash_lo == lo && k.matches(entries_[s.idx_plus1 - 1].key)) {
        return s.idx_plus1 - 1;
      }
    }
  }
  uint32_t find(const FlowKey& k, uint64_t hash) const noexcept { return find(KeyWords::of(k), hash); }
  // Inserts a zeroed entry for k (caller checked !full() and find() == kNoFlow).
  uint32_t insert(const FlowKey& k, uint64_t hash, uint64_t now_ns) noexcept;
  FlowEntry& at(uint32_t idx) noexcept { return entries_[idx]; }
  const FlowEntry& at(uint32_t idx) const noexcept { return entries_[idx]; }
  void remove(uint32_t idx) noexcept;

  // Re-files the flow under its current deadline (call when its timeout shrinks,
  // e.g. TCP closed). Deadlines that grow are handled lazily by expire().
  void reschedule(uint32_t idx) noexcept;
  uint64_t deadlineNs(const FlowEntry& e) const noexcept;

  // Expires flows idle past their timeout, doing at most `budget` units of work
  // (one unit per flow visited or wheel second advanced). For each expired flow,
  // onExpire(idx) runs before the entry is removed. Returns flows expired.
  template <class F>
  uint32_t expire(uint64_t now_ns, uint32_t budget, F&& onExpire) noexcept;

  // The flow nearest to its idle deadline (eviction candidate), or kNoFlow. Flows
  // whose wheel slot is stale (they saw packets since being filed) are re-filed on
  // the way, up to a bounded number of probes, so a busy old flow is not chosen.
  uint32_t pickVictim() noexcept;

  // Calls f(idx) for every flow, then empties the table.
  template <class F>
  void drain(F&& f) noexcept;

 private:
  static constexpr uint32_t kWheelBits = 12;  // 4096 one-second slots
  static constexpr uint32_t kWheelSize = 1u << kWheelBits;
  static constexpr uint32_t kWheelMask = kWheelSize - 1;
  static constexpr uint32_t kDeferred = kWheelSize;  // extra list head: set aside

  struct Slot {
    uint32_t hash_lo;
    uint32_t idx_plus1;  // 0 = empty
  };

  // Seconds from the cursor to the next non-empty wheel slot (kWheelSize if none).
  uint32_t nextBusySlot() const noexcept;
  void link(uint32_t idx, uint64_t deadline_sec) noexcept;
  void linkDeferred(uint32_t idx) noexcept;
  void unlink(uint32_t idx) noexcept;
  void startClock(uint64_t now_sec) noexcept;

  FlowTimeouts timeouts_;
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
  uint32_t slot_mask_ = 0;
  uint32_t free_top_ = 0;
  bool clock_started_ = false;
  uint64_t cursor_sec_ = 0;  // every second before this one has been expired
  std::vector<FlowEntry> entries_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> wheel_;
  uint64_t busy_[kWheelSize / 64] = {};  // bit per non-empty wheel slot
};

template <class F>
uint32_t FlowTable::expire(uint64_t now_ns, uint32_t budget, F&& onExpire) noexcept {
  const uint64_t now_sec = now_ns / 1000000000ull;
  if (!clock_started_) {
    startClock(now_sec);
  }
  if (size_ == 0) {
    if (now_sec > cursor_sec_) {
      cursor_sec_ = now_sec;
    }
    return 0;
  }
  uint32_t expired = 0;
  for (;;) {
    // Flows set aside while catching up are filed again once the cursor is near now.
    while (budget > 0 && wheel_[kDeferred] != kNoFlow && now_sec - cursor_sec_ < kWheelSize) {
      --budget;
      const uint32_t idx = wheel_[kDeferred];
      unlink(idx);
      link(idx, deadlineNs(entries_[idx]) / 1000000000ull);
    }
    if (budget == 0 || cursor_sec_ >= now_sec) {
      break;
    }
    --budget;
    const uint32_t head = wheel_[cursor_sec_ & kWheelMask];
    if (head == kNoFlow) {
      // Every filed flow sits within [cursor, cursor + kWheelSize): jump straight to
      // the next busy second, so idle gaps (or captures spanning years) cost one step.
      const uint32_t n = nextBusySlot();
      const uint64_t next = n == kWheelSize ? now_sec : cursor_sec_ + n;
      cursor_sec_ = next < now_sec ? next : now_sec;
      continue;
    }
    const uint32_t idx = head;
    unlink(idx);
    const uint64_t deadline = deadlineNs(entries_[idx]);
    if (deadline <= now_ns) {
      onExpire(idx);
      remove(idx);
      ++expired;
    } else if (now_sec - cursor_sec_ >= kWheelSize) {
      // The cursor lags by more than the wheel span (a jump in time): filing the
      // flow relative to the cursor would make us revisit it every wheel turn.
      linkDeferred(idx);
    } else {
      link(idx, deadline / 1000000000ull);  // a later second, never this one
    }
  }
  return expired;
}

template <class F>
void FlowTable::drain(F&& f) noexcept {
  for (uint32_t s = 0; s <= kWheelSize; ++s) {
    while (wheel_[s] != kNoFlow) {
      const uint32_t idx = wheel_[s];
      unlink(idx);
      f(idx);
      remove(idx);
    }
  }
}

}  // namespace xborder::dp
