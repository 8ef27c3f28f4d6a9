// Strings extracted from nDPI at the end of classification (host, SNI, JA3, URL,
// DNS answer, ...), kept until the flow is logged. They live in a preallocated
// per-worker pool of small fixed blocks, not in FlowEntry, so an idle flow that
// has none costs nothing. Each field is stored as [id][len][bytes], truncated
// to 255 bytes; a full block drops the remaining fields (counted by the caller).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace xborder::dp {

enum class MetaField : uint8_t {
  kHost = 1,         // HTTP Host, TLS/QUIC SNI, DNS query name (nDPI host_server_name)
  kServerNames,      // TLS certificate subjectAltNames (comma separated)
  kSubject,          // TLS certificate subject DN
  kIssuer,           // TLS certificate issuer DN
  kJa3Client,
  kJa3Server,
  kUrl,
  kUserAgent,
  kDnsAnswer,        // first A/AAAA answer (what nDPI 4.2 keeps)
  kAlpn,
  kTlsVersion,
};

struct FlowMeta {
  static constexpr uint32_t kBytes = 1022;
  uint16_t used = 0;
  uint8_t buf[kBytes];

  // Returns false when the field did not fit.
  bool add(MetaField f, std::string_view v) noexcept {
    if (v.empty()) {
      return true;
    }
    const uint32_t len = v.size() > 255 ? 255 : static_cast<uint32_t>(v.size());
    if (used + 2u + len > kBytes) {
      return false;
    }
    buf[used] = static_cast<uint8_t>(f);
    buf[used + 1] = static_cast<uint8_t>(len);
    std::memcpy(buf + used + 2, v.data(), len);
    used = static_cast<uint16_t>(used + 2 + len);
    return true;
  }
  std::string_view get(MetaField f) const noexcept {
    for (uint32_t i = 0; i + 2 <= used;) {
      const uint32_t len = buf[i + 1];
      if (buf[i] == static_cast<uint8_t>(f)) {
        return std::string_view(reinterpret_cast<const char*>(buf + i + 2), len);
      }
      i += 2 + len;
    }
    return {};
  }
};

class FlowMetaPool {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  void init(uint32_t n) {
    blocks_.assign(n, FlowMeta{});
    free_.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      free_[i] = n - 1 - i;
    }
    top_ = n;
  }
  uint32_t acquire() noexcept {
    if (top_ == 0) {
      return kNone;
    }
    const uint32_t s = free_[--top_];
    blocks_[s].used = 0;
    return s;
  }
  void release(uint32_t s) noexcept { free_[top_++] = s; }
  FlowMeta& at(uint32_t s) noexcept { return blocks_[s]; }
  const FlowMeta& at(uint32_t s) const noexcept { return blocks_[s]; }
  uint32_t inUse() const noexcept { return static_cast<uint32_t>(blocks_.size()) - top_; }

 private:
  std::vector<FlowMeta> blocks_;
  std::vector<uint32_t> free_;
  uint32_t top_ = 0;
};

}  // namespace xborder::dp
