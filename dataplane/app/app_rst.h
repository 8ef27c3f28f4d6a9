// TCP RST frames for a flow blocked inline (issue 5, contract item 8). The builder is
// pure byte work (no DPDK) so it is unit-tested without EAL; the worker copies its
// output into mbufs and sends one frame back out the port the judged packet came in
// on and one out the peer port.
//
// The judged packet P (seq S, ack A, segment length L) is dropped, so its receiver
// never saw it and still expects S: the RST toward the receiver carries seq S (exactly
// RCV.NXT, the only value RFC 5961 accepts without a challenge ACK) and, when P had
// ACK, ack A. The RST toward P's sender impersonates the receiver: seq A (the sender's
// RCV.NXT), ack S + L, RST|ACK; for a SYN (no ACK) it is seq 0, ack S + 1, the answer
// RFC 793 gives to a SYN in SYN-SENT.
//
// The L2 header is copied (VLAN tags preserved); the frame toward the sender swaps the
// MAC addresses. Frames that are not plain Ethernet/VLAN + IPv4/IPv6 + TCP (tunnels,
// MPLS, PPPoE, fragments, an unreadable TCP header) get no RST: the block still holds.
#pragma once

#include <cstdint>

namespace xborder::dp::app {

// Largest RST frame: Ethernet + 4 VLAN tags + IPv6 + TCP (no options).
inline constexpr uint32_t kRstMaxFrame = 14 + 4 * 4 + 40 + 20;

struct RstFrames {
  uint8_t to_sender[kRstMaxFrame];    // back toward P's sender (out P's rx port)
  uint8_t to_receiver[kRstMaxFrame];  // on toward P's receiver (out the peer port)
  uint32_t sender_len = 0;
  uint32_t receiver_len = 0;
};

// Builds both RSTs answering `frame` (the packet being judged). Returns false (and
// builds nothing) when the frame is not one the RST can be built for (see above).
// No allocation, no exceptions.
bool buildRstFrames(const uint8_t* frame, uint32_t caplen, uint32_t wirelen,
                    RstFrames* out) noexcept;

}  // namespace xborder::dp::app
