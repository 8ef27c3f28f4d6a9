// What the decoder learns about one frame: L2 tags, the outer IP layer with its L4,
// and, when a tunnel was decapsulated, the inner IP layer. Offsets are from the
// first byte of the frame, so later stages can point nDPI at an L3 header.
#pragma once

#include <cstdint>

#include "dataplane/base/drop_reason.h"

namespace xborder::dp {

enum class Tunnel : uint8_t { kNone = 0, kGre, kVxlan, kGtpU, kIpInIp, kCapwap };
inline constexpr const char* kTunnelNames[] = {"none", "gre", "vxlan", "gtp-u", "ip-in-ip",
                                               "capwap"};
inline constexpr uint32_t kTunnelCount = 6;

enum class Frag : uint8_t { kNone = 0, kFirst = 1, kLater = 2 };

// Well-known protocol numbers used across stages.
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpProtoSctp = 132;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

// One IP header and what follows it. IPv4 addresses sit in the first 4 bytes of
// src/dst, the other 12 are zero.
struct IpLayer {
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t l3_offset;       // IP header
  uint16_t l3_end;          // one past the last IP byte we can read (<= caplen)
  uint16_t payload_offset;  // L4 payload (0 when there is no L4 header)
  uint16_t payload_len;
  uint16_t sport;  // 0 for ICMP, SCTP and other L4-less flows (as ndpiReader)
  uint16_t dport;
  uint32_t frag_id;  // IPv4 id or IPv6 fragment-header id
  uint8_t version;   // 4 or 6
  uint8_t proto;     // last next-header (TCP, UDP, ...)
  uint8_t tcp_flags;
  uint8_t icmp_type;
  uint8_t icmp_code;
  Frag frag;
  bool has_l4;     // ports and payload are valid
  bool truncated;  // the capture (or first mbuf segment) is shorter than the IP length
};

struct PacketMeta {
  IpLayer outer;
  IpLayer inner;      // valid when ip_layers == 2
  uint8_t ip_layers;  // 0: not IP (ARP, LLDP, ...), 1: outer only, 2: tunnel decapsulated
  Tunnel tunnel;
  uint16_t vlan_id;  // innermost 802.1Q/802.1ad tag (the oracle's choice), 0 = none
  uint8_t vlan_count;
  uint8_t mpls_count;
  bool pppoe;
  bool gre_key_present;
  uint32_t tunnel_id;  // GRE key, VXLAN VNI or GTP TEID
  Reason reason;       // fatal: the packet is not attributed to a flow
  Reason anomaly;      // non-fatal oddity (e.g. a bad inner header): counted only
};

}  // namespace xborder::dp
