#include "dataplane/classify/ndpi_adapter.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

extern "C" {
#include <ndpi_api.h>
}

namespace xborder::dp {
namespace {

bool isProto(const FlowEntry& e, uint16_t id) { return e.master_proto == id || e.app_proto == id; }

std::string_view cstr(const char* s) { return s ? std::string_view(s) : std::string_view(); }

}  // namespace

NdpiAdapter::~NdpiAdapter() {
  if (mod_ != nullptr) {
    // Free any state still attached (flows never finished, e.g. engine destroyed
    // without flushAll).
    for (uint32_t s = 0; s < pool_size_; ++s) {
      ndpi_flow_struct* f = slot(s);
      if (f->init_finished || f->num_processed_pkts != 0) {
        ndpi_free_flow_data(f);
      }
    }
    ndpi_exit_detection_module(mod_);
  }
}

bool NdpiAdapter::init(uint32_t pool_size, uint32_t meta_pool_size, std::string* error) {
  mod_ = ndpi_init_detection_module(ndpi_no_prefs);
  if (mod_ == nullptr) {
    if (error) *error = "nDPI: ndpi_init_detection_module failed";
    return false;
  }
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(mod_, &all);
  ndpi_finalize_initialization(mod_);
  flow_size_ = (ndpi_detection_get_sizeof_ndpi_flow_struct() + 7u) & ~7u;
  pool_size_ = pool_size;
  pool_.assign(static_cast<size_t>(pool_size) * flow_size_ / 8, 0);  // zeroed: ready for use
  free_.resize(pool_size);
  for (uint32_t i = 0; i < pool_size; ++i) {
    free_[i] = pool_size - 1 - i;
  }
  free_top_ = pool_size;
  meta_.init(meta_pool_size);
  return true;
}

ndpi_flow_struct* NdpiAdapter::slot(uint32_t s) const noexcept {
  return reinterpret_cast<ndpi_flow_struct*>(
      const_cast<uint64_t*>(pool_.data()) + static_cast<size_t>(s) * (flow_size_ / 8));
}

bool NdpiAdapter::attach(FlowEntry* e) noexcept {
  if (free_top_ == 0) {
    pool_exhausted_.add();
    e->classify = ClassifyState::kSkipped;
    return false;
  }
  e->ndpi_slot = free_[--free_top_];
  e->classify = ClassifyState::kPending;
  return true;
}

bool NdpiAdapter::feed(FlowEntry* e, const uint8_t* l3, uint32_t l3_len, uint64_t ts_ms,
                       bool enough) noexcept {
  ndpi_flow_struct* f = slot(e->ndpi_slot);
  if (ts_ms < last_ms_) {
    ts_ms = last_ms_;
  }
  last_ms_ = ts_ms;
  packets_fed_.add();
  const ndpi_protocol p = ndpi_detection_process_packet(
      mod_, f, l3, static_cast<unsigned short>(l3_len > 0xFFFF ? 0xFFFF : l3_len), ts_ms);
  e->master_proto = p.master_protocol;
  e->app_proto = p.app_protocol;
  e->category = static_cast<uint16_t>(p.category);
  if (!enough && p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
    return false;
  }
  if (!enough && ndpi_extra_dissection_possible(mod_, f)) {
    return false;  // wait for the certificate, JA3S, DNS answer, ...
  }
  complete(e, p.app_protocol == NDPI_PROTOCOL_UNKNOWN);
  return true;
}

void NdpiAdapter::finishAtEnd(FlowEntry* e) noexcept {
  if (e->classify == ClassifyState::kPending && e->ndpi_slot != kNoFlow) {
    // Like ndpiReader at end of capture: give up (with guessing) on every flow not
    // completed, including those already matched but waiting for extra packets.
    const bool matched = e->app_proto != NDPI_PROTOCOL_UNKNOWN;
    complete(e, true);
    if (matched) {
      e->classify = ClassifyState::kDetected;
    }
  }
}

void NdpiAdapter::complete(FlowEntry* e, bool give_up) noexcept {
  ndpi_flow_struct* f = slot(e->ndpi_slot);
  if (give_up) {
    uint8_t guessed = 0;
    const ndpi_protocol p = ndpi_detection_giveup(mod_, f, 1, &guessed);
    e->master_proto = p.master_protocol;
    e->app_proto = p.app_protocol;
    e->category = static_cast<uint16_t>(p.category);
    e->classify = ClassifyState::kGaveUp;
    giveups_.add();
  } else {
    e->classify = ClassifyState::kDetected;
    detections_.add();
  }
  extract(e, f);
  release(e);
}

void NdpiAdapter::extract(FlowEntry* e, ndpi_flow_struct* f) noexcept {
  e->confidence = static_cast<uint8_t>(f->confidence);
  e->risk = f->risk;
  // Only keep a metadata block if there is something to put in it.
  // f->protos is a union: read the member of the protocol nDPI found, in the
  // same order as ndpiReader's process_ndpi_collected_info().
  const bool dns = isProto(*e, NDPI_PROTOCOL_DNS) &&
                   (f->protos.dns.rsp_type == 1 || f->protos.dns.rsp_type == 28);
  const bool http = !dns && isProto(*e, NDPI_PROTOCOL_HTTP) && f->http.url != nullptr;
  const bool tls = !dns && !isProto(*e, NDPI_PROTOCOL_HTTP) && !isProto(*e, NDPI_PROTOCOL_SSH) &&
                   (isProto(*e, NDPI_PROTOCOL_TLS) || isProto(*e, NDPI_PROTOCOL_QUIC) ||
                    isProto(*e, NDPI_PROTOCOL_DTLS));
  const bool host = f->host_server_name[0] != '\0';
  if (!http && !dns && !tls && !host) {
    return;
  }
  const uint32_t ms = meta_.acquire();
  if (ms == FlowMetaPool::kNone) {
    meta_truncated_.add();
    return;
  }
  e->meta_slot = ms;
  FlowMeta& m = meta_.at(ms);
  bool ok = m.add(MetaField::kHost, cstr(f->host_server_name));
  if (dns) {
    char buf[INET6_ADDRSTRLEN];
    const int af = f->protos.dns.rsp_type == 1 ? AF_INET : AF_INET6;
    if (inet_ntop(af, &f->protos.dns.rsp_addr, buf, sizeof(buf)) != nullptr) {
      ok &= m.add(MetaField::kDnsAnswer, buf);
    }
  }
  if (http) {
    ok &= m.add(MetaField::kUrl, cstr(f->http.url));
    ok &= m.add(MetaField::kUserAgent, cstr(f->http.user_agent));
  }
  if (tls) {
    auto& t = f->protos.tls_quic;
    ok &= m.add(MetaField::kJa3Client, cstr(t.ja3_client));
    ok &= m.add(MetaField::kJa3Server, cstr(t.ja3_server));
    if (t.ssl_version != 0) {
      char vbuf[32];
      uint8_t known = 0;
      ok &= m.add(MetaField::kTlsVersion, cstr(ndpi_ssl_version2str(vbuf, sizeof(vbuf),
                                                                     t.ssl_version, &known)));
    }
    ok &= m.add(MetaField::kAlpn, cstr(t.alpn));
    ok &= m.add(MetaField::kSubject, cstr(t.subjectDN));
    ok &= m.add(MetaField::kIssuer, cstr(t.issuerDN));
    if (t.server_names_len > 0) {
      ok &= m.add(MetaField::kServerNames, cstr(t.server_names));
    }
    ok &= m.add(MetaField::kUserAgent, cstr(f->http.user_agent));
  }
  if (!ok) {
    meta_truncated_.add();
  }
}

void NdpiAdapter::release(FlowEntry* e) noexcept {
  ndpi_flow_struct* f = slot(e->ndpi_slot);
  // ndpi_free_flow_data frees what nDPI allocated inside the struct; the struct
  // itself is ours. Zeroing it afterwards is what makes the slot a fresh flow for
  // the next user (nDPI expects a zeroed struct on a flow's first packet); it is
  // never zeroed while it still owns memory.
  ndpi_free_flow_data(f);
  std::memset(static_cast<void*>(f), 0, flow_size_);
  free_[free_top_++] = e->ndpi_slot;
  e->ndpi_slot = kNoFlow;
}

void NdpiAdapter::releaseMeta(FlowEntry* e) noexcept {
  if (e->meta_slot != FlowMetaPool::kNone) {
    meta_.release(e->meta_slot);
    e->meta_slot = FlowMetaPool::kNone;
  }
}

std::string_view NdpiAdapter::protocolLabel(const FlowEntry& e, char* buf,
                                            uint32_t n) const noexcept {
  // Same rules as ndpi_protocol2name() in 4.2 ("Master.App", "Master" or "App"),
  // without its snprintf (this runs once per logged flow).
  auto append = [&](uint32_t at, std::string_view s) {
    const uint32_t len = static_cast<uint32_t>(s.size()) < n - 1 - at
                             ? static_cast<uint32_t>(s.size())
                             : n - 1 - at;
    std::memcpy(buf + at, s.data(), len);
    return at + len;
  };
  if (n == 0) {
    return {};
  }
  uint32_t len = 0;
  if (e.master_proto != NDPI_PROTOCOL_UNKNOWN && e.master_proto != e.app_proto) {
    len = append(0, protoName(e.master_proto));
    if (e.app_proto != NDPI_PROTOCOL_UNKNOWN) {
      len = append(len, ".");
      len = append(len, protoName(e.app_proto));
    }
  } else {
    len = append(0, protoName(e.app_proto));
  }
  buf[len] = '\0';
  return std::string_view(buf, len);
}

std::string_view NdpiAdapter::protoName(uint16_t id) const noexcept {
  return cstr(ndpi_get_proto_name(mod_, id));
}

std::string_view NdpiAdapter::categoryName(uint16_t category) const noexcept {
  return cstr(ndpi_category_get_name(mod_, static_cast<ndpi_protocol_category_t>(category)));
}

std::string_view NdpiAdapter::confidenceName(uint8_t confidence) noexcept {
  return cstr(ndpi_confidence_get_name(static_cast<ndpi_confidence_t>(confidence)));
}

std::string_view NdpiAdapter::riskName(uint32_t bit) noexcept {
  return cstr(ndpi_risk2str(static_cast<ndpi_risk_enum>(bit)));
}

std::string_view NdpiAdapter::eveAppProto(const FlowEntry& e, char* buf) const noexcept {
  struct Map {
    uint16_t id;
    const char* eve;
  };
  // Suricata's names where Suricata has a parser for the protocol.
  static constexpr Map kMap[] = {
      {NDPI_PROTOCOL_TLS, "tls"},          {NDPI_PROTOCOL_HTTP, "http"},
      {NDPI_PROTOCOL_DNS, "dns"},          {NDPI_PROTOCOL_QUIC, "quic"},
      {NDPI_PROTOCOL_SSH, "ssh"},          {NDPI_PROTOCOL_MAIL_SMTP, "smtp"},
      {NDPI_PROTOCOL_MAIL_SMTPS, "tls"},   {NDPI_PROTOCOL_MAIL_IMAP, "imap"},
      {NDPI_PROTOCOL_MAIL_POP, "pop3"},    {NDPI_PROTOCOL_FTP_CONTROL, "ftp"},
      {NDPI_PROTOCOL_FTP_DATA, "ftp-data"}, {NDPI_PROTOCOL_DHCP, "dhcp"},
      {NDPI_PROTOCOL_NTP, "ntp"},          {NDPI_PROTOCOL_SMBV1, "smb"},
      {NDPI_PROTOCOL_SMBV23, "smb"},       {NDPI_PROTOCOL_KERBEROS, "krb5"},
      {NDPI_PROTOCOL_SNMP, "snmp"},        {NDPI_PROTOCOL_SIP, "sip"},
      {NDPI_PROTOCOL_RDP, "rdp"},          {NDPI_PROTOCOL_MQTT, "mqtt"},
      {NDPI_PROTOCOL_TELNET, "telnet"},    {NDPI_PROTOCOL_NFS, "nfs"},
      {NDPI_PROTOCOL_TFTP, "tftp"},        {NDPI_PROTOCOL_HTTP_PROXY, "http"},
      {NDPI_PROTOCOL_HTTP_CONNECT, "http"}, {NDPI_PROTOCOL_DOH_DOT, "tls"},
  };
  if (e.classify != ClassifyState::kDetected) {
    return "failed";  // nothing found by DPI (a port guess is not a parse)
  }
  // The master protocol is the wire protocol (TLS for TLS.Google).
  const uint16_t wire = e.master_proto != NDPI_PROTOCOL_UNKNOWN ? e.master_proto : e.app_proto;
  for (const Map& m : kMap) {
    if (m.id == wire) {
      return m.eve;
    }
  }
  const std::string_view name = protoName(wire);
  uint32_t n = 0;
  for (; n < name.size() && n < 31; ++n) {
    const char c = name[n];
    buf[n] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return std::string_view(buf, n);
}

}  // namespace xborder::dp
