// Validators run on candidate bytes found by the Hyperscan pre-filter. They are pure
// functions (no allocation), called on the hot path only for candidates.
// Each takes the candidate without its boundary characters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xborder::rules::detectors {

// Calendar date check (proleptic Gregorian).
bool validDate(int year, int month, int day);
// GB/T 2260 province-level code (first two digits of a resident ID or USCC region).
bool validProvinceCode(int code);

// GB 11643-1999: 18 chars, province, real birth date <= today (YYYYMMDD), MOD 11-2.
bool validResidentId(std::string_view s, uint32_t todayYyyymmdd);
// GB 11643-1989 legacy 15-digit number (YYMMDD birth date of 19YY, no check digit):
// province, real date. Converts to the 18-character form in `out18` (inserting "19" and
// the check character) so both forms of one person hash alike.
bool validResidentId15(std::string_view s, char* out18);
// ISO 7064 MOD 11-2 check character for the first 17 digits ('0'-'9' or 'X').
char residentIdCheckChar(std::string_view first17);

// Mainland mobile: exactly 11 digits 1[3-9]..., carrier segment table (DOMAIN.md §4.2).
bool validMobile(std::string_view digits11);

// Luhn mod 10 over a digit string.
bool luhnValid(std::string_view digits);
// 13-19 digits, Luhn, known BIN family and a length it issues, not all one digit.
bool validBankCard(std::string_view digits);
bool bankCardBinKnown(std::string_view digits);

// GB 32100-2015 check character and the embedded GB 11714 organization-code check.
bool validUscc(std::string_view s);
char usccCheckChar(std::string_view first17);  // '\0' if a char is outside the charset
bool validOrgCode(std::string_view s9);         // 8 chars + check ('0'-'9' or 'X')

// ISO 3779 / GB 16735 VIN: 17 chars, no I/O/Q, position-9 check digit, letters in WMI.
bool validVin(std::string_view s);
char vinCheckChar(std::string_view s17);

// PRC passport number formats (E/G/DE/SE/PE/K/KJ/MA series).
bool validPassportNumber(std::string_view s);
// ICAO 9303 check digit over s (weights 7,3,1; A-Z = 10..35; '<' = 0). -1 if invalid char.
int mrzCheckDigit(std::string_view s);
// ICAO 9303 TD3 line 2 (44 chars): passport number, DOB, expiry and composite checks.
bool validMrzLine2(std::string_view s44);

// Exit-Entry permit for HK/Macau: C or W + 8 characters (format only).
bool validHkMacauPermit(std::string_view s);

// Simplified RFC 5322 addr-spec (dot-atom local part, LDH domain) + known TLD.
bool validEmail(std::string_view s);
bool knownTld(std::string_view tldLowerOrUpper);

// Precise coordinates inside China's bounding box (lat 3.8-53.6, lon 73.5-135.1).
enum class GpsForm : uint8_t { kLatLon, kLonLat, kNmea };
bool chinaBoundingBox(double lat, double lon);
// Parses the first two decimal numbers (in `form` order) or an NMEA RMC/GGA fix;
// requires >= 4 decimals (NMEA: >= 3 decimals of minutes) and the bounding box.
bool validGps(std::string_view s, GpsForm form);

// ICD-10 code: letter (not U) + 2 digits [+ '.' + 1-4 alphanumerics].
bool validIcd10(std::string_view s);

// Copies only the ASCII digits (and 'X'/'x' upper-cased when keepX) of `in` to `out`;
// returns the count, or cap + 1 when it does not fit.
size_t normalizeDigits(std::string_view in, char* out, size_t cap, bool keepX = false);

}  // namespace xborder::rules::detectors
