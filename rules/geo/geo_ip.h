#pragma once
// IP addresses and CIDR prefixes as plain integers, so lookups need no EAL and no
// allocation (IPv4 in a uint32_t, IPv6 in an unsigned __int128, host byte order).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xborder::rules::geo {

using Uint128 = unsigned __int128;

struct IpAddress {
  bool v6 = false;
  uint32_t v4 = 0;
  Uint128 v6addr = 0;

  static IpAddress fromV4(uint32_t a) { return IpAddress{false, a, 0}; }
  static IpAddress fromV6(Uint128 a) { return IpAddress{true, 0, a}; }
  // 4 or 16 bytes in network byte order.
  static std::optional<IpAddress> fromBytes(std::string_view bytes);
  std::string toBytes() const;
  std::string toString() const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress addr;  // host bits zero
  uint32_t length = 0;
  std::string toString() const;
  bool operator==(const Cidr&) const = default;
};

std::optional<IpAddress> parseIp(std::string_view text);
// Accepts "a.b.c.d/n" and "x::y/n". Rejects host bits set ("10.0.0.1/8"), so a typo
// never silently widens or narrows a rule. A bare address is a /32 or /128.
std::optional<Cidr> parseCidr(std::string_view text, std::string* why = nullptr);

}  // namespace xborder::rules::geo
