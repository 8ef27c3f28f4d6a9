#include "rules/detectors/detector_validators.h"

#include <gtest/gtest.h>

#include <string>

namespace xborder::rules::detectors {
namespace {

constexpr uint32_t kToday = 20251123;

TEST(ResidentId, Gb11643SampleAndCheckChar) {
  EXPECT_TRUE(validResidentId("11010519491231002X", kToday));
  EXPECT_TRUE(validResidentId("11010519491231002x", kToday));
  EXPECT_EQ(residentIdCheckChar("11010519491231002"), 'X');
  // Every other check character is wrong.
  for (char c : std::string("0123456789")) {
    EXPECT_FALSE(validResidentId(std::string("11010519491231002") + c, kToday)) << c;
  }
}

TEST(ResidentId, RejectsBadProvinceDateAndFuture) {
  auto withCheck = [](std::string first17) { return first17 + residentIdCheckChar(first17); };
  EXPECT_TRUE(validResidentId(withCheck("32050519900307123"), kToday));
  EXPECT_FALSE(validResidentId(withCheck("99050519900307123"), kToday));  // no province 99
  EXPECT_FALSE(validResidentId(withCheck("19050519900307123"), kToday));  // no province 19
  EXPECT_FALSE(validResidentId(withCheck("32050519900230123"), kToday));  // 30 February
  EXPECT_FALSE(validResidentId(withCheck("32050519901301123"), kToday));  // month 13
  EXPECT_FALSE(validResidentId(withCheck("32050520300101123"), kToday));  // born in 2030
  EXPECT_TRUE(validResidentId(withCheck("32050520000229123"), kToday));   // leap day 2000
  EXPECT_FALSE(validResidentId(withCheck("32050519000229123"), kToday));  // 1900 not leap
  EXPECT_FALSE(validResidentId("3205051990030712", kToday));              // too short
}

TEST(ResidentId, Legacy15DigitConvertsTo18) {
  char out[18];
  ASSERT_TRUE(validResidentId15("110105491231002", out));
  EXPECT_EQ(std::string(out, 18), "11010519491231002X");
  EXPECT_FALSE(validResidentId15("110105491331002", out));  // month 13
  EXPECT_FALSE(validResidentId15("990105491231002", out));  // no province 99
}

TEST(Mobile, CarrierSegments) {
  EXPECT_TRUE(validMobile("13812345678"));
  EXPECT_TRUE(validMobile("19912345678"));
  EXPECT_TRUE(validMobile("16612345678"));
  EXPECT_FALSE(validMobile("14012345678"));  // IoT
  EXPECT_FALSE(validMobile("15412345678"));  // unallocated
  EXPECT_FALSE(validMobile("17412345678"));  // satellite
  EXPECT_FALSE(validMobile("12812345678"));
  EXPECT_FALSE(validMobile("1381234567"));
}

TEST(BankCard, LuhnAndBins) {
  EXPECT_TRUE(luhnValid("79927398713"));
  EXPECT_FALSE(luhnValid("79927398710"));
  EXPECT_TRUE(validBankCard("4111111111111111"));     // Visa test number
  EXPECT_TRUE(validBankCard("5555555555554444"));     // Mastercard test number
  EXPECT_TRUE(validBankCard("2223003122003222"));     // Mastercard 2-series
  EXPECT_TRUE(validBankCard("378282246310005"));      // Amex
  EXPECT_TRUE(validBankCard("3530111333300000"));     // JCB
  EXPECT_TRUE(validBankCard("6212345678901265"));     // UnionPay 16
  EXPECT_TRUE(validBankCard("6222021234567890128"));  // UnionPay 19
  EXPECT_FALSE(validBankCard("4111111111111112"));    // Luhn fails
  EXPECT_FALSE(validBankCard("6011111111111117"));    // Discover: not in the BIN table
  EXPECT_FALSE(validBankCard("378282246310005000"));  // Amex prefix, wrong length
  EXPECT_FALSE(validBankCard("4444444444444444"));
  EXPECT_FALSE(validBankCard("0000000000000000"));
}

TEST(Uscc, Gb32100AndOrgCode) {
  EXPECT_EQ(usccCheckChar("91350100M000100Y4"), '3');
  EXPECT_TRUE(validUscc("91350100M000100Y43"));
  EXPECT_TRUE(validOrgCode("M000100Y4"));
  EXPECT_FALSE(validUscc("91350100M000100Y44"));  // wrong check
  EXPECT_FALSE(validUscc("91350100M000100Y53"));  // org-code check broken
  EXPECT_FALSE(validUscc("91350100M0001O0Y43"));  // 'O' is outside the charset
  // The sample list's fictitious tenants: all pass the outer GB 32100 check, but two
  // carry a letter as the GB 11714 organization-code check (only 0-9 or X exist).
  for (const char* c : {"91320500EXAMPLE11Y", "91320500EXAMPLE2XN", "91320500EXAMPLE38N",
                        "91320500EXAMPLE46H", "91320500EXAMPLE54C", "91320500EXAMPLE6GJ",
                        "91310000EXAMPLE7KY"}) {
    EXPECT_EQ(usccCheckChar(std::string_view(c).substr(0, 17)), c[17]) << c;
  }
  EXPECT_TRUE(validUscc("91320500EXAMPLE54C"));
  EXPECT_FALSE(validUscc("91320500EXAMPLE6GJ"));
  EXPECT_FALSE(validUscc("91310000EXAMPLE7KY"));
}

TEST(Vin, Iso3779CheckDigit) {
  EXPECT_TRUE(validVin("1M8GDM9AXKP042788"));
  EXPECT_EQ(vinCheckChar("1M8GDM9AXKP042788"), 'X');
  EXPECT_TRUE(validVin("11111111111111111") == false);  // no letter in the WMI
  EXPECT_FALSE(validVin("1M8GDM9A1KP042788"));          // wrong check
  EXPECT_FALSE(validVin("1M8GDM9AXKP04278O"));          // O not allowed
  EXPECT_FALSE(validVin("1M8GDM9AXKP04278"));           // 16 chars
}

TEST(Passport, FormatsAndMrz) {
  EXPECT_TRUE(validPassportNumber("E12345678"));
  EXPECT_TRUE(validPassportNumber("EA1234567"));
  EXPECT_TRUE(validPassportNumber("G12345678"));
  EXPECT_TRUE(validPassportNumber("DE1234567"));
  EXPECT_TRUE(validPassportNumber("KJ1234567"));
  EXPECT_TRUE(validPassportNumber("MA1234567"));
  EXPECT_FALSE(validPassportNumber("EI1234567"));
  EXPECT_FALSE(validPassportNumber("F12345678"));
  EXPECT_FALSE(validPassportNumber("E1234567"));
  // ICAO 9303 specimen (Utopia), line 2.
  EXPECT_EQ(mrzCheckDigit("L898902C3"), 6);
  EXPECT_TRUE(validMrzLine2("L898902C36UTO7408122F1204159ZE184226B<<<<<10"));
  EXPECT_FALSE(validMrzLine2("L898902C37UTO7408122F1204159ZE184226B<<<<<10"));
  EXPECT_FALSE(validMrzLine2("L898902C36UTO7408122F1204159ZE184226B<<<<<11"));
}

TEST(Email, SimplifiedRfc5322AndTld) {
  EXPECT_TRUE(validEmail("zhang.san@qq.com"));
  EXPECT_TRUE(validEmail("a+b@mail.example.com.cn"));
  EXPECT_FALSE(validEmail("icon@2x.png"));
  EXPECT_FALSE(validEmail("a..b@qq.com"));
  EXPECT_FALSE(validEmail("a@-qq.com"));
  EXPECT_FALSE(validEmail("a@localhost"));
  EXPECT_FALSE(validEmail("chacha20-poly1305@openssh.com"));  // SSH algorithm names
  EXPECT_FALSE(validEmail("curve25519-sha256@libssh.org"));
  EXPECT_TRUE(knownTld("CN"));
  EXPECT_FALSE(knownTld("zz"));
}

TEST(Gps, BoundingBoxAndPrecision) {
  EXPECT_TRUE(validGps("\"lat\": 31.2304, \"lng\": 121.4737", GpsForm::kLatLon));
  EXPECT_FALSE(validGps("\"lat\": 31.23, \"lng\": 121.47", GpsForm::kLatLon));      // coarse
  EXPECT_FALSE(validGps("\"lat\": 48.8566, \"lng\": 2.3522", GpsForm::kLatLon));    // Paris
  EXPECT_TRUE(validGps("POINT(121.4737 31.2304)", GpsForm::kLonLat));
  EXPECT_TRUE(validGps("$GPRMC,123519,A,3113.8240,N,12128.4220,E", GpsForm::kNmea));
  EXPECT_FALSE(validGps("$GPRMC,123519,A,4807.0380,N,01131.0000,E", GpsForm::kNmea));  // Munich
}

TEST(Icd10, Codes) {
  EXPECT_TRUE(validIcd10("J18.9"));
  EXPECT_TRUE(validIcd10("E11"));
  EXPECT_FALSE(validIcd10("U07.1"));  // U is reserved
  EXPECT_FALSE(validIcd10("J1"));
  EXPECT_FALSE(validIcd10("J18."));
}

TEST(Permit, Format) {
  EXPECT_TRUE(validHkMacauPermit("C12345678"));
  EXPECT_TRUE(validHkMacauPermit("CA1234567"));
  EXPECT_FALSE(validHkMacauPermit("D12345678"));
}

TEST(Normalize, DigitsAndOverflow) {
  char buf[4];
  EXPECT_EQ(normalizeDigits("1-2 3", buf, 4), 3u);
  EXPECT_EQ(normalizeDigits("12345", buf, 4), 5u);
  EXPECT_EQ(normalizeDigits("1x", buf, 4, true), 2u);
  EXPECT_EQ(buf[1], 'X');
}

}  // namespace
}  // namespace xborder::rules::detectors
