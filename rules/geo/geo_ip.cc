#include "rules/geo/geo_ip.h"

#include <arpa/inet.h>

#include <cstring>

namespace xborder::rules::geo {

std::optional<IpAddress> IpAddress::fromBytes(std::string_view bytes) {
  if (bytes.size() == 4) {
    uint32_t a = 0;
    for (unsigned char c : bytes) a = (a << 8) | c;
    return fromV4(a);
  }
  if (bytes.size() == 16) {
    Uint128 a = 0;
    for (unsigned char c : bytes) a = (a << 8) | c;
    return fromV6(a);
  }
  return std::nullopt;
}

std::string IpAddress::toBytes() const {
  std::string out;
  if (!v6) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v4 >> s) & 0xff));
  } else {
    for (int s = 120; s >= 0; s -= 8) out.push_back(static_cast<char>((v6addr >> s) & 0xff));
  }
  return out;
}

std::string IpAddress::toString() const {
  std::string b = toBytes();
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, b.data(), buf, sizeof(buf));
  return buf;
}

std::string Cidr::toString() const { return addr.toString() + "/" + std::to_string(length); }

std::optional<IpAddress> parseIp(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  unsigned char raw[16];
  if (inet_pton(AF_INET, buf, raw) == 1) {
    return IpAddress::fromBytes(std::string_view(reinterpret_cast<char*>(raw), 4));
  }
  if (inet_pton(AF_INET6, buf, raw) == 1) {
    return IpAddress::fromBytes(std::string_view(reinterpret_cast<char*>(raw), 16));
  }
  return std::nullopt;
}

std::optional<Cidr> parseCidr(std::string_view text, std::string* why) {
  auto fail = [&](const char* m) -> std::optional<Cidr> {
    if (why) *why = m;
    return std::nullopt;
  };
  size_t slash = text.find('/');
  auto ip = parseIp(text.substr(0, slash));
  if (!ip) return fail("not an IPv4 or IPv6 address");
  uint32_t maxLen = ip->v6 ? 128 : 32;
  uint32_t len = maxLen;
  if (slash != std::string_view::npos) {
    std::string_view n = text.substr(slash + 1);
    if (n.empty() || n.size() > 3) return fail("bad prefix length");
    len = 0;
    for (char c : n) {
      if (c < '0' || c > '9') return fail("bad prefix length");
      len = len * 10 + static_cast<uint32_t>(c - '0');
    }
    if (len > maxLen) return fail("prefix length out of range");
  }
  if (!ip->v6) {
    uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    if (ip->v4 & ~mask) return fail("host bits set after the prefix length");
  } else {
    Uint128 mask = len == 0 ? 0 : ~Uint128{0} << (128 - len);
    if (ip->v6addr & ~mask) return fail("host bits set after the prefix length");
  }
  return Cidr{*ip, len};
}

}  // namespace xborder::rules::geo
