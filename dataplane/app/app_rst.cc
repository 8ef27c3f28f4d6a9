#include "dataplane/app/app_rst.h"

#include <cstring>

#include "dataplane/parse/parse.h"

namespace xborder::dp::app {
namespace {

constexpr uint32_t kTcpHeader = 20;

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void wr16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void wr32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// RFC 1071 one's complement sum. DPDK's rte_raw_cksum would do, but the builder stays
// DPDK-free so its unit test needs no EAL; it runs twice per blocked flow, not per packet.
uint32_t sum16(const uint8_t* p, uint32_t n, uint32_t acc) {
  for (uint32_t i = 0; i + 1 < n; i += 2) acc += rd16(p + i);
  if (n & 1) acc += uint32_t{p[n - 1]} << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

// Start of the TCP header: the parser gives the payload offset; the header is the
// 20..60 bytes before it whose ports and data offset agree.
bool tcpHeaderOffset(const uint8_t* d, uint32_t caplen, const IpLayer& L, uint32_t* off) {
  for (uint32_t hl = 20; hl <= 60 && hl <= L.payload_offset; hl += 4) {
    const uint32_t t = L.payload_offset - hl;
    if (t < L.l3_offset || t + kTcpHeader > caplen) continue;
    if ((d[t + 12] >> 4) * 4u == hl && rd16(d + t) == L.sport && rd16(d + t + 2) == L.dport) {
      *off = t;
      return true;
    }
  }
  return false;
}

// One RST: l2 header copied from the judged frame (MACs swapped when `swap_mac`),
// then a fresh IP header (no options / extension headers) and a bare TCP header.
uint32_t writeRst(const uint8_t* frame, const IpLayer& L, bool swap_mac, bool reverse,
                  uint32_t seq, uint32_t ack, uint8_t flags, uint8_t* out) {
  const uint32_t l2 = L.l3_offset;
  std::memcpy(out, frame, l2);
  if (swap_mac) {
    std::memcpy(out, frame + 6, 6);
    std::memcpy(out + 6, frame, 6);
  }
  const uint8_t* src = reverse ? L.dst : L.src;
  const uint8_t* dst = reverse ? L.src : L.dst;
  const uint16_t sport = reverse ? L.dport : L.sport;
  const uint16_t dport = reverse ? L.sport : L.dport;
  uint8_t* ip = out + l2;
  uint32_t ip_len = 0;
  uint32_t pseudo = 0;
  if (L.version == 4) {
    ip_len = 20;
    std::memset(ip, 0, ip_len);
    ip[0] = 0x45;
    wr16(ip + 2, static_cast<uint16_t>(ip_len + kTcpHeader));
    wr16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = kIpProtoTcp;
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    wr16(ip + 10, fold(sum16(ip, ip_len, 0)));
    pseudo = sum16(src, 4, 0);
    pseudo = sum16(dst, 4, pseudo);
  } else {
    ip_len = 40;
    std::memset(ip, 0, ip_len);
    ip[0] = 0x60;
    wr16(ip + 4, kTcpHeader);
    ip[6] = kIpProtoTcp;
    ip[7] = 64;
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, dst, 16);
    pseudo = sum16(src, 16, 0);
    pseudo = sum16(dst, 16, pseudo);
  }
  uint8_t* tcp = ip + ip_len;
  std::memset(tcp, 0, kTcpHeader);
  wr16(tcp, sport);
  wr16(tcp + 2, dport);
  wr32(tcp + 4, seq);
  wr32(tcp + 8, ack);
  tcp[12] = static_cast<uint8_t>((kTcpHeader / 4) << 4);
  tcp[13] = flags;
  pseudo += kIpProtoTcp + kTcpHeader;
  wr16(tcp + 16, fold(sum16(tcp, kTcpHeader, pseudo)));
  return l2 + ip_len + kTcpHeader;
}

}  // namespace

bool buildRstFrames(const uint8_t* frame, uint32_t caplen, uint32_t wirelen,
                    RstFrames* out) noexcept {
  PacketMeta m;
  DecodeOptions opts;
  opts.decap_tunnels = false;  // a RST inside a tunnel would need the tunnel rebuilt
  if (decodePacket(frame, caplen, wirelen, opts, &m) != Reason::kNone) return false;
  if (m.ip_layers != 1 || m.tunnel != Tunnel::kNone || m.mpls_count != 0 || m.pppoe) return false;
  const IpLayer& L = m.outer;
  if (L.proto != kIpProtoTcp || !L.has_l4 || L.frag == Frag::kLater) return false;
  if ((L.tcp_flags & kTcpRst) != 0) return false;  // never answer a RST with a RST
  if (L.l3_offset + 40 + kTcpHeader > kRstMaxFrame) return false;
  uint32_t t = 0;
  if (!tcpHeaderOffset(frame, caplen, L, &t)) return false;
  const uint32_t seq = rd32(frame + t + 4);
  const uint32_t ack = rd32(frame + t + 8);
  const uint8_t flags = L.tcp_flags;
  // Segment length from the IP header (the frame may be cut by snaplen / first segment).
  const uint32_t doff = (frame[t + 12] >> 4) * 4u;
  uint32_t ip_payload = 0;
  if (L.version == 4) {
    const uint32_t ihl = (frame[L.l3_offset] & 0x0F) * 4u;
    ip_payload = rd16(frame + L.l3_offset + 2) - ihl;
  } else {
    ip_payload = rd16(frame + L.l3_offset + 4);
    if (ip_payload == 0) ip_payload = L.l3_end - L.l3_offset - 40u;
  }
  const uint32_t hdrs = (t - L.l3_offset) - (L.version == 4 ? (frame[L.l3_offset] & 0x0F) * 4u : 40u);
  uint32_t seg = ip_payload > hdrs + doff ? ip_payload - hdrs - doff : 0;
  seg += (flags & kTcpSyn) ? 1 : 0;
  seg += (flags & kTcpFin) ? 1 : 0;

  const bool had_ack = (flags & kTcpAck) != 0;
  out->receiver_len = writeRst(frame, L, /*swap_mac=*/false, /*reverse=*/false, seq,
                               had_ack ? ack : 0,
                               static_cast<uint8_t>(kTcpRst | (had_ack ? kTcpAck : 0)),
                               out->to_receiver);
  out->sender_len = writeRst(frame, L, /*swap_mac=*/true, /*reverse=*/true, had_ack ? ack : 0,
                             seq + seg, static_cast<uint8_t>(kTcpRst | kTcpAck), out->to_sender);
  return true;
}

}  // namespace xborder::dp::app
