#include "dataplane/flowlog/flow_record.h"

#include <arpa/inet.h>

namespace xborder::dp {
namespace {

// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm): no libc time
// functions, so no locale or timezone lookups on the worker.
void civilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

void putDigits(char* p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

std::string_view ipText(const uint8_t* addr, uint8_t version, char* buf) {
  if (version == 4) {  // inet_ntop formats IPv4 with sprintf: do it by hand
    char* o = buf;
    for (int i = 0; i < 4; ++i) {
      const unsigned v = addr[i];
      if (v >= 100) *o++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *o++ = static_cast<char>('0' + (v / 10) % 10);
      *o++ = static_cast<char>('0' + v % 10);
      if (i < 3) *o++ = '.';
    }
    return std::string_view(buf, static_cast<size_t>(o - buf));
  }
  const char* r = inet_ntop(version == 4 ? AF_INET : AF_INET6, addr, buf, INET6_ADDRSTRLEN);
  return r ? std::string_view(r) : std::string_view();
}

std::string_view protoText(uint8_t p, char* buf) {
  switch (p) {
    case kIpProtoTcp: return "TCP";
    case kIpProtoUdp: return "UDP";
    case kIpProtoIcmp: return "ICMP";
    case kIpProtoIcmpv6: return "IPv6-ICMP";
    case kIpProtoSctp: return "SCTP";
    case 47: return "GRE";
    default: {
      int n = 0;
      char t[4];
      do {
        t[n++] = static_cast<char>('0' + p % 10);
        p /= 10;
      } while (p != 0);
      for (int i = 0; i < n; ++i) buf[i] = t[n - 1 - i];
      return std::string_view(buf, n);
    }
  }
}

std::string_view hexByte(uint8_t v, char* buf) {
  static constexpr char kHex[] = "0123456789abcdef";
  buf[0] = kHex[v >> 4];
  buf[1] = kHex[v & 15];
  return std::string_view(buf, 2);
}

}  // namespace

std::string_view formatEveTime(uint64_t ns, char* buf) noexcept {
  const uint64_t secs = ns / 1000000000ull;
  const uint64_t usec = (ns % 1000000000ull) / 1000;
  int64_t y;
  unsigned mo, d;
  civilFromDays(static_cast<int64_t>(secs / 86400), &y, &mo, &d);
  const uint64_t sod = secs % 86400;
  // YYYY-MM-DDTHH:MM:SS.uuuuuu+0000
  putDigits(buf, static_cast<uint64_t>(y), 4);
  buf[4] = '-';
  putDigits(buf + 5, mo, 2);
  buf[7] = '-';
  putDigits(buf + 8, d, 2);
  buf[10] = 'T';
  putDigits(buf + 11, sod / 3600, 2);
  buf[13] = ':';
  putDigits(buf + 14, (sod / 60) % 60, 2);
  buf[16] = ':';
  putDigits(buf + 17, sod % 60, 2);
  buf[19] = '.';
  putDigits(buf + 20, usec, 6);
  buf[26] = '+';
  buf[27] = buf[28] = buf[29] = buf[30] = '0';
  return std::string_view(buf, 31);
}

std::string_view formatFlowRecord(JsonWriter& w, const FlowEntry& e, const NdpiAdapter& ndpi,
                                  EndReason reason, uint32_t worker_id) noexcept {
  char tbuf[32];
  char ipbuf[INET6_ADDRSTRLEN];
  char small[40];
  const FlowKey& k = e.key;
  const bool c_lo = e.client_is_lo != 0;
  const uint8_t* caddr = c_lo ? k.lo_addr : k.hi_addr;
  const uint8_t* saddr = c_lo ? k.hi_addr : k.lo_addr;
  const uint16_t cport = c_lo ? k.lo_port : k.hi_port;
  const uint16_t sport = c_lo ? k.hi_port : k.lo_port;
  const bool tcp = k.proto == kIpProtoTcp;
  const bool has_ports = tcp || k.proto == kIpProtoUdp;
  const FlowMeta* m = ndpi.meta(e);
  auto field = [m](MetaField f) { return m ? m->get(f) : std::string_view(); };

  w.reset();
  w.beginObject();
  w.kv("timestamp", formatEveTime(e.last_ns, tbuf));
  w.kv("event_type", "flow");
  w.kv("src_ip", ipText(caddr, k.ip_version, ipbuf));
  if (has_ports) {
    w.kv("src_port", cport);
  }
  w.kv("dest_ip", ipText(saddr, k.ip_version, ipbuf));
  if (has_ports) {
    w.kv("dest_port", sport);
  }
  w.kv("proto", protoText(k.proto, small));
  w.kv("ip_proto", k.proto);
  if (k.vlan != 0) {
    w.key("vlan");
    w.beginArray();
    w.number(k.vlan);
    w.endArray();
  }
  w.kv("app_proto", ndpi.eveAppProto(e, small));

  w.key("flow");
  w.beginObject();
  w.kv("pkts_toserver", e.pkts[0]);
  w.kv("pkts_toclient", e.pkts[1]);
  w.kv("bytes_toserver", e.bytes[0]);
  w.kv("bytes_toclient", e.bytes[1]);
  w.kv("start", formatEveTime(e.first_ns, tbuf));
  w.kv("end", formatEveTime(e.last_ns, tbuf));
  w.kv("age", (e.last_ns - e.first_ns) / 1000000000ull);
  std::string_view state = "new";
  if (tcp) {
    if (e.tcp_state == TcpState::kClosed) {
      state = "closed";
    } else if (e.tcp_state == TcpState::kEstablished || e.tcp_state == TcpState::kFinWait) {
      state = "established";
    }
  } else if (e.pkts[0] != 0 && e.pkts[1] != 0) {
    state = "established";
  }
  w.kv("state", state);
  w.kv("reason", kEndReasonNames[static_cast<uint8_t>(reason)]);
  w.kvBool("alerted", e.alerted != 0);
  w.endObject();

  if (tcp) {
    w.key("tcp");
    w.beginObject();
    w.kv("tcp_flags", hexByte(e.tcp_flags[0] | e.tcp_flags[1], small));
    w.kv("tcp_flags_ts", hexByte(e.tcp_flags[0], small));
    w.kv("tcp_flags_tc", hexByte(e.tcp_flags[1], small));
    const uint8_t all = e.tcp_flags[0] | e.tcp_flags[1];
    if (all & kTcpSyn) w.kvBool("syn", true);
    if (all & kTcpFin) w.kvBool("fin", true);
    if (all & kTcpRst) w.kvBool("rst", true);
    if (all & kTcpPsh) w.kvBool("psh", true);
    if (all & kTcpAck) w.kvBool("ack", true);
    w.kv("state", kTcpStateNames[static_cast<uint8_t>(e.tcp_state)]);
    w.endObject();
  }

  const std::string_view app = ndpi.eveAppProto(e, small);
  const std::string_view host = field(MetaField::kHost);
  if (app == "tls" || app == "quic" || !field(MetaField::kJa3Client).empty()) {
    w.key("tls");
    w.beginObject();
    if (!host.empty()) w.kv("sni", host);
    if (auto v = field(MetaField::kSubject); !v.empty()) w.kv("subject", v);
    if (auto v = field(MetaField::kIssuer); !v.empty()) w.kv("issuerdn", v);
    if (auto v = field(MetaField::kServerNames); !v.empty()) w.kv("server_names", v);
    if (auto v = field(MetaField::kTlsVersion); !v.empty()) w.kv("version", v);
    if (auto v = field(MetaField::kAlpn); !v.empty()) w.kv("alpn", v);
    if (auto v = field(MetaField::kJa3Client); !v.empty()) {
      w.key("ja3");
      w.beginObject();
      w.kv("hash", v);
      w.endObject();
    }
    if (auto v = field(MetaField::kJa3Server); !v.empty()) {
      w.key("ja3s");
      w.beginObject();
      w.kv("hash", v);
      w.endObject();
    }
    w.endObject();
  } else if (app == "http") {
    w.key("http");
    w.beginObject();
    if (!host.empty()) w.kv("hostname", host);
    if (auto v = field(MetaField::kUrl); !v.empty()) {
      // nDPI keeps host + path; EVE's url is the request target.
      if (!host.empty() && v.substr(0, host.size()) == host && v.size() > host.size() &&
          v[host.size()] == '/') {
        v.remove_prefix(host.size());
      }
      w.kv("url", v);
    }
    if (auto v = field(MetaField::kUserAgent); !v.empty()) w.kv("http_user_agent", v);
    w.endObject();
  } else if (app == "dns") {
    w.key("dns");
    w.beginObject();
    if (!host.empty()) w.kv("rrname", host);
    if (auto v = field(MetaField::kDnsAnswer); !v.empty()) {
      w.key("answers");
      w.beginArray();
      w.beginObject();
      if (!host.empty()) w.kv("rrname", host);
      w.kv("rdata", v);
      w.endObject();
      w.endArray();
    }
    w.endObject();
  }

  char label[64];
  w.key("ndpi");
  w.beginObject();
  w.kv("protocol", ndpi.protocolLabel(e, label, sizeof(label)));
  w.kv("master", ndpi.protoName(e.master_proto));
  w.kv("app", ndpi.protoName(e.app_proto));
  w.kv("category", ndpi.categoryName(e.category));
  w.kv("confidence", NdpiAdapter::confidenceName(e.confidence));
  if (!host.empty()) w.kv("host", host);
  if (e.risk != 0) {
    w.key("risks");
    w.beginArray();
    for (uint32_t b = 0; b < 64; ++b) {
      if (e.risk & (1ull << b)) {
        w.string(NdpiAdapter::riskName(b));
      }
    }
    w.endArray();
  }
  w.endObject();

  if (e.is_inner) {
    w.key("tunnel");
    w.beginObject();
    w.kv("type", kTunnelNames[e.tunnel < kTunnelCount ? e.tunnel : 0]);
    w.endObject();
  }
  if (e.frags != 0) {
    w.kv("fragments", e.frags);
  }
  w.kv("worker", worker_id);
  return w.finish();
}

}  // namespace xborder::dp
