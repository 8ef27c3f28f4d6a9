#include "rules/detectors/detector_validators.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace xborder::rules::detectors {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isAlnum(char c) { return isDigit(c) || isUpper(c) || isLower(c); }
char toUpper(char c) { return isLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

bool allDigits(std::string_view s) {
  for (char c : s) {
    if (!isDigit(c)) return false;
  }
  return !s.empty();
}

int num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// GB 32100 character set: 0-9 A-H J-N P-R T U W-Y (31 symbols, no I O S V Z).
constexpr std::string_view kUsccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY";

int usccValue(char c) {
  size_t p = kUsccCharset.find(c);
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

// ISO 3166-1 alpha-2 codes (country-code TLDs) plus uk/eu/ac, and common generic TLDs.
constexpr std::string_view kCcTlds =
    "acadaeafagaialamaoaqarasatauawaxazbabbbdbebfbgbhbibjblbmbnbobqbrbsbtbvbwbybzcacccdcfcgch"
    "cickclcmcncocrcucvcwcxcyczdedjdkdmdodzeceeegehereseteufifjfkfmfofrgagbgdgegfggghgiglgmgn"
    "gpgqgrgsgtgugwgyhkhmhnhrhthuidieiliminioiqirisitjejmjojpkekgkhkikmknkpkrkwkykzlalblclilk"
    "lrlsltlulvlymamcmdmemfmgmhmkmlmmmnmompmqmrmsmtmumvmwmxmymznancnenfngninlnonpnrnunzompape"
    "pfpgphpkplpmpnprpsptpwpyqarerorsrurwsasbscsdsesgshsisjskslsmsnsosrssstsvsxsysztctdtftgth"
    "tjtktltmtntotrtttvtwtzuaugukumusuyuzvavcvevgvivnvuwfwsyeytzazmzw";
constexpr std::string_view kGenericTlds[] = {
    "com",   "net",  "org",    "edu",   "gov",     "mil",    "int",   "info",  "biz",
    "name",  "pro",  "mobi",   "asia",  "tel",     "travel", "jobs",  "cat",   "coop",
    "aero",  "museum", "xyz",  "top",   "site",    "online", "club",  "shop",  "store",
    "app",   "dev",  "cloud",  "tech",  "vip",     "ltd",    "group", "work",  "live",
    "email", "wang", "xin",    "ren",   "link",    "ink",    "fun",   "space", "press",
    "news",  "blog", "design", "art",   "global",  "world",  "today", "media", "network",
    "company", "icu", "cyou",  "host",  "website", "mail",   "center", "digital", "solutions",
};

// Parses [-]digits[.digits] at s[i]; returns false if no number. Advances i.
bool parseDecimal(std::string_view s, size_t& i, double& value, int& decimals) {
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    ++i;
  }
  size_t start = i;
  double v = 0;
  while (i < s.size() && isDigit(s[i])) v = v * 10 + (s[i++] - '0');
  if (i == start) return false;
  decimals = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    double scale = 0.1;
    while (i < s.size() && isDigit(s[i])) {
      v += (s[i++] - '0') * scale;
      scale /= 10;
      ++decimals;
    }
  }
  value = neg ? -v : v;
  return true;
}

bool validNmea(std::string_view s) {
  // Fields between commas; the latitude is the field before N/S, the longitude the
  // field before E/W that follows it.
  std::array<std::string_view, 16> f{};
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= s.size() && n < f.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      f[n++] = s.substr(start, i - start);
      start = i + 1;
    }
  }
  for (size_t i = 1; i + 3 < n; ++i) {
    if ((f[i + 1] == "N" || f[i + 1] == "S") && (f[i + 3] == "E" || f[i + 3] == "W")) {
      double lat = 0, lon = 0;
      int dlat = 0, dlon = 0;
      size_t a = 0, b = 0;
      if (!parseDecimal(f[i], a, lat, dlat) || a != f[i].size()) return false;
      if (!parseDecimal(f[i + 2], b, lon, dlon) || b != f[i + 2].size()) return false;
      if (dlat < 3 || dlon < 3) return false;
      double latDeg = static_cast<int>(lat / 100);
      double lonDeg = static_cast<int>(lon / 100);
      double latMin = lat - latDeg * 100, lonMin = lon - lonDeg * 100;
      if (latMin >= 60 || lonMin >= 60) return false;
      lat = latDeg + latMin / 60;
      lon = lonDeg + lonMin / 60;
      if (f[i + 1] == "S") lat = -lat;
      if (f[i + 3] == "W") lon = -lon;
      return chinaBoundingBox(lat, lon);
    }
  }
  return false;
}

}  // namespace

bool validDate(int year, int month, int day) {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int dim = kDays[month - 1];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && leap) dim = 29;
  return day <= dim;
}

bool validProvinceCode(int c) {
  return (c >= 11 && c <= 15) || (c >= 21 && c <= 23) || (c >= 31 && c <= 37) ||
         (c >= 41 && c <= 46) || (c >= 50 && c <= 54) || (c >= 61 && c <= 65) || c == 71 ||
         c == 81 || c == 82 || c == 83;
}

char residentIdCheckChar(std::string_view first17) {
  static constexpr int kW[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kW[i];
  return "10X98765432"[sum % 11];
}

bool validResidentId(std::string_view s, uint32_t today) {
  if (s.size() != 18 || !allDigits(s.substr(0, 17))) return false;
  char last = toUpper(s[17]);
  if (!isDigit(last) && last != 'X') return false;
  if (!validProvinceCode(num(s.substr(0, 2)))) return false;
  // Prefecture and county codes are never 00 at county level, except that some
  // municipality-level (xx0000) codes were never issued on IDs.
  if (s.substr(2, 4) == "0000") return false;
  int y = num(s.substr(6, 4)), m = num(s.substr(10, 2)), d = num(s.substr(12, 2));
  if (y < 1900 || !validDate(y, m, d)) return false;
  if (static_cast<uint32_t>(y * 10000 + m * 100 + d) > today) return false;
  return residentIdCheckChar(s) == last;
}

bool validResidentId15(std::string_view s, char* out18) {
  if (s.size() != 15 || !allDigits(s)) return false;
  if (!validProvinceCode(num(s.substr(0, 2))) || s.substr(2, 4) == "0000") return false;
  int y = 1900 + num(s.substr(6, 2)), m = num(s.substr(8, 2)), d = num(s.substr(10, 2));
  if (!validDate(y, m, d)) return false;
  std::memcpy(out18, s.data(), 6);
  out18[6] = '1';
  out18[7] = '9';
  std::memcpy(out18 + 8, s.data() + 6, 9);
  out18[17] = residentIdCheckChar(std::string_view(out18, 17));
  return true;
}

bool validMobile(std::string_view s) {
  if (s.size() != 11 || !allDigits(s) || s[0] != '1') return false;
  int p = num(s.substr(0, 3));
  switch (p) {
    case 130: case 131: case 132: case 133: case 134: case 135: case 136: case 137:
    case 138: case 139: case 145: case 147: case 149: case 150: case 151: case 152:
    case 153: case 155: case 156: case 157: case 158: case 159: case 162: case 165:
    case 166: case 167: case 170: case 171: case 173: case 175: case 176: case 177:
    case 178: case 180: case 181: case 182: case 183: case 184: case 185: case 186:
    case 187: case 188: case 189: case 190: case 191: case 192: case 193: case 195:
    case 196: case 197: case 198: case 199:
      return true;
    default:
      return false;  // 140-144/146/148 IoT, 174 satellite, unallocated segments
  }
}

bool luhnValid(std::string_view s) {
  if (s.empty() || !allDigits(s)) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = s.size(); i-- > 0;) {
    int d = s[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool bankCardBinKnown(std::string_view s) {
  if (s.size() < 13 || s.size() > 19 || !allDigits(s)) return false;
  size_t n = s.size();
  int p2 = num(s.substr(0, 2)), p4 = num(s.substr(0, 4));
  if (p2 == 62) return n >= 16 && n <= 19;                         // UnionPay
  if (s[0] == '4') return n == 13 || n == 16 || n == 19;           // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                        // American Express
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;         // JCB
  return false;
}

bool validBankCard(std::string_view s) {
  if (!bankCardBinKnown(s)) return false;
  bool same = true;
  for (char c : s) same = same && c == s[0];
  return !same && luhnValid(s);
}

char usccCheckChar(std::string_view s) {
  static constexpr int kW[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    int v = usccValue(s[i]);
    if (v < 0) return '\0';
    sum += v * kW[i];
  }
  int c = 31 - sum % 31;
  if (c == 31) c = 0;
  return kUsccCharset[static_cast<size_t>(c)];
}

bool validOrgCode(std::string_view s) {
  static constexpr int kW[8] = {3, 7, 9, 10, 5, 8, 4, 2};
  if (s.size() != 9) return false;
  int sum = 0;
  for (size_t i = 0; i < 8; ++i) {
    char c = s[i];
    int v = isDigit(c) ? c - '0' : isUpper(c) ? c - 'A' + 10 : -1;
    if (v < 0) return false;
    sum += v * kW[i];
  }
  int c9 = 11 - sum % 11;
  char want = c9 == 10 ? 'X' : c9 == 11 ? '0' : static_cast<char>('0' + c9);
  return s[8] == want;
}

bool validUscc(std::string_view s) {
  if (s.size() != 18) return false;
  for (char c : s) {
    if (usccValue(c) < 0) return false;
  }
  // Positions 1-2: registration authority and organisation type (GB 32100 table 1).
  static constexpr std::string_view kTypes[] = {"11", "12", "13", "19", "21", "29", "31", "32", "33", "34", "35", "39",
                                                "41", "49", "51", "52", "53", "59", "61", "62", "69", "71", "72", "79",
                                                "81", "89", "91", "92", "93", "A1", "A9", "N1", "N2", "N3", "N9", "Y1"};
  if (std::find(std::begin(kTypes), std::end(kTypes), s.substr(0, 2)) == std::end(kTypes)) return false;
  if (!allDigits(s.substr(2, 6)) || !validProvinceCode(num(s.substr(2, 2)))) return false;
  if (!validOrgCode(s.substr(8, 9))) return false;
  return usccCheckChar(s) == s[17];
}

char vinCheckChar(std::string_view s) {
  static constexpr int kW[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  // Transliteration A1 B2 ... H8, J1 ... N5, P7, R9, S2 ... Z9; I, O, Q are invalid.
  static constexpr int kLetter[26] = {1, 2, 3, 4, 5, 6, 7, 8, -1, 1, 2, 3, 4,
                                      5, -1, 7, -1, 9, 2, 3, 4, 5, 6, 7, 8, 9};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    char c = s[i];
    int v = isDigit(c) ? c - '0' : isUpper(c) ? kLetter[c - 'A'] : -1;
    if (v < 0) return '\0';
    sum += v * kW[i];
  }
  int r = sum % 11;
  return r == 10 ? 'X' : static_cast<char>('0' + r);
}

bool validVin(std::string_view s) {
  if (s.size() != 17) return false;
  int letters = 0;
  for (char c : s) {
    if (!isDigit(c) && !isUpper(c)) return false;
    if (c == 'I' || c == 'O' || c == 'Q') return false;
    letters += isUpper(c);
  }
  // A world manufacturer identifier always has a letter; model year (pos 10) is never
  // U, Z or 0. These reject long numeric ids that pass the 1-in-11 check by chance.
  if (!isUpper(s[0]) && !isUpper(s[1]) && !isUpper(s[2])) return false;
  if (s[9] == 'U' || s[9] == 'Z' || s[9] == '0') return false;
  if (letters < 2) return false;
  return vinCheckChar(s) == s[8];
}

bool validPassportNumber(std::string_view s) {
  auto digitsFrom = [&](size_t i) { return allDigits(s.substr(i)); };
  if (s.size() == 9) {
    switch (s[0]) {
      case 'E':
        if (digitsFrom(1)) return true;
        return isUpper(s[1]) && s[1] != 'I' && s[1] != 'O' && digitsFrom(2);
      case 'G':
      case 'K':
        if (digitsFrom(1)) return true;
        return s[0] == 'K' && s[1] == 'J' && digitsFrom(2);
      case 'D':
      case 'S':
      case 'P':
        return s[1] == 'E' && digitsFrom(2);
      case 'M':
        return s[1] == 'A' && digitsFrom(2);
      default:
        return false;
    }
  }
  return false;
}

int mrzCheckDigit(std::string_view s) {
  static constexpr int kW[3] = {7, 3, 1};
  int sum = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    int v = isDigit(c) ? c - '0' : isUpper(c) ? c - 'A' + 10 : c == '<' ? 0 : -1;
    if (v < 0) return -1;
    sum += v * kW[i % 3];
  }
  return sum % 10;
}

bool validMrzLine2(std::string_view s) {
  if (s.size() != 44) return false;
  auto check = [&](size_t pos, size_t len, size_t at) {
    int d = mrzCheckDigit(s.substr(pos, len));
    char c = s[at];
    return d >= 0 && ((c == '<' && d == 0) || (isDigit(c) && c - '0' == d));
  };
  if (!check(0, 9, 9) || !check(13, 6, 19) || !check(21, 6, 27)) return false;
  // Composite: number+check, DOB+check, expiry+check+optional+check.
  int sum = 0;
  static constexpr int kW[3] = {7, 3, 1};
  size_t k = 0;
  auto add = [&](size_t pos, size_t len) {
    for (size_t i = pos; i < pos + len; ++i, ++k) {
      char c = s[i];
      int v = isDigit(c) ? c - '0' : isUpper(c) ? c - 'A' + 10 : 0;
      sum += v * kW[k % 3];
    }
  };
  add(0, 10);
  add(13, 7);
  add(21, 22);
  return isDigit(s[43]) && s[43] - '0' == sum % 10;
}

bool validHkMacauPermit(std::string_view s) {
  if (s.size() != 9 || (s[0] != 'C' && s[0] != 'W')) return false;
  if (!isDigit(s[1]) && !isUpper(s[1])) return false;
  return allDigits(s.substr(2));
}

bool knownTld(std::string_view t) {
  char buf[16];
  if (t.size() < 2 || t.size() >= sizeof(buf)) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (isUpper(c)) c = static_cast<char>(c - 'A' + 'a');
    if (!isLower(c)) return false;
    buf[i] = c;
  }
  std::string_view lt(buf, t.size());
  if (lt.size() == 2) {
    for (size_t i = 0; i + 1 < kCcTlds.size(); i += 2) {
      if (kCcTlds.substr(i, 2) == lt) return true;
    }
    return false;
  }
  for (auto g : kGenericTlds) {
    if (g == lt) return true;
  }
  return false;
}

bool validEmail(std::string_view s) {
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || s.size() - at - 1 > 253) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  // SSH names its algorithms "name@domain" (RFC 4251 §6), e.g.
  // chacha20-poly1305@openssh.com: protocol identifiers in every SSH handshake, not
  // mailboxes (found on the real-capture survey).
  for (std::string_view ns : {"openssh.com", "libssh.org", "lysator.liu.se", "ssh.com"}) {
    if (domain.size() == ns.size()) {
      bool same = true;
      for (size_t i = 0; i < ns.size() && same; ++i) same = (domain[i] | 0x20) == ns[i] || domain[i] == ns[i];
      if (same) return false;
    }
  }
  if (local.front() == '.' || local.back() == '.') return false;
  for (size_t i = 0; i < local.size(); ++i) {
    char c = local[i];
    if (!isAlnum(c) && std::string_view("._%+-").find(c) == std::string_view::npos) return false;
    if (c == '.' && i + 1 < local.size() && local[i + 1] == '.') return false;
  }
  size_t labels = 0, start = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      std::string_view label = domain.substr(start, i - start);
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
        return false;
      for (char c : label) {
        if (!isAlnum(c) && c != '-') return false;
      }
      ++labels;
      if (i == domain.size()) return labels >= 2 && knownTld(label);
      start = i + 1;
    }
  }
  return false;
}

bool chinaBoundingBox(double lat, double lon) {
  return lat >= 3.8 && lat <= 53.6 && lon >= 73.5 && lon <= 135.1;
}

bool validGps(std::string_view s, GpsForm form) {
  if (form == GpsForm::kNmea) return validNmea(s);
  double v[2] = {0, 0};
  int dec[2] = {0, 0};
  size_t found = 0;
  for (size_t i = 0; i < s.size() && found < 2;) {
    bool startsNum = isDigit(s[i]) || ((s[i] == '-' || s[i] == '+') && i + 1 < s.size() &&
                                       isDigit(s[i + 1]));
    // A number glued to a letter is part of a key (e.g. "lat2"), not a value.
    if (startsNum && (i == 0 || !isAlnum(s[i - 1]))) {
      if (!parseDecimal(s, i, v[found], dec[found])) return false;
      ++found;
    } else {
      ++i;
    }
  }
  if (found != 2 || dec[0] < 4 || dec[1] < 4) return false;
  double lat = form == GpsForm::kLatLon ? v[0] : v[1];
  double lon = form == GpsForm::kLatLon ? v[1] : v[0];
  return chinaBoundingBox(lat, lon);
}

bool validIcd10(std::string_view s) {
  if (s.size() < 3 || s.size() > 8) return false;
  if (!isUpper(s[0]) || s[0] == 'U' || !isDigit(s[1]) || !isDigit(s[2])) return false;
  if (s.size() == 3) return true;
  if (s[3] != '.' || s.size() == 4) return false;
  for (size_t i = 4; i < s.size(); ++i) {
    if (!isDigit(s[i]) && !isUpper(s[i])) return false;
  }
  return true;
}

size_t normalizeDigits(std::string_view in, char* out, size_t cap, bool keepX) {
  size_t n = 0;
  for (char c : in) {
    if (isDigit(c) || (keepX && (c == 'X' || c == 'x'))) {
      if (n == cap) return cap + 1;
      out[n++] = toUpper(c);
    }
  }
  return n;
}

}  // namespace xborder::rules::detectors
