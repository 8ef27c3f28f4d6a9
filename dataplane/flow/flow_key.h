// Bidirectional flow key: both directions of a flow map to the same key because
// the (address, port) endpoints are stored in canonical order (lower first).
// Matches ndpiReader's key: VLAN id, IP protocol, the two endpoints.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "dataplane/parse/packet_meta.h"
#include "dataplane/parse/parse_fast.h"

namespace xborder::dp {

struct FlowKey {
  uint8_t lo_addr[16];
  uint8_t hi_addr[16];
  uint16_t lo_port;
  uint16_t hi_port;
  uint16_t vlan;
  uint8_t proto;
  uint8_t ip_version;

  // Five 64-bit words: one compare each, no memcmp call (the hot path's lookup).
  bool operator==(const FlowKey& o) const noexcept {
    uint64_t a[5], b[5];
    std::memcpy(a, this, sizeof(a));
    std::memcpy(b, &o, sizeof(b));
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
  }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey is hashed and compared as five 64-bit words");

namespace key_detail {
// Big-endian 64-bit load: comparing two of these orders addresses as memcmp does.
inline uint64_t be64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}
// True if endpoint (a, ap) sorts before or equals (b, bp): address bytes first, then port.
inline bool endpointLowFirst(const uint8_t* a, const uint8_t* b, uint16_t ap, uint16_t bp) noexcept {
  const uint64_t a0 = be64(a), b0 = be64(b);
  if (a0 != b0) return a0 < b0;
  const uint64_t a1 = be64(a + 8), b1 = be64(b + 8);
  if (a1 != b1) return a1 < b1;
  return ap <= bp;
}
// Shared by both key builders, so the general and the fast decoder's packets of one
// flow get the same key by construction.
template <class Layer>
inline FlowKey canonicalKey(const Layer& L, uint16_t vlan, bool* src_is_lo) noexcept {
  FlowKey k;
  const bool lo = endpointLowFirst(L.src, L.dst, L.sport, L.dport);
  std::memcpy(k.lo_addr, lo ? L.src : L.dst, 16);
  std::memcpy(k.hi_addr, lo ? L.dst : L.src, 16);
  k.lo_port = lo ? L.sport : L.dport;
  k.hi_port = lo ? L.dport : L.sport;
  k.vlan = vlan;
  k.proto = L.proto;
  k.ip_version = L.version;
  *src_is_lo = lo;
  return k;
}
}  // namespace key_detail

// Builds the canonical key of one IP layer. *src_is_lo tells which endpoint sent
// this packet (needed to find the packet's direction relative to the client).
inline FlowKey makeFlowKey(const IpLayer& L, uint16_t vlan, bool* src_is_lo) noexcept {
  return key_detail::canonicalKey(L, vlan, src_is_lo);
}
// The same for a packet read by decodeFast (equal to makeFlowKey(meta.outer,
// meta.vlan_id) for that packet).
inline FlowKey makeFlowKey(const FastPacket& f, bool* src_is_lo) noexcept {
  return key_detail::canonicalKey(f, f.vlan_id, src_is_lo);
}

// 64-bit hash of the key's five words: two 64x64->128 multiplies fold the addresses,
// a third mixes in the ports, VLAN and protocol (wyhash's "mum" step). About half the
// instructions of the multiply-xorshift chain it replaced, and every output bit
// depends on every key bit. Not keyed, so a symmetric-RSS attacker could aim
// collisions at one worker. CRC32C would be cheaper, but needs SSE4.2 at compile time
// and the packet library is built for any x86-64 (and other) CPUs.
inline uint64_t hashFlowKey(const FlowKey& k) noexcept {
  __extension__ using U128 = unsigned __int128;
  auto mum = [](uint64_t a, uint64_t b) noexcept {
    const U128 r = static_cast<U128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  };
  uint64_t w[5];
  std::memcpy(w, &k, sizeof(w));
  const uint64_t a = mum(w[0] ^ 0xA0761D6478BD642Full, w[1] ^ 0xE7037ED1A0B428DBull);
  const uint64_t b = mum(w[2] ^ 0x8EBC6AF09C88C6E3ull, w[3] ^ 0x589965CC75374CC3ull);
  return mum(a ^ w[4] ^ 0x1D8E4E27C47D124Full, b ^ 0xA0761D6478BD642Full);
}

}  // namespace xborder::dp
