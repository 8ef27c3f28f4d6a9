// The fast decoder's contract as one check, shared by dp_parse_fast_test and the decode
// fuzz target: if decodeFast accepts a frame, decodePacket must agree on everything the
// engine's known-flow path uses (see dataplane/parse/parse_fast.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane/flow/flow_key.h"
#include "dataplane/parse/parse.h"
#include "dataplane/parse/parse_fast.h"

namespace xborder::dp::test {

// Returns true when decodeFast rejects data[0, caplen) or decodePacket agrees with it
// (tunnels decapsulated or not, frame whole or cut by the capture); false and a reason
// in *why otherwise. *accepted tells whether decodeFast took the frame.
inline bool fastAgreesWithDecoder(const uint8_t* d, uint32_t caplen, bool* accepted,
                                  std::string* why) {
  FastPacket f;
  *accepted = decodeFast(d, caplen, &f);
  if (!*accepted) return true;
  auto fail = [&](const char* what, long a, long b) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%s: fast %ld, decodePacket %ld", what, a, b);
    *why = buf;
    return false;
  };
  for (int variant = 0; variant < 4; ++variant) {
    DecodeOptions o;
    o.decap_tunnels = (variant & 1) == 0;
    const uint32_t wirelen = (variant & 2) != 0 ? caplen + 1500 : caplen;
    PacketMeta m;
    const Reason r = decodePacket(d, caplen, wirelen, o, &m);
    const IpLayer& L = m.outer;
    if (r != Reason::kNone) return fail("reason", 0, static_cast<long>(r));
    if (m.anomaly != Reason::kNone) return fail("anomaly", 0, static_cast<long>(m.anomaly));
    if (m.ip_layers != 1) return fail("ip layers", 1, m.ip_layers);
    if (m.tunnel != Tunnel::kNone) return fail("tunnel", 0, static_cast<long>(m.tunnel));
    if (L.frag != Frag::kNone) return fail("fragment", 0, static_cast<long>(L.frag));
    if (L.truncated) return fail("truncated", 0, 1);
    if (!L.has_l4) return fail("has_l4", 1, 0);
    if (m.vlan_id != f.vlan_id) return fail("vlan", f.vlan_id, m.vlan_id);
    if (L.version != f.version) return fail("version", f.version, L.version);
    if (L.proto != f.proto) return fail("proto", f.proto, L.proto);
    if (std::memcmp(L.src, f.src, 16) != 0) return fail("src address", 0, 1);
    if (std::memcmp(L.dst, f.dst, 16) != 0) return fail("dst address", 0, 1);
    if (L.sport != f.sport) return fail("sport", f.sport, L.sport);
    if (L.dport != f.dport) return fail("dport", f.dport, L.dport);
    if (L.tcp_flags != f.tcp_flags) return fail("tcp flags", f.tcp_flags, L.tcp_flags);
    if (L.l3_offset != f.l3_offset) return fail("l3 offset", f.l3_offset, L.l3_offset);
    if (L.payload_offset != f.payload_offset) {
      return fail("payload offset", f.payload_offset, L.payload_offset);
    }
    if (L.payload_len != f.payload_len) return fail("payload length", f.payload_len, L.payload_len);
    bool lo_fast = false, lo_slow = false;
    const FlowKey kf = makeFlowKey(f, &lo_fast);
    const FlowKey ks = makeFlowKey(L, m.vlan_id, &lo_slow);
    if (!(kf == ks) || std::memcmp(&kf, &ks, sizeof(kf)) != 0) return fail("flow key", 0, 1);
    if (lo_fast != lo_slow) return fail("direction", lo_fast, lo_slow);
    if (hashFlowKey(kf) != hashFlowKey(ks)) return fail("hash", 0, 1);
  }
  return true;
}

}  // namespace xborder::dp::test
