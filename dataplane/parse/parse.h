// Bounds-checked decoder over a captured frame. Never reads past caplen; every
// rejection carries a named Reason. No allocation, no exceptions, no syscalls.
#pragma once

#include <cstdint>

#include "dataplane/parse/packet_meta.h"

namespace xborder::dp {

struct DecodeOptions {
  bool decap_tunnels = true;  // GRE, VXLAN, GTP-U, CAPWAP, IP-in-IP
};

// Limits that stop hostile nesting.
inline constexpr uint32_t kMaxVlanTags = 4;
inline constexpr uint32_t kMaxMplsLabels = 8;
inline constexpr uint32_t kMaxIpv6ExtHeaders = 8;

inline constexpr uint16_t kVxlanPort = 4789;
inline constexpr uint16_t kGtpUPort = 2152;
inline constexpr uint16_t kCapwapDataPort = 5247;

// UDP ports at which decodePacket looks inside for a tunnel: VXLAN by destination port,
// GTP-U and CAPWAP data by either. The one list, shared with decodeFast.
inline constexpr bool udpMayCarryTunnel(uint16_t sport, uint16_t dport) noexcept {
  return dport == kVxlanPort || sport == kGtpUPort || dport == kGtpUPort ||
         sport == kCapwapDataPort || dport == kCapwapDataPort;
}

// Decodes data[0, caplen). wirelen > caplen tells the decoder the frame was cut
// (snaplen or first mbuf segment), which is not a malformation. Returns
// meta->reason (Reason::kNone when the packet can be tracked).
Reason decodePacket(const uint8_t* data, uint32_t caplen, uint32_t wirelen,
                    const DecodeOptions& opts, PacketMeta* meta) noexcept;

}  // namespace xborder::dp
