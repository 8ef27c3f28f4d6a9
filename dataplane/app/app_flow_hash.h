// Symmetric flow hash for the software hand-off (ports without RSS): the rx lcore
// hashes the outer 5-tuple so both directions of a flow reach the same worker.
// Cheap by design: a few loads, XORs and one 32-bit finaliser; no full decode (the
// Engine decodes properly on the owning worker). Non-IP frames hash to 0.
#pragma once

#include <cstdint>
#include <cstring>

namespace xborder::dp::app {

inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// MurmurHash3 fmix32: spreads the XOR-combined tuple over every bit.
inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// Hash of (addresses, ports, protocol) that is equal for A->B and B->A: XOR is
// commutative, so each endpoint pair is folded before mixing.
inline uint32_t symmetricFlowHash(const uint8_t* frame, uint32_t len) {
  uint32_t off = 12;
  if (len < off + 2) {
    return 0;
  }
  uint16_t type = static_cast<uint16_t>(frame[off] << 8 | frame[off + 1]);
  // Up to two VLAN tags (802.1Q, 802.1ad / QinQ).
  for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); ++i) {
    off += 4;
    if (len < off + 2) {
      return 0;
    }
    type = static_cast<uint16_t>(frame[off] << 8 | frame[off + 1]);
  }
  off += 2;  // first byte of the L3 header
  uint32_t addr = 0;
  uint8_t proto = 0;
  uint32_t l4 = 0;
  bool has_ports = false;
  if (type == 0x0800) {
    if (len < off + 20) {
      return 0;
    }
    const uint8_t* ip = frame + off;
    const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
    proto = ip[9];
    addr = load32(ip + 12) ^ load32(ip + 16);
    const uint32_t frag_offset = static_cast<uint32_t>((ip[6] & 0x1fu) << 8 | ip[7]);
    l4 = off + ihl;
    // Only a first fragment (offset 0) carries the ports, like any unfragmented packet
    // of the same flow; later fragments hash on addresses (the Engine drops them anyway).
    has_ports = frag_offset == 0 && ihl >= 20;
  } else if (type == 0x86dd) {
    if (len < off + 40) {
      return 0;
    }
    const uint8_t* ip = frame + off;
    proto = ip[6];
    for (int i = 0; i < 8; ++i) {
      addr ^= load32(ip + 8 + 4 * i);
    }
    l4 = off + 40;
    has_ports = true;  // an extension header (e.g. fragment) makes proto non-TCP/UDP below
  } else {
    return 0;
  }
  uint32_t ports = 0;
  if (has_ports && (proto == 6 || proto == 17 || proto == 132) && len >= l4 + 4) {
    const uint8_t* p = frame + l4;
    ports = static_cast<uint32_t>(p[0] << 8 | p[1]) ^ static_cast<uint32_t>(p[2] << 8 | p[3]);
  }
  return fmix32(addr ^ fmix32(ports ^ (static_cast<uint32_t>(proto) << 16)));
}

}  // namespace xborder::dp::app
