// Tiny packet builder for dataplane tests (in the spirit of Cilium's pktgen):
// each helper returns the bytes of one header; cat() glues them into a frame.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace xborder::dp::test {

using Bytes = std::vector<uint8_t>;

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline Bytes zeros(size_t n) { return Bytes(n, 0); }

inline Bytes eth(uint16_t type) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(b, type);
  return b;
}
// One 802.1Q/802.1ad tag: TCI (VLAN id) then the next ethertype.
inline Bytes vlanTag(uint16_t id, uint16_t next) {
  Bytes b;
  put16(b, id & 0x0FFF);
  put16(b, next);
  return b;
}
inline Bytes mpls(uint32_t label, bool bottom) {
  Bytes b;
  put32(b, (label << 12) | (bottom ? 0x100u : 0u) | 64u);
  return b;
}
inline Bytes pppoe(uint16_t ppp_proto, uint16_t payload_len) {
  Bytes b = {0x11, 0x00, 0x00, 0x01};
  put16(b, static_cast<uint16_t>(payload_len + 2));
  put16(b, ppp_proto);
  return b;
}
inline Bytes ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len,
                  uint16_t frag_field = 0, uint16_t id = 1, uint8_t ihl_words = 5) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x40 | ihl_words));
  b.push_back(0);
  put16(b, static_cast<uint16_t>(ihl_words * 4 + l4_len));
  put16(b, id);
  put16(b, frag_field);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  put32(b, src);
  put32(b, dst);
  for (int i = 5; i < ihl_words; ++i) put32(b, 0x01010101);  // NOP options
  return b;
}
// Last byte of an IPv6 address (2001:db8::N).
inline Bytes ipv6(uint8_t src_last, uint8_t dst_last, uint8_t next, uint16_t payload_len) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, payload_len);
  b.push_back(next);
  b.push_back(64);
  for (uint8_t last : {src_last, dst_last}) {
    Bytes a = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
    b.insert(b.end(), a.begin(), a.end());
  }
  return b;
}
// A generic 8-byte IPv6 extension header (hop-by-hop, routing, dest-opts).
inline Bytes ipv6Ext(uint8_t next) { return {next, 0, 1, 4, 0, 0, 0, 0}; }
inline Bytes ipv6Frag(uint8_t next, uint16_t offset8, bool more, uint32_t id) {
  Bytes b = {next, 0};
  put16(b, static_cast<uint16_t>((offset8 << 3) | (more ? 1 : 0)));
  put32(b, id);
  return b;
}
inline Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint8_t doff_words = 5,
                 uint32_t seq = 1000, uint32_t ack = 0) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  b.push_back(static_cast<uint8_t>(doff_words << 4));
  b.push_back(flags);
  put16(b, 65535);
  put16(b, 0);
  put16(b, 0);
  for (int i = 5; i < doff_words; ++i) put32(b, 0x01010101);
  return b;
}
inline Bytes udp(uint16_t sport, uint16_t dport, uint16_t payload_len) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload_len));
  put16(b, 0);
  return b;
}
inline Bytes gre(uint16_t proto, bool key, uint32_t key_value = 0, bool seq = false) {
  Bytes b;
  put16(b, static_cast<uint16_t>((key ? 0x2000 : 0) | (seq ? 0x1000 : 0)));
  put16(b, proto);
  if (key) put32(b, key_value);
  if (seq) put32(b, 7);
  return b;
}
inline Bytes vxlan(uint32_t vni) {
  Bytes b = {0x08, 0, 0, 0};
  put32(b, vni << 8);
  return b;
}
inline Bytes gtpu(uint32_t teid, uint16_t payload_len) {
  Bytes b = {0x30, 0xFF};
  put16(b, payload_len);
  put32(b, teid);
  return b;
}

inline constexpr uint32_t kA = 0x0A000001;  // 10.0.0.1
inline constexpr uint32_t kB = 0x0A000002;  // 10.0.0.2
inline constexpr uint32_t kC = 0xC0A80001;  // 192.168.0.1
inline constexpr uint32_t kD = 0xC0A80002;

// A complete Ethernet/IPv4/TCP frame with payload.
inline Bytes tcpFrame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
                      std::string_view payload = {}, uint32_t seq = 1000, uint32_t ack = 0) {
  return cat({eth(0x0800), ipv4(src, dst, 6, static_cast<uint16_t>(20 + payload.size())),
              tcp(sport, dport, flags, 5, seq, ack), text(payload)});
}

// A TCP conversation with consistent sequence numbers (nDPI ignores what looks
// like retransmissions): handshake, request, response, FIN both ways.
inline std::vector<Bytes> tcpSession(uint32_t cli, uint32_t srv, uint16_t cport, uint16_t sport,
                                     std::string_view request, std::string_view response) {
  constexpr uint8_t S = 0x02, A = 0x10, P = 0x08, F = 0x01;
  uint32_t cs = 100, ss = 5000;
  std::vector<Bytes> v;
  v.push_back(tcpFrame(cli, srv, cport, sport, S, {}, cs, 0));
  ++cs;
  v.push_back(tcpFrame(srv, cli, sport, cport, S | A, {}, ss, cs));
  ++ss;
  v.push_back(tcpFrame(cli, srv, cport, sport, A, {}, cs, ss));
  v.push_back(tcpFrame(cli, srv, cport, sport, P | A, request, cs, ss));
  cs += static_cast<uint32_t>(request.size());
  v.push_back(tcpFrame(srv, cli, sport, cport, A, {}, ss, cs));
  v.push_back(tcpFrame(srv, cli, sport, cport, P | A, response, ss, cs));
  ss += static_cast<uint32_t>(response.size());
  v.push_back(tcpFrame(cli, srv, cport, sport, A, {}, cs, ss));
  v.push_back(tcpFrame(cli, srv, cport, sport, F | A, {}, cs, ss));
  ++cs;
  v.push_back(tcpFrame(srv, cli, sport, cport, F | A, {}, ss, cs));
  ++ss;
  v.push_back(tcpFrame(cli, srv, cport, sport, A, {}, cs, ss));
  return v;
}

// DNS query (id 0x1234) for `name`, and a response with one A record.
inline Bytes dnsQuery(std::string_view name, bool response, uint32_t answer_ip = 0) {
  Bytes b = {0x12, 0x34, static_cast<uint8_t>(response ? 0x81 : 0x01),
             static_cast<uint8_t>(response ? 0x80 : 0x00), 0, 1, 0,
             static_cast<uint8_t>(response ? 1 : 0), 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    b.push_back(static_cast<uint8_t>(dot - start));
    for (size_t i = start; i < dot; ++i) b.push_back(static_cast<uint8_t>(name[i]));
    start = dot + 1;
  }
  b.push_back(0);
  put16(b, 1);  // A
  put16(b, 1);  // IN
  if (response) {
    put16(b, 0xC00C);
    put16(b, 1);
    put16(b, 1);
    put32(b, 300);
    put16(b, 4);
    put32(b, answer_ip);
  }
  return b;
}
inline Bytes udpFrame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                      const Bytes& payload) {
  return cat({eth(0x0800), ipv4(src, dst, 17, static_cast<uint16_t>(8 + payload.size())),
              udp(sport, dport, static_cast<uint16_t>(payload.size())), payload});
}

}  // namespace xborder::dp::test
