// Bidirectional flow key: both directions of a flow map to the same key because
// the (address, port) endpoints are stored in canonical order (lower first).
// Matches ndpiReader's key: VLAN id, IP protocol, the two endpoints.
//
// The key is built, hashed and compared as five 64-bit words (KeyWords), so that on
// the known-flow fast path it never leaves the registers; FlowKey is the same 40
// bytes as the table stores them.
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

  bool operator==(const FlowKey& o) const noexcept;
};
static_assert(sizeof(FlowKey) == 40, "FlowKey is hashed and compared as five 64-bit words");

// FlowKey's 40 bytes as words, in memory order: lo address (2), hi address (2), then
// lo_port, hi_port, vlan, proto, ip_version.
struct KeyWords {
  uint64_t lo0, lo1, hi0, hi1, rest;

  static KeyWords of(const FlowKey& k) noexcept {
    KeyWords w;
    std::memcpy(&w, &k, sizeof(w));
    return w;
  }
  FlowKey key() const noexcept {
    FlowKey k;
    std::memcpy(&k, this, sizeof(k));
    return k;
  }
  // Compare-and-branch per word (no memcmp call): the table's lookup.
  bool operator==(const KeyWords& o) const noexcept {
    return lo0 == o.lo0 && lo1 == o.lo1 && hi0 == o.hi0 && hi1 == o.hi1 && rest == o.rest;
  }
  // The same against a stored key, read word by word in place (no copy of it first).
  bool matches(const FlowKey& k) const noexcept {
    const auto* p = reinterpret_cast<const uint8_t*>(&k);
    auto at = [p](int i) noexcept {
      uint64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      return v;
    };
    return lo0 == at(0) && lo1 == at(1) && hi0 == at(2) && hi1 == at(3) && rest == at(4);
  }
};
static_assert(sizeof(KeyWords) == sizeof(FlowKey));

inline bool FlowKey::operator==(const FlowKey& o) const noexcept {
  return KeyWords::of(*this) == KeyWords::of(o);
}

namespace key_detail {
// An address's first or second 8 bytes read big-endian: comparing these orders
// addresses as memcmp does.
inline uint64_t be(uint64_t raw) noexcept {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(raw);
  return raw;
}
// The one canonical-order rule, shared by both key builders so that the general and
// the fast decoder's packets of one flow get the same key by construction. Addresses
// are two words each in memory order (the 16 bytes of IpLayer::src/dst).
[[gnu::always_inline]] inline KeyWords canonicalWords(uint64_t s0, uint64_t s1, uint64_t d0,
                                                      uint64_t d1, uint16_t sport, uint16_t dport,
                                                      uint16_t vlan, uint8_t proto, uint8_t version,
                                                      bool* src_is_lo) noexcept {
  const uint64_t bs0 = be(s0), bd0 = be(d0);
  // Lower endpoint first: address bytes, then port.
  const bool lo = bs0 != bd0 ? bs0 < bd0 : s1 != d1 ? be(s1) < be(d1) : sport <= dport;
  *src_is_lo = lo;
  // lo_port, hi_port, vlan, proto, ip_version as FlowKey lays them out in memory.
  const uint64_t lo_port = lo ? sport : dport, hi_port = lo ? dport : sport;
  uint64_t rest;
  if constexpr (std::endian::native == std::endian::little) {
    rest = lo_port | hi_port << 16 | uint64_t{vlan} << 32 | uint64_t{proto} << 48 |
           uint64_t{version} << 56;
  } else {
    rest = lo_port << 48 | hi_port << 32 | uint64_t{vlan} << 16 | uint64_t{proto} << 8 | version;
  }
  return lo ? KeyWords{s0, s1, d0, d1, rest} : KeyWords{d0, d1, s0, s1, rest};
}
inline uint64_t word(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
}  // namespace key_detail

// Builds the canonical key of one IP layer. *src_is_lo tells which endpoint sent
// this packet (needed to find the packet's direction relative to the client).
inline FlowKey makeFlowKey(const IpLayer& L, uint16_t vlan, bool* src_is_lo) noexcept {
  using key_detail::word;
  return key_detail::canonicalWords(word(L.src), word(L.src + 8), word(L.dst), word(L.dst + 8),
                                    L.sport, L.dport, vlan, L.proto, L.version, src_is_lo)
      .key();
}
// The same key, as words, for a packet read by decodeFast (equal to
// makeFlowKey(meta.outer, meta.vlan_id) for that packet).
[[gnu::always_inline]] inline KeyWords fastKeyWords(const FastPacket& f, bool* src_is_lo) noexcept {
  return key_detail::canonicalWords(f.src[0], f.src[1], f.dst[0], f.dst[1], f.sport, f.dport,
                                    f.vlan_id, f.proto, f.version, src_is_lo);
}
inline FlowKey makeFlowKey(const FastPacket& f, bool* src_is_lo) noexcept {
  return fastKeyWords(f, src_is_lo).key();
}

// 64-bit hash of the key's five words with one 64x64->128 multiply folded high into
// low (wyhash's "mum" step; session 3 used two, the multiply-xorshift chain before it
// six). Each factor holds one endpoint losslessly for IPv4: the lower address with both
// ports rotated into its free upper half (VLAN, protocol and version fold into its low
// half), and the higher address; IPv6's second address halves fold into the second.
// Which slot a flow gets changes nothing the table reports (expiry and drain go by the
// timer wheel). Not keyed, so a symmetric-RSS attacker could aim collisions at one
// worker. CRC32C would be cheaper, but needs SSE4.2 at compile time, and the packet
// library is built for any x86-64 (DPDK's -march=corei7 reaches only the targets that
// link XB::dpdk).
[[gnu::always_inline]] inline uint64_t hashKeyWords(const KeyWords& w) noexcept {
  __extension__ using U128 = unsigned __int128;
  const uint64_t a = w.lo0 ^ std::rotl(w.rest, 32) ^ 0xA0761D6478BD642Full;
  const uint64_t b = w.hi0 ^ w.lo1 ^ std::rotl(w.hi1, 32) ^ 0xE7037ED1A0B428DBull;
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
inline uint64_t hashFlowKey(const FlowKey& k) noexcept { return hashKeyWords(KeyWords::of(k)); }

}  // namespace xborder::dp
