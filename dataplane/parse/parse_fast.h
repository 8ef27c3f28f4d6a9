// Known-flow fast path, header half: reads the common frame in one pass.
//
// Why it exists: decodePacket handles every encapsulation (802.3/SNAP, tag stacks,
// MPLS, PPPoE, IPv6 extension headers, fragments, tunnels) for every packet; for a
// packet of a flow already decided that general walk costs more than the rest of the
// engine. decodeFast reads only Ethernet (+ one 802.1Q tag) / IPv4 or IPv6 / TCP or
// UDP and says "not fast" for anything else, which then takes decodePacket.
//
// What it may never do: accept a packet on which decodePacket would say something
// else. When it returns true, decodePacket on the same bytes (any wirelen, tunnels
// decapsulated or not) returns Reason::kNone with no anomaly, one IP layer, no
// fragment, not truncated, and the same VLAN id, addresses, ports, protocol, IP
// version, TCP flags, L3 offset and payload offset/length. Checked on the corpus and
// on crafted edge cases (tests/dataplane/parse_fast_test.cc) and by the decode fuzz
// target. Inline: it runs on every packet in front of the flow lookup.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "dataplane/parse/parse.h"

namespace xborder::dp {

struct FastPacket {
  // The address bytes as IpLayer holds them (IPv4 in the first 4, the other 12 zero),
  // as two words each so that, inlined, they can stay in registers.
  uint64_t src[2];
  uint64_t dst[2];
  uint16_t sport;
  uint16_t dport;
  uint16_t vlan_id;  // the one 802.1Q tag's id, 0 = untagged
  uint16_t l3_offset;
  uint16_t payload_offset;
  uint16_t payload_len;
  uint8_t proto;      // kIpProtoTcp or kIpProtoUdp
  uint8_t version;    // 4 or 6
  uint8_t tcp_flags;  // 0 for UDP
};

namespace fast_detail {
inline uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
// The 16-bit value whose memory holds v big-endian (a constant mask for a raw load).
constexpr uint16_t bigEndian16(uint16_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<uint16_t>((v >> 8) | (v << 8));
  }
  return v;
}
// A word whose memory holds the 4 bytes at p, then 4 zero bytes.
inline uint64_t raw32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) return uint64_t{v} << 32;
  return v;
}
inline uint64_t raw64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
}  // namespace fast_detail

namespace fast_detail {
// The IP and L4 part of decodeFast, for a frame whose IP header starts at kOff (a
// constant: the untagged and the tagged frame each get their own copy, with fixed
// offsets instead of a computed one).
template <uint32_t kOff>
[[gnu::always_inline]] inline bool decodeFastIp(const uint8_t* d, uint32_t caplen, uint16_t type,
                                                uint16_t vlan, FastPacket* f) noexcept {
  constexpr uint32_t off = kOff;
  uint32_t l4;   // L4 header
  uint32_t end;  // one past the IP packet
  uint8_t proto;
  if (type == 0x0800) {
    if (off + 20 > caplen) return false;
    // Version 4 and IHL 5..15 in one compare: the byte is 0x45..0x4F.
    const uint32_t vihl = d[off];
    if (vihl - 0x45u > 0x0Au) return false;
    const uint32_t ihl = (vihl & 0x0F) * 4u;
    const uint32_t tot = rd16(d + off + 2);
    // Options are fine; a short or overlong total length is not the common case.
    if (tot < ihl || off + tot > caplen) return false;
    // MF or an offset: a fragment. The flags/offset field tested as stored (big-endian
    // 0x3FFF is bytes 3F FF), without swapping it.
    uint16_t frag;
    std::memcpy(&frag, d + off + 6, 2);
    if ((frag & bigEndian16(0x3FFF)) != 0) return false;
    proto = d[off + 9];
    f->src[0] = raw32(d + off + 12);
    f->src[1] = 0;
    f->dst[0] = raw32(d + off + 16);
    f->dst[1] = 0;
    f->version = 4;
    l4 = off + ihl;
    end = off + tot;
  } else if (type == 0x86DD) {
    if (off + 40 > caplen || (d[off] >> 4) != 6) return false;
    const uint32_t plen = rd16(d + off + 4);
    // 0 = jumbogram or a TSO capture: decodePacket trusts the frame; not ours.
    if (plen == 0 || off + 40 + plen > caplen) return false;
    proto = d[off + 6];  // TCP/UDP right after the fixed header: no extension headers
    f->src[0] = raw64(d + off + 8);
    f->src[1] = raw64(d + off + 16);
    f->dst[0] = raw64(d + off + 24);
    f->dst[1] = raw64(d + off + 32);
    f->version = 6;
    l4 = off + 40;
    end = l4 + plen;
  } else {
    return false;
  }
  const uint32_t avail = end - l4;
  if (proto == kIpProtoTcp) {
    if (avail < 20) return false;
    const uint32_t doff = (d[l4 + 12] >> 4) * 4u;
    if (doff < 20 || doff > avail) return false;
    f->tcp_flags = d[l4 + 13];
    f->payload_offset = static_cast<uint16_t>(l4 + doff);
    f->payload_len = static_cast<uint16_t>(avail - doff);
  } else if (proto == kIpProtoUdp) {
    if (avail < 8) return false;
    const uint32_t ulen = rd16(d + l4 + 4);
    if (ulen < 8 || ulen > avail) return false;
    // A tunnel's outer packet: decodePacket would open it (the same predicate).
    if (udpMayCarryTunnel(rd16(d + l4), rd16(d + l4 + 2))) return false;
    f->tcp_flags = 0;
    f->payload_offset = static_cast<uint16_t>(l4 + 8);
    f->payload_len = static_cast<uint16_t>(ulen - 8);
  } else {
    return false;
  }
  f->sport = rd16(d + l4);
  f->dport = rd16(d + l4 + 2);
  f->vlan_id = vlan;
  f->l3_offset = static_cast<uint16_t>(off);
  f->proto = proto;
  return true;
}
}  // namespace fast_detail

// Decodes data[0, caplen) if it is the common case; false = use decodePacket.
[[gnu::always_inline]] inline bool decodeFast(const uint8_t* d, uint32_t caplen, FastPacket* f) noexcept {
  using fast_detail::rd16;
  // decodePacket cuts larger frames to 64 KiB and may then call them truncated.
  if (caplen > 0xFFFF || caplen < 14) return false;
  const uint16_t type = rd16(d + 12);
  if (type != 0x8100) {
    return fast_detail::decodeFastIp<14>(d, caplen, type, 0, f);
  }
  // One 802.1Q tag; stacks (QinQ, 802.1ad) go to decodePacket.
  if (caplen < 18) return false;
  return fast_detail::decodeFastIp<18>(d, caplen, rd16(d + 16), rd16(d + 14) & 0x0FFF, f);
}

}  // namespace xborder::dp
