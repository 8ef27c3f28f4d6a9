// Why the decoder rejected a packet, or why the engine dropped one. One X-macro list
// (as VPP error lists and grout drop nodes) gives the enum, the kebab-case runtime
// names used in counters and logs, and the count, from a single place.
#pragma once

#include <cstdint>
#include <string_view>

namespace xborder::dp {

// X(EnumName, "runtime-name")
#define XB_DP_REASONS(X)                                              \
  X(kNone, "none")                                                    \
  X(kTruncatedEthernet, "parse-truncated-ethernet")                   \
  X(kTruncatedVlan, "parse-truncated-vlan")                           \
  X(kVlanTooDeep, "parse-vlan-too-deep")                              \
  X(kTruncatedMpls, "parse-truncated-mpls")                           \
  X(kMplsTooDeep, "parse-mpls-too-deep")                              \
  X(kTruncatedPppoe, "parse-truncated-pppoe")                         \
  X(kBadPppoe, "parse-bad-pppoe")                                     \
  X(kTruncatedIpv4, "parse-truncated-ipv4")                           \
  X(kBadIpv4Version, "parse-bad-ipv4-version")                        \
  X(kBadIpv4Ihl, "parse-bad-ipv4-ihl")                                \
  X(kBadIpv4Length, "parse-bad-ipv4-length")                          \
  X(kTruncatedIpv6, "parse-truncated-ipv6")                           \
  X(kBadIpv6Version, "parse-bad-ipv6-version")                        \
  X(kBadIpv6Length, "parse-bad-ipv6-length")                          \
  X(kTruncatedIpv6ExtHdr, "parse-truncated-ipv6-exthdr")              \
  X(kIpv6ExtHdrTooMany, "parse-ipv6-exthdr-too-many")                 \
  X(kTruncatedTcp, "parse-truncated-tcp")                             \
  X(kBadTcpOffset, "parse-bad-tcp-offset")                            \
  X(kTruncatedUdp, "parse-truncated-udp")                             \
  X(kBadUdpLength, "parse-bad-udp-length")                            \
  X(kTruncatedIcmp, "parse-truncated-icmp")                           \
  X(kTruncatedSctp, "parse-truncated-sctp")                           \
  X(kTruncatedGre, "parse-truncated-gre")                             \
  X(kBadGre, "parse-bad-gre")                                         \
  X(kTruncatedVxlan, "parse-truncated-vxlan")                         \
  X(kTruncatedGtp, "parse-truncated-gtp")                             \
  X(kBadGtp, "parse-bad-gtp")                                         \
  X(kTruncatedCapwap, "parse-truncated-capwap")                       \
  X(kTunnelNested, "parse-tunnel-nested")                             \
  X(kTableFull, "flow-table-full")

enum class Reason : uint8_t {
#define XB_DP_REASON_ENUM(name, str) name,
  XB_DP_REASONS(XB_DP_REASON_ENUM)
#undef XB_DP_REASON_ENUM
};

inline constexpr std::string_view kReasonNames[] = {
#define XB_DP_REASON_NAME(name, str) str,
    XB_DP_REASONS(XB_DP_REASON_NAME)
#undef XB_DP_REASON_NAME
};

inline constexpr uint32_t kReasonCount = sizeof(kReasonNames) / sizeof(kReasonNames[0]);

constexpr std::string_view reasonName(Reason r) {
  const auto i = static_cast<uint32_t>(r);
  return i < kReasonCount ? kReasonNames[i] : std::string_view("unknown");
}

// Reasons produced by the decoder (everything between kNone and kTableFull).
constexpr bool isMalformed(Reason r) { return r != Reason::kNone && r != Reason::kTableFull; }

}  // namespace xborder::dp
