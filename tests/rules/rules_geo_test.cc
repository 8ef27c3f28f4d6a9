// The prefix table: longest-prefix match over nested IPv4/IPv6 prefixes, edges of the
// address space, and the CIDR parser's refusals.

#include <gtest/gtest.h>

#include "rules/geo/geo_country_table.h"
#include "rules/geo/geo_prefix_table.h"

namespace xborder::rules::geo {
namespace {

Cidr cidr(const char* s) {
  auto c = parseCidr(s);
  EXPECT_TRUE(c.has_value()) << s;
  return c.value_or(Cidr{});
}
uint32_t at(const PrefixTable& t, const char* ip) { return t.lookup(*parseIp(ip)); }

TEST(PrefixTable, LongestPrefixWinsOverNestedRanges) {
  PrefixTable t;
  t.add(cidr("10.0.0.0/8"), 1);
  t.add(cidr("10.1.0.0/16"), 2);
  t.add(cidr("10.1.2.0/24"), 3);
  t.add(cidr("10.1.2.128/25"), 4);
  t.add(cidr("192.0.2.0/24"), 5);
  t.build();
  EXPECT_EQ(at(t, "10.0.0.1"), 1u);
  EXPECT_EQ(at(t, "10.1.0.0"), 2u);
  EXPECT_EQ(at(t, "10.1.2.5"), 3u);
  EXPECT_EQ(at(t, "10.1.2.200"), 4u);
  EXPECT_EQ(at(t, "10.1.3.0"), 2u);   // back to the /16 after the /24
  EXPECT_EQ(at(t, "10.2.0.0"), 1u);   // back to the /8 after the /16
  EXPECT_EQ(at(t, "10.255.255.255"), 1u);
  EXPECT_EQ(at(t, "11.0.0.0"), PrefixTable::kNone);
  EXPECT_EQ(at(t, "9.255.255.255"), PrefixTable::kNone);
  EXPECT_EQ(at(t, "192.0.2.255"), 5u);
  EXPECT_EQ(at(t, "2001:db8::1"), PrefixTable::kNone);  // families are separate
}

TEST(PrefixTable, WholeSpaceAndTopOfSpace) {
  PrefixTable t;
  t.add(cidr("0.0.0.0/0"), 1);
  t.add(cidr("255.255.255.255/32"), 2);
  t.add(cidr("::/0"), 3);
  t.add(cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"), 4);
  t.add(cidr("2001:db8:10::/48"), 5);
  t.build();
  EXPECT_EQ(at(t, "0.0.0.0"), 1u);
  EXPECT_EQ(at(t, "255.255.255.254"), 1u);
  EXPECT_EQ(at(t, "255.255.255.255"), 2u);
  EXPECT_EQ(at(t, "::"), 3u);
  EXPECT_EQ(at(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 4u);
  EXPECT_EQ(at(t, "2001:db8:10:ffff::1"), 5u);
  EXPECT_EQ(at(t, "2001:db8:11::1"), 3u);
}

TEST(PrefixTable, IdenticalPrefixLaterAddWins) {
  PrefixTable t;
  t.add(cidr("198.51.100.0/24"), 1);
  t.add(cidr("198.51.100.0/24"), 2);
  t.build();
  EXPECT_EQ(at(t, "198.51.100.7"), 2u);
}

TEST(Cidr, ParserRefusesWhatWouldSilentlyChangeARule) {
  std::string why;
  EXPECT_FALSE(parseCidr("10.0.0.1/8", &why));
  EXPECT_EQ(why, "host bits set after the prefix length");
  EXPECT_FALSE(parseCidr("10.0.0.0/33", &why));
  EXPECT_FALSE(parseCidr("10.0.0.0/", &why));
  EXPECT_FALSE(parseCidr("10.0.0/8", &why));
  EXPECT_FALSE(parseCidr("2001:db8::/129", &why));
  EXPECT_TRUE(parseCidr("2001:db8::/32"));
  EXPECT_EQ(parseCidr("192.0.2.1")->length, 32u);
  EXPECT_EQ(cidr("2001:db8:4::/48").toString(), "2001:db8:4::/48");
}

TEST(CountryCsv, ParsesTheSampleFormatAndReportsBadLines) {
  auto ok = parseCountryCsv("# c\n198.18.0.0/16,CN\n\n2001:db8:4::/48 , CN\n", "g.csv");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].country, "CN");
  EXPECT_EQ((*ok)[1].line, 4);
  auto bad = parseCountryCsv("198.18.0.0/16,CN\n198.18.0.0/16 CN\n", "g.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "g.csv:2:1: expected \"prefix,country\"");
}

}  // namespace
}  // namespace xborder::rules::geo
