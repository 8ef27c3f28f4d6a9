// Remembers which flow the first fragment of an IP datagram went to, so that the
// later fragments (which carry no ports) are attributed to the same flow. Direct
// mapped and bounded: a collision overwrites the older datagram, whose later
// fragments then count as unattributed. Entries are validated against the flow's
// generation, so a flow freed in between is never credited by mistake.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/flow/flow_table.h"

namespace xborder::dp {

class FragCache {
 public:
  void init(uint32_t size_pow2) {
    entries_.assign(size_pow2, Entry{});
    mask_ = size_pow2 - 1;
  }
  void insert(const IpLayer& L, uint32_t flow_idx, uint32_t gen) noexcept {
    Entry& e = entries_[indexOf(L)];
    std::memcpy(e.src, L.src, 16);
    std::memcpy(e.dst, L.dst, 16);
    e.id = L.frag_id;
    e.proto = L.proto;
    e.version = L.version;
    e.flow_idx = flow_idx;
    e.gen = gen;
    e.valid = 1;
  }
  // Returns the flow index, or kNoFlow; *gen receives the stored generation.
  uint32_t find(const IpLayer& L, uint32_t* gen) const noexcept {
    const Entry& e = entries_[indexOf(L)];
    if (!e.valid || e.id != L.frag_id || e.proto != L.proto || e.version != L.version ||
        std::memcmp(e.src, L.src, 16) != 0 || std::memcmp(e.dst, L.dst, 16) != 0) {
      return kNoFlow;
    }
    *gen = e.gen;
    return e.flow_idx;
  }

 private:
  struct Entry {
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;
    uint32_t flow_idx;
    uint32_t gen;
    uint8_t proto;
    uint8_t version;
    uint8_t valid;
  };
  uint32_t indexOf(const IpLayer& L) const noexcept {
    uint64_t a, b, c, d;
    std::memcpy(&a, L.src, 8);
    std::memcpy(&b, L.src + 8, 8);
    std::memcpy(&c, L.dst, 8);
    std::memcpy(&d, L.dst + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ (c * 0xBF58476D1CE4E5B9ull) ^ d) +
                 (static_cast<uint64_t>(L.frag_id) << 8) + L.proto;
    h *= 0x94D049BB133111EBull;
    return static_cast<uint32_t>(h >> 32) & mask_;
  }
  std::vector<Entry> entries_;
  uint32_t mask_ = 0;
};

}  // namespace xborder::dp
