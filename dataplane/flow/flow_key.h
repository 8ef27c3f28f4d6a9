// Bidirectional flow key: both directions of a flow map to the same key because
// the (address, port) endpoints are stored in canonical order (lower first).
// Matches ndpiReader's key: VLAN id, IP protocol, the two endpoints.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/parse/packet_meta.h"

namespace xborder::dp {

struct FlowKey {
  uint8_t lo_addr[16];
  uint8_t hi_addr[16];
  uint16_t lo_port;
  uint16_t hi_port;
  uint16_t vlan;
  uint8_t proto;
  uint8_t ip_version;

  bool operator==(const FlowKey& o) const noexcept { return std::memcmp(this, &o, sizeof(*this)) == 0; }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey is hashed and compared as 40 raw bytes");

// Builds the canonical key of one IP layer. *src_is_lo tells which endpoint sent
// this packet (needed to find the packet's direction relative to the client).
inline FlowKey makeFlowKey(const IpLayer& L, uint16_t vlan, bool* src_is_lo) noexcept {
  FlowKey k;
  const int c = std::memcmp(L.src, L.dst, 16);
  const bool lo = c < 0 || (c == 0 && L.sport <= L.dport);
  if (lo) {
    std::memcpy(k.lo_addr, L.src, 16);
    std::memcpy(k.hi_addr, L.dst, 16);
    k.lo_port = L.sport;
    k.hi_port = L.dport;
  } else {
    std::memcpy(k.lo_addr, L.dst, 16);
    std::memcpy(k.hi_addr, L.src, 16);
    k.lo_port = L.dport;
    k.hi_port = L.sport;
  }
  k.vlan = vlan;
  k.proto = L.proto;
  k.ip_version = L.version;
  *src_is_lo = lo;
  return k;
}

// 64-bit hash of the 40 key bytes (five words, multiply-xorshift mixing). Good
// enough spread for open addressing; not keyed, so a symmetric-RSS attacker could
// aim collisions at one worker: the table's probe limit bounds the damage.
inline uint64_t hashFlowKey(const FlowKey& k) noexcept {
  uint64_t w[5];
  std::memcpy(w, &k, sizeof(w));
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (uint64_t x : w) {
    h ^= x;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  h *= 0x94D049BB133111EBull;
  h ^= h >> 29;
  return h;
}

}  // namespace xborder::dp
