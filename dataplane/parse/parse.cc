// The decoder. Every read is preceded by a bounds check against the end of what is
// readable; offsets are uint32_t so additions of header lengths cannot wrap.
#include "dataplane/parse/parse.h"

#include <cstring>

namespace xborder::dp {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86DD;
constexpr uint16_t kEthVlan = 0x8100;
constexpr uint16_t kEthQinQ = 0x88A8;
constexpr uint16_t kEthQinQOld = 0x9100;
constexpr uint16_t kEthMplsUc = 0x8847;
constexpr uint16_t kEthMplsMc = 0x8848;
constexpr uint16_t kEthPppoeSession = 0x8864;
constexpr uint16_t kEthTeb = 0x6558;  // transparent Ethernet bridging (GRE)

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// Ethernet + tags from `off`. On success *etype is the L3 ethertype (0 when the
// frame carries no IP) and *l3_off where it starts. `outer` frames set the VLAN id.
Reason parseL2(const uint8_t* d, uint32_t caplen, uint32_t off, bool outer, PacketMeta* m,
               uint32_t* l3_off, uint16_t* etype) {
  if (off + 14 > caplen) {
    return Reason::kTruncatedEthernet;
  }
  uint16_t type = rd16(d + off + 12);
  off += 14;
  if (type <= 1500) {  // 802.3 length: only LLC/SNAP can carry IP
    if (off + 8 <= caplen && d[off] == 0xAA && d[off + 1] == 0xAA) {
      type = rd16(d + off + 6);
      off += 8;
    } else {
      *etype = 0;
      *l3_off = off;
      return Reason::kNone;
    }
  }
  uint32_t tags = 0;
  for (;;) {
    switch (type) {
      case kEthVlan:
      case kEthQinQ:
      case kEthQinQOld:
        if (++tags > kMaxVlanTags) {
          return Reason::kVlanTooDeep;
        }
        if (off + 4 > caplen) {
          return Reason::kTruncatedVlan;
        }
        if (outer) {
          m->vlan_id = rd16(d + off) & 0x0FFF;  // innermost tag wins, as in ndpiReader
          m->vlan_count++;
        }
        type = rd16(d + off + 2);
        off += 4;
        continue;
      case kEthMplsUc:
      case kEthMplsMc: {
        for (uint32_t n = 0;; ++n) {
          if (n >= kMaxMplsLabels) {
            return Reason::kMplsTooDeep;
          }
          if (off + 4 > caplen) {
            return Reason::kTruncatedMpls;
          }
          const bool bottom = (d[off + 2] & 0x01) != 0;
          off += 4;
          if (outer) {
            m->mpls_count++;
          }
          if (bottom) {
            break;
          }
        }
        if (off >= caplen) {
          return Reason::kTruncatedMpls;
        }
        // MPLS does not say what it carries; the IP version nibble does.
        const uint8_t nibble = d[off] >> 4;
        *etype = nibble == 4 ? kEthIpv4 : nibble == 6 ? kEthIpv6 : 0;
        *l3_off = off;
        return Reason::kNone;
      }
      case kEthPppoeSession: {
        if (off + 8 > caplen) {
          return Reason::kTruncatedPppoe;
        }
        if (d[off] != 0x11 || d[off + 1] != 0x00) {  // version 1, type 1, code 0 (session)
          return Reason::kBadPppoe;
        }
        const uint16_t ppp = rd16(d + off + 6);
        off += 8;
        if (outer) {
          m->pppoe = true;
        }
        *etype = ppp == 0x0021 ? kEthIpv4 : ppp == 0x0057 ? kEthIpv6 : 0;
        *l3_off = off;
        return Reason::kNone;
      }
      default:
        *etype = type;
        *l3_off = off;
        return Reason::kNone;
    }
  }
}

// L4 header at [p, end). Fatal problems are returned; oddities go to *anomaly.
Reason parseL4(const uint8_t* d, uint32_t p, uint32_t end, IpLayer* L, Reason* anomaly) {
  const uint32_t avail = end > p ? end - p : 0;
  L->payload_offset = static_cast<uint16_t>(p);
  L->payload_len = static_cast<uint16_t>(avail);
  switch (L->proto) {
    case kIpProtoTcp: {
      if (avail < 20) {
        if (L->truncated) {
          return Reason::kTruncatedTcp;  // cut by the capture: ports unknown
        }
        // The IP length itself ends inside the TCP header (e.g. a tiny first
        // fragment): tracked as a port-less flow, as ndpiReader does.
        *anomaly = Reason::kTruncatedTcp;
        return Reason::kNone;
      }
      L->sport = rd16(d + p);
      L->dport = rd16(d + p + 2);
      L->tcp_flags = d[p + 13];
      L->has_l4 = true;
      const uint32_t doff = (d[p + 12] >> 4) * 4u;
      if (doff < 20 || doff > avail) {
        *anomaly = Reason::kBadTcpOffset;  // keep the ports; no payload
        L->payload_offset = static_cast<uint16_t>(end);
        L->payload_len = 0;
        return Reason::kNone;
      }
      L->payload_offset = static_cast<uint16_t>(p + doff);
      L->payload_len = static_cast<uint16_t>(avail - doff);
      return Reason::kNone;
    }
    case kIpProtoUdp: {
      if (avail < 8) {
        if (L->truncated) {
          return Reason::kTruncatedUdp;
        }
        *anomaly = Reason::kTruncatedUdp;
        return Reason::kNone;
      }
      const uint32_t ulen = rd16(d + p + 4);
      L->sport = rd16(d + p);
      L->dport = rd16(d + p + 2);
      L->payload_offset = static_cast<uint16_t>(p + 8);
      uint32_t plen = avail - 8;
      if (ulen < 8 || (ulen > avail && !L->truncated)) {
        *anomaly = Reason::kBadUdpLength;  // ndpiReader keeps these: so do we
      } else if (ulen - 8 < plen) {
        plen = ulen - 8;
      }
      L->payload_len = static_cast<uint16_t>(plen);
      L->has_l4 = true;
      return Reason::kNone;
    }
    case kIpProtoIcmp:
    case kIpProtoIcmpv6:
      if (avail < 4) {
        *anomaly = Reason::kTruncatedIcmp;
      }
      if (avail >= 2) {
        L->icmp_type = d[p];
        L->icmp_code = d[p + 1];
      }
      return Reason::kNone;
    case kIpProtoSctp:
      // Tracked as an L4-less flow (ports 0), like ndpiReader does.
      if (avail < 12) {
        *anomaly = Reason::kTruncatedSctp;
      }
      return Reason::kNone;
    default:
      return Reason::kNone;
  }
}

Reason parseIpv4(const uint8_t* d, uint32_t caplen, bool cut, uint32_t off, IpLayer* L,
                 Reason* anomaly) {
  if (off + 20 > caplen) {
    return Reason::kTruncatedIpv4;
  }
  if ((d[off] >> 4) != 4) {
    return Reason::kBadIpv4Version;
  }
  const uint32_t ihl = (d[off] & 0x0F) * 4u;
  if (ihl < 20) {
    return Reason::kBadIpv4Ihl;
  }
  if (off + ihl > caplen) {
    return Reason::kTruncatedIpv4;
  }
  const uint32_t tot = rd16(d + off + 2);
  if (tot < ihl) {
    return Reason::kBadIpv4Length;
  }
  uint32_t end = off + tot;
  if (end > caplen) {
    if (!cut) {
      return Reason::kBadIpv4Length;  // claims more bytes than the frame holds
    }
    L->truncated = true;
    end = caplen;
  }
  L->version = 4;
  L->l3_offset = static_cast<uint16_t>(off);
  L->l3_end = static_cast<uint16_t>(end);
  std::memcpy(L->src, d + off + 12, 4);
  std::memcpy(L->dst, d + off + 16, 4);
  L->proto = d[off + 9];
  L->frag_id = rd16(d + off + 4);
  const uint16_t fo = rd16(d + off + 6);
  if ((fo & 0x1FFF) != 0) {
    L->frag = Frag::kLater;  // no L4 header here
    return Reason::kNone;
  }
  if ((fo & 0x2000) != 0) {
    L->frag = Frag::kFirst;
  }
  return parseL4(d, off + ihl, end, L, anomaly);
}

Reason parseIpv6(const uint8_t* d, uint32_t caplen, bool cut, uint32_t off, IpLayer* L,
                 Reason* anomaly) {
  if (off + 40 > caplen) {
    return Reason::kTruncatedIpv6;
  }
  if ((d[off] >> 4) != 6) {
    return Reason::kBadIpv6Version;
  }
  const uint32_t plen = rd16(d + off + 4);
  uint32_t end = off + 40 + plen;
  if (plen == 0) {
    end = caplen;  // jumbogram or a TSO capture: trust the frame
  } else if (end > caplen) {
    if (!cut) {
      return Reason::kBadIpv6Length;
    }
    L->truncated = true;
    end = caplen;
  }
  L->version = 6;
  L->l3_offset = static_cast<uint16_t>(off);
  L->l3_end = static_cast<uint16_t>(end);
  std::memcpy(L->src, d + off + 8, 16);
  std::memcpy(L->dst, d + off + 24, 16);
  uint8_t nh = d[off + 6];
  uint32_t p = off + 40;
  for (uint32_t n = 0;; ++n) {
    uint32_t len = 0;
    switch (nh) {
      case 0:    // hop-by-hop
      case 43:   // routing
      case 60:   // destination options
      case 135:  // mobility
      case 139:  // HIP
      case 140:  // shim6
        if (p + 2 > end) {
          return Reason::kTruncatedIpv6ExtHdr;
        }
        len = (d[p + 1] + 1u) * 8u;
        break;
      case 51:  // AH: length in 4-byte units, minus 2
        if (p + 2 > end) {
          return Reason::kTruncatedIpv6ExtHdr;
        }
        len = (d[p + 1] + 2u) * 4u;
        break;
      case 44: {  // fragment
        if (p + 8 > end) {
          return Reason::kTruncatedIpv6ExtHdr;
        }
        const uint16_t fo = rd16(d + p + 2);
        L->frag_id = rd32(d + p + 4);
        if ((fo >> 3) != 0) {
          L->proto = d[p];
          L->frag = Frag::kLater;
          return Reason::kNone;
        }
        if ((fo & 1) != 0) {
          L->frag = Frag::kFirst;
        }
        len = 8;
        break;
      }
      case 59:  // no next header
        L->proto = 59;
        return Reason::kNone;
      default:
        L->proto = nh;
        return parseL4(d, p, end, L, anomaly);
    }
    if (n + 1 > kMaxIpv6ExtHeaders) {
      return Reason::kIpv6ExtHdrTooMany;
    }
    if (p + len > end) {
      return Reason::kTruncatedIpv6ExtHdr;
    }
    nh = d[p];
    p += len;
  }
}

Reason parseIp(const uint8_t* d, uint32_t caplen, bool cut, uint32_t off, uint16_t etype,
               IpLayer* L, Reason* anomaly) {
  std::memset(L, 0, sizeof(*L));
  return etype == kEthIpv4 ? parseIpv4(d, caplen, cut, off, L, anomaly)
                           : parseIpv6(d, caplen, cut, off, L, anomaly);
}

// Looks for a tunnel in the outer layer; on success fills *etype/*l3_off for the
// inner IP header and returns the tunnel type (kNone: nothing to decapsulate).
Tunnel findTunnel(const uint8_t* d, const IpLayer& L, PacketMeta* m, uint32_t* l3_off,
                  uint16_t* etype, Reason* anomaly) {
  if (L.frag == Frag::kLater) {
    return Tunnel::kNone;
  }
  const uint32_t p = L.payload_offset;
  const uint32_t end = L.l3_end;
  const uint32_t avail = end > p ? end - p : 0;
  if (L.proto == 4 || L.proto == 41) {
    *etype = L.proto == 4 ? kEthIpv4 : kEthIpv6;
    *l3_off = p;
    return Tunnel::kIpInIp;
  }
  if (L.proto == 47) {
    if (avail < 4) {
      *anomaly = Reason::kTruncatedGre;
      return Tunnel::kNone;
    }
    const uint16_t flags = rd16(d + p);
    const uint16_t ptype = rd16(d + p + 2);
    if ((flags & 0x0007) != 0) {
      return Tunnel::kNone;  // GRE v1 (PPTP) carries PPP: keep the outer flow only
    }
    if ((flags & 0x4000) != 0) {
      *anomaly = Reason::kBadGre;  // source routing is deprecated (RFC 2784)
      return Tunnel::kNone;
    }
    uint32_t hl = 4;
    if ((flags & 0x8000) != 0) {
      hl += 4;  // checksum + reserved
    }
    const uint32_t key_at = hl;
    if ((flags & 0x2000) != 0) {
      hl += 4;
    }
    if ((flags & 0x1000) != 0) {
      hl += 4;  // sequence number
    }
    if (hl > avail) {
      *anomaly = Reason::kTruncatedGre;
      return Tunnel::kNone;
    }
    if ((flags & 0x2000) != 0) {
      m->gre_key_present = true;
      m->tunnel_id = rd32(d + p + key_at);
    }
    if (ptype == kEthIpv4 || ptype == kEthIpv6) {
      *etype = ptype;
      *l3_off = p + hl;
      return Tunnel::kGre;
    }
    if (ptype == kEthTeb) {
      const Reason r = parseL2(d, end, p + hl, false, m, l3_off, etype);
      if (r != Reason::kNone) {
        *anomaly = r;
        return Tunnel::kNone;
      }
      return (*etype == kEthIpv4 || *etype == kEthIpv6) ? Tunnel::kGre : Tunnel::kNone;
    }
    return Tunnel::kNone;  // ERSPAN, WCCP, ...: outer flow only
  }
  if (L.proto != kIpProtoUdp || !L.has_l4 || !udpMayCarryTunnel(L.sport, L.dport)) {
    return Tunnel::kNone;
  }
  if (L.dport == kVxlanPort) {
    if (avail < 8) {
      *anomaly = Reason::kTruncatedVxlan;
      return Tunnel::kNone;
    }
    if ((d[p] & 0x08) == 0) {
      return Tunnel::kNone;  // VNI flag not set: not VXLAN
    }
    m->tunnel_id = rd32(d + p + 4) >> 8;
    const Reason r = parseL2(d, end, p + 8, false, m, l3_off, etype);
    if (r != Reason::kNone) {
      *anomaly = r;
      return Tunnel::kNone;
    }
    return (*etype == kEthIpv4 || *etype == kEthIpv6) ? Tunnel::kVxlan : Tunnel::kNone;
  }
  if (L.sport == kGtpUPort || L.dport == kGtpUPort) {
    if (avail < 8) {
      *anomaly = Reason::kTruncatedGtp;
      return Tunnel::kNone;
    }
    const uint8_t flags = d[p];
    if ((flags >> 5) != 1 || d[p + 1] != 0xFF) {
      return Tunnel::kNone;  // not GTPv1 T-PDU (echo, error indication, ...)
    }
    m->tunnel_id = rd32(d + p + 4);
    uint32_t off = 8;
    if ((flags & 0x07) != 0) {
      off += 4;  // sequence number, N-PDU number, next extension type
    }
    if ((flags & 0x04) != 0) {
      if (off > avail) {
        *anomaly = Reason::kTruncatedGtp;
        return Tunnel::kNone;
      }
      uint8_t next = d[p + off - 1];
      for (uint32_t n = 0; next != 0; ++n) {
        if (n >= 8 || off >= avail) {
          *anomaly = Reason::kBadGtp;
          return Tunnel::kNone;
        }
        const uint32_t len = d[p + off] * 4u;
        if (len == 0 || off + len > avail) {
          *anomaly = Reason::kBadGtp;
          return Tunnel::kNone;
        }
        off += len;
        next = d[p + off - 1];
      }
    }
    if (off >= avail) {
      *anomaly = Reason::kTruncatedGtp;
      return Tunnel::kNone;
    }
    const uint8_t v = d[p + off] >> 4;
    if (v != 4 && v != 6) {
      return Tunnel::kNone;
    }
    *etype = v == 4 ? kEthIpv4 : kEthIpv6;
    *l3_off = p + off;
    return Tunnel::kGtpU;
  }
  if (L.sport == kCapwapDataPort || L.dport == kCapwapDataPort) {
    // CAPWAP data carrying native 802.11 frames (RFC 5415), decoded as ndpiReader -t.
    if (avail < 2 || (d[p] & 0x0F) != 0) {
      return Tunnel::kNone;
    }
    const uint32_t hlen = (d[p + 1] & 0xF8) >> 1;
    const uint32_t off = hlen + 24;  // CAPWAP header + 802.11 data header
    if (off + 8 + 1 > avail) {
      *anomaly = Reason::kTruncatedCapwap;
      return Tunnel::kNone;
    }
    const uint16_t type = rd16(d + p + off + 6);  // LLC/SNAP ethertype
    if (type != kEthIpv4 && type != kEthIpv6) {
      return Tunnel::kNone;
    }
    *etype = type;
    *l3_off = p + off + 8;
    return Tunnel::kCapwap;
  }
  return Tunnel::kNone;
}

}  // namespace

Reason decodePacket(const uint8_t* data, uint32_t caplen, uint32_t wirelen,
                    const DecodeOptions& opts, PacketMeta* m) noexcept {
  m->ip_layers = 0;
  m->tunnel = Tunnel::kNone;
  m->vlan_id = 0;
  m->vlan_count = 0;
  m->mpls_count = 0;
  m->pppoe = false;
  m->gre_key_present = false;
  m->tunnel_id = 0;
  m->anomaly = Reason::kNone;
  // Offsets are stored as uint16_t: larger frames are cut to what fits (jumbo
  // frames up to 64 KiB are still fully decoded).
  if (caplen > 0xFFFF) {
    caplen = 0xFFFF;
  }
  const bool cut = wirelen > caplen;
  uint32_t l3_off = 0;
  uint16_t etype = 0;
  Reason r = parseL2(data, caplen, 0, true, m, &l3_off, &etype);
  if (r != Reason::kNone || (etype != kEthIpv4 && etype != kEthIpv6)) {
    return m->reason = r;
  }
  r = parseIp(data, caplen, cut, l3_off, etype, &m->outer, &m->anomaly);
  if (r != Reason::kNone) {
    return m->reason = r;
  }
  m->ip_layers = 1;
  if (!opts.decap_tunnels) {
    return m->reason = Reason::kNone;
  }
  const Tunnel t = findTunnel(data, m->outer, m, &l3_off, &etype, &m->anomaly);
  if (t == Tunnel::kNone) {
    return m->reason = Reason::kNone;
  }
  m->tunnel = t;
  Reason inner_anomaly = Reason::kNone;
  const uint32_t inner_cap = m->outer.l3_end;  // the inner packet ends where the outer does
  r = parseIp(data, inner_cap, m->outer.truncated, l3_off, etype, &m->inner, &inner_anomaly);
  if (r != Reason::kNone) {
    m->anomaly = r;  // a broken inner packet still belongs to the outer flow
    return m->reason = Reason::kNone;
  }
  if (inner_anomaly != Reason::kNone) {
    m->anomaly = inner_anomaly;
  }
  m->ip_layers = 2;
  // One level of decapsulation is tracked; note deeper nesting.
  PacketMeta scratch;
  scratch.tunnel_id = 0;
  uint32_t off2 = 0;
  uint16_t et2 = 0;
  Reason ignored = Reason::kNone;
  if (findTunnel(data, m->inner, &scratch, &off2, &et2, &ignored) != Tunnel::kNone) {
    m->anomaly = Reason::kTunnelNested;
  }
  return m->reason = Reason::kNone;
}

}  // namespace xborder::dp
