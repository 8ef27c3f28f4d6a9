#include "tests/rules_detectors/detector_corpus.h"

#include <zlib.h>

#include <functional>
#include <random>
#include <string_view>

#include "rules/detectors/detector_set.h"
#include "rules/detectors/detector_validators.h"

namespace xborder::rules::detectors::testing {
namespace {

using Rng = std::mt19937_64;
using D = DetectorId;

int uni(Rng& r, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(r); }
template <typename T>
const T& pick(Rng& r, const std::vector<T>& v) { return v[static_cast<size_t>(uni(r, 0, static_cast<int>(v.size()) - 1))]; }

std::string digits(Rng& r, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('0' + uni(r, 0, 9));
  return s;
}
std::string pad(int v, int w) {
  std::string s = std::to_string(v);
  while (static_cast<int>(s.size()) < w) s = "0" + s;
  return s;
}

const std::vector<int> kProvinces = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42,
                                     43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65};

std::string residentId(Rng& r) {
  for (;;) {
    std::string s = std::to_string(pick(r, kProvinces)) + pad(uni(r, 1, 20), 2) + pad(uni(r, 1, 30), 2);
    int y = uni(r, 1950, 2012), m = uni(r, 1, 12), d = uni(r, 1, 28);
    s += std::to_string(y) + pad(m, 2) + pad(d, 2) + digits(r, 3);
    return s + residentIdCheckChar(s);
  }
}

std::string residentIdNearMiss(Rng& r) {
  std::string s = residentId(r);
  switch (uni(r, 0, 3)) {
    case 0: {  // wrong check character
      char c = s[17];
      do s[17] = "0123456789X"[uni(r, 0, 10)]; while (s[17] == c);
      return s;
    }
    case 1: {  // impossible date, recomputed check
      std::string f = s.substr(0, 10) + pick(r, std::vector<std::string>{"1301", "0230", "0431", "0032"}) + s.substr(14, 3);
      return f + residentIdCheckChar(f);
    }
    case 2: {  // not a province
      std::string f = pick(r, std::vector<std::string>{"19", "29", "40", "55", "66", "80", "90"}) + s.substr(2, 15);
      return f + residentIdCheckChar(f);
    }
    default: {  // born in the future
      std::string f = s.substr(0, 6) + std::to_string(uni(r, 2031, 2099)) + s.substr(10, 7);
      return f + residentIdCheckChar(f);
    }
  }
}

const std::vector<std::string> kMobilePrefixes = {"130", "131", "135", "138", "139", "150", "152", "157", "166", "177",
                                                  "180", "186", "189", "191", "199", "147", "173", "198"};
std::string mobile(Rng& r) { return pick(r, kMobilePrefixes) + digits(r, 8); }
// The written forms people and forms use: +86 / 0086 prefixes, spaces and hyphens.
std::string mobileFormatted(Rng& r) {
  std::string m = mobile(r);
  switch (uni(r, 0, 4)) {
    case 0: return "+86 " + m.substr(0, 3) + " " + m.substr(3, 4) + " " + m.substr(7);
    case 1: return "0086-" + m;
    case 2: return m.substr(0, 3) + "-" + m.substr(3, 4) + "-" + m.substr(7);
    case 3: return "+86" + m;
    default: return m;
  }
}
std::string grouped(const std::string& digitsOnly) {
  std::string g;
  for (size_t i = 0; i < digitsOnly.size(); ++i) g += (i && i % 4 == 0 ? " " : "") + std::string(1, digitsOnly[i]);
  return g;
}
std::string floats(Rng& r, int n) {
  std::string v;
  for (int i = 0; i < n; ++i) v += (i ? "," : "") + std::string(uni(r, 0, 1) ? "-" : "") + "0." + digits(r, 6);
  return v;
}
std::string mobileNearMiss(Rng& r) {
  return pick(r, std::vector<std::string>{"140", "141", "154", "174", "128", "120", "100"}) + digits(r, 8);
}

std::string withLuhn(std::string body) {
  for (char c = '0'; c <= '9'; ++c) {
    if (luhnValid(body + c)) return body + c;
  }
  return body;
}
std::string bankCard(Rng& r) {
  switch (uni(r, 0, 4)) {
    case 0: return withLuhn("62" + digits(r, 15));       // UnionPay 18... 17+1
    case 1: return withLuhn("622" + digits(r, 15));      // UnionPay 19
    case 2: return withLuhn("4" + digits(r, 14));        // Visa 16
    case 3: return withLuhn(std::to_string(uni(r, 51, 55)) + digits(r, 13));  // Mastercard
    default: return withLuhn(std::to_string(uni(r, 3528, 3589)) + digits(r, 11));  // JCB
  }
}
std::string bankCardNearMiss(Rng& r) {
  std::string s = bankCard(r);
  if (uni(r, 0, 1) == 0) {
    s.back() = static_cast<char>('0' + (s.back() - '0' + uni(r, 1, 9)) % 10);  // Luhn fails
    return s;
  }
  return withLuhn("9" + digits(r, 15));  // no such BIN
}

constexpr std::string_view kUsccSet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
std::string uscc(Rng& r) {
  for (;;) {
    std::string org;
    for (int i = 0; i < 8; ++i) org += kUsccSet[static_cast<size_t>(uni(r, 0, 30))];
    for (char c : std::string_view("0123456789X")) {
      if (validOrgCode(org + c)) {
        org += c;
        break;
      }
    }
    if (org.size() != 9) continue;
    std::string s = pick(r, std::vector<std::string>{"91", "92", "93", "11", "12", "51", "52"}) +
                    std::to_string(pick(r, kProvinces)) + pad(uni(r, 1, 20), 2) + pad(uni(r, 0, 30), 2) + org;
    char c = usccCheckChar(s);
    if (c) return s + c;
  }
}
std::string usccNearMiss(Rng& r) {
  std::string s = uscc(r);
  char c = s[17];
  do s[17] = kUsccSet[static_cast<size_t>(uni(r, 0, 30))]; while (s[17] == c);
  return s;
}

constexpr std::string_view kVinSet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
std::string vin(Rng& r) {
  std::string s = pick(r, std::vector<std::string>{"LSV", "LFV", "LGB", "LVS", "LSG", "LBV", "1M8", "WVW", "JHM", "5YJ"});
  for (int i = 0; i < 5; ++i) s += kVinSet[static_cast<size_t>(uni(r, 0, 32))];
  s += '0';
  s += "ABCDEFGHJKLMNPRSTVWXY123456789"[uni(r, 0, 29)];
  for (int i = 0; i < 7; ++i) s += kVinSet[static_cast<size_t>(uni(r, 0, 32))];
  s[8] = vinCheckChar(s);
  return s;
}
std::string vinNearMiss(Rng& r) {
  std::string s = vin(r);
  char c = s[8];
  do s[8] = "0123456789X"[uni(r, 0, 10)]; while (s[8] == c);
  return s;
}

std::string passport(Rng& r) {
  switch (uni(r, 0, 5)) {
    case 0: return "E" + digits(r, 8);
    case 1: return std::string("E") + "ABCDEFGHJKLMNPQRSTUVWXYZ"[uni(r, 0, 23)] + digits(r, 7);
    case 2: return "G" + digits(r, 8);
    case 3: return pick(r, std::vector<std::string>{"DE", "SE", "PE"}) + digits(r, 7);
    case 4: return "K" + digits(r, 8);
    default: return "MA" + digits(r, 7);
  }
}
std::string passportNearMiss(Rng& r) {
  switch (uni(r, 0, 2)) {
    case 0: return pick(r, std::vector<std::string>{"F", "H", "B", "Q"}) + digits(r, 8);
    case 1: return "E" + digits(r, 7);
    default: return "G" + digits(r, 9);
  }
}

std::string email(Rng& r) {
  std::string local = pick(r, std::vector<std::string>{"zhang.san", "lisi", "wang_wu88", "chen.li+news", "j.smith",
                                                       "liu-yang", "user" + digits(r, 4)});
  return local + "@" + pick(r, std::vector<std::string>{"qq.com", "163.com", "126.com", "sina.com.cn", "gmail.com",
                                                        "example.org", "corp.example.cn", "outlook.com"});
}
std::string emailNearMiss(Rng& r) {
  return pick(r, std::vector<std::string>{"logo@2x.png", "icon@3x.webp", "user@localhost", "a..b@qq.com",
                                          "admin@server.internal", "git@host.lan", "name@-bad.com"});
}

std::string coord(Rng& r, double lo, double hi, int decimals) {
  double v = std::uniform_real_distribution<double>(lo, hi)(r);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}
std::string gps(Rng& r, bool good) {
  int dec = good ? uni(r, 4, 7) : uni(r, 1, 3);
  bool inChina = good || uni(r, 0, 1) == 0;
  if (!inChina) dec = uni(r, 4, 6);
  std::string lat = inChina ? coord(r, 18.5, 50.0, dec) : coord(r, -40.0, 2.0, dec);
  std::string lon = inChina ? coord(r, 75.0, 134.0, dec) : coord(r, -120.0, 10.0, dec);
  switch (uni(r, 0, 4)) {
    case 0: return "{\"lat\": " + lat + ", \"lng\": " + lon + "}";
    case 1: return "{\"longitude\":\"" + lon + "\",\"latitude\":\"" + lat + "\"}";
    case 2: return "{\"type\":\"Point\",\"coordinates\":[" + lon + "," + lat + "]}";
    case 3: return "POINT(" + lon + " " + lat + ")";
    default: {
      if (!good) return "lat=" + lat + "&lon=" + lon;
      // NMEA ddmm.mmmm
      double la = std::stod(lat), lo = std::stod(lon);
      char buf[128];
      std::snprintf(buf, sizeof(buf), "$GPRMC,083559.00,A,%02d%07.4f,N,%03d%07.4f,E,0.004,77.52,091202,,,A*57",
                    static_cast<int>(la), (la - static_cast<int>(la)) * 60, static_cast<int>(lo),
                    (lo - static_cast<int>(lo)) * 60);
      return buf;
    }
  }
}

std::string plate(Rng& r) {
  static const std::vector<std::string> kProv = {"京", "沪", "苏", "浙", "粤", "川", "鲁", "豫", "鄂", "湘"};
  std::string p = pick(r, kProv) + std::string(1, "ABCDEFGHJK"[uni(r, 0, 9)]);
  constexpr std::string_view kAn = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
  switch (uni(r, 0, 2)) {
    case 0:
      for (int i = 0; i < 5; ++i) p += kAn[static_cast<size_t>(uni(r, 0, 33))];
      return p;
    case 1:
      return p + "DABCEFGHJK"[uni(r, 0, 9)] + digits(r, 5);
    default:
      return p + digits(r, 4) + pick(r, std::vector<std::string>{"挂", "学", "警"});
  }
}

std::string lorem(Rng& r, int words) {
  static const std::vector<std::string> kWords = {"the", "quarterly", "report", "shows", "stable", "growth", "in",
                                                  "logistics", "and", "retail", "segments", "while", "costs", "fell",
                                                  "slightly", "due", "to", "improved", "routing", "of", "shipments"};
  std::string s;
  for (int i = 0; i < words; ++i) s += (i ? " " : "") + pick(r, kWords);
  return s;
}
std::string hanzi(Rng& r, int phrases) {
  static const std::vector<std::string> kP = {"本季度", "业务发展", "总体平稳", "物流成本", "有所下降", "客户满意度",
                                              "持续提升", "系统运行", "正常", "会议纪要", "如下", "请各部门"};
  std::string s;
  for (int i = 0; i < phrases; ++i) s += pick(r, kP);
  return s;
}

// Wraps a value with its context keyword in one of the carriers.
std::string carrier(Rng& r, const std::string& key, const std::string& value, bool allowGbk) {
  switch (uni(r, 0, allowGbk ? 5 : 4)) {
    case 0:
      return "{\"id\":" + digits(r, 3) + ",\"name\":\"" + lorem(r, 2) + "\",\"" + key + "\":\"" + value + "\",\"note\":\"" +
             lorem(r, 5) + "\"}";
    case 1:
      return "seq,name," + key + ",city\n" + digits(r, 2) + ",Li Lei," + value + ",Suzhou\n";
    case 2:
      return "POST /api/submit HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nname=li&" + key +
             "=" + value + "&ok=1";
    case 3:
      return hanzi(r, 3) + "，" + key + "：" + value + "，" + hanzi(r, 2) + "。";
    case 4:
      return lorem(r, 6) + ". Customer " + key + ": " + value + ". " + lorem(r, 4) + ".";
    default: {
      auto g = utf8ToGbk(hanzi(r, 2) + "，" + key + "：" + value + "。" + hanzi(r, 2));
      return g ? *g : value;
    }
  }
}

std::string deflateBytes(const std::string& in, bool gzip) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string randomBytes(Rng& r, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(uni(r, 0, 255));
  return s;
}

}  // namespace

std::vector<LabelledSample> generateCorpus(uint64_t seed, int perKind) {
  Rng r(seed);
  std::vector<LabelledSample> out;
  auto add = [&](std::string kind, std::string bytes, std::initializer_list<D> expect) {
    LabelledSample s{std::move(kind), std::move(bytes), {}};
    for (D d : expect) s.expect[static_cast<size_t>(d)] = true;
    out.push_back(std::move(s));
  };
  for (int i = 0; i < perKind; ++i) {
    // Positives, each with its detector's context keyword.
    add("cn_resident_id", carrier(r, pick(r, std::vector<std::string>{"身份证", "id_no", "idcard", "证件号"}), residentId(r), true),
        {D::kCnResidentId});
    add("cn_resident_id/bare", lorem(r, 3) + " " + residentId(r) + " " + lorem(r, 2), {D::kCnResidentId});
    {
      std::string id = residentId(r);
      std::string legacy = id.substr(0, 6) + id.substr(8, 9);  // GB 11643-1989 15-digit form
      if (id.substr(6, 2) == "19") {
        add("cn_resident_id/legacy15", carrier(r, "身份证", legacy, true), {D::kCnResidentId});
      }
      add("nearmiss/legacy15_nocontext", "serial " + legacy + " " + lorem(r, 3), {});
    }
    add("cn_mobile", carrier(r, pick(r, std::vector<std::string>{"手机", "mobile", "phone", "tel", "联系电话"}), mobileFormatted(r), true),
        {D::kCnMobile});
    {
      std::string card = bankCard(r);
      add("bank_card", carrier(r, pick(r, std::vector<std::string>{"卡号", "银行卡", "card_no", "account"}),
                               uni(r, 0, 2) == 0 ? grouped(card) : card, true),
          {D::kBankCard});
    }
    add("face_image_or_template",
        uni(r, 0, 1) ? "POST /upload/perception/" + digits(r, 4) + " HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n\r\n" +
                           std::string("\xff\xd8\xff\xe0", 4) + randomBytes(r, 300)
                     : "{\"track_id\":" + digits(r, 4) + ",\"face_feature\":[" + floats(r, 128) + "]}",
        {D::kFaceImageOrTemplate});
    add("cn_passport", carrier(r, pick(r, std::vector<std::string>{"护照", "passport", "passport_no"}), passport(r), true),
        {D::kCnPassport});
    add("hk_macau_permit", carrier(r, pick(r, std::vector<std::string>{"港澳通行证", "permit_no"}),
                                   std::string(1, "CW"[uni(r, 0, 1)]) + digits(r, 8), true),
        {D::kHkMacauPermit});
    add("uscc", carrier(r, pick(r, std::vector<std::string>{"统一社会信用代码", "uscc", "credit_code"}), uscc(r), true), {D::kUscc});
    add("vin", carrier(r, pick(r, std::vector<std::string>{"vin", "车架号", "vehicle"}), vin(r), true), {D::kVin});
    add("email", carrier(r, pick(r, std::vector<std::string>{"email", "邮箱", "contact"}), email(r), true), {D::kEmail});
    add("gps_coordinate", lorem(r, 2) + " " + gps(r, true) + "\n", {D::kGpsCoordinate});
    add("cn_plate", carrier(r, pick(r, std::vector<std::string>{"车牌", "plate"}), plate(r), true), {D::kCnPlate});
    add("medical_record_fields",
        carrier(r, pick(r, std::vector<std::string>{"诊断", "diagnosis", "icd10"}),
                std::string(1, "ABCDEFGHIJKLMN"[uni(r, 0, 13)]) + digits(r, 2) + "." + digits(r, 1), true),
        {D::kMedicalRecordFields});
    {
      std::string fq;
      for (int k = 0; k < 3; ++k) {
        std::string seq;
        for (int j = 0; j < 50; ++j) seq += "ACGT"[uni(r, 0, 3)];
        fq += "@SRR" + digits(r, 6) + "." + std::to_string(k + 1) + "\n" + seq + "\n+\n" + std::string(50, 'I') + "\n";
      }
      add("genomic/fastq", fq, {D::kGenomicSequence});
      add("genomic/vcf", "##fileformat=VCFv4.2\n##source=pipeline\n#CHROM\tPOS\tID\tREF\tALT\n1\t" + digits(r, 6) + "\t.\tA\tG\n",
          {D::kGenomicSequence});
      std::string bgzf("\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00\x42\x43\x02\x00", 16);
      add("genomic/bgzf", bgzf + randomBytes(r, 300), {D::kGenomicSequence});
      std::string dicom = std::string(128, '\0') + "DICM" + std::string("\x02\x00\x00\x00UL\x04\x00", 8) + randomBytes(r, 200);
      add("medical/dicom", dicom, {D::kMedicalRecordFields});
    }
    add("classified_marking", pick(r, std::vector<std::string>{"机密★10年", "秘密★1年", "绝密★长期"}) + "\n" + hanzi(r, 6),
        {D::kClassifiedMarking});

    // Near-misses: must NOT fire.
    add("nearmiss/cn_resident_id", carrier(r, "身份证", residentIdNearMiss(r), true), {});
    add("nearmiss/cn_mobile", carrier(r, "mobile", mobileNearMiss(r), true), {});
    add("nearmiss/cn_mobile_nocontext", lorem(r, 4) + " order " + mobile(r) + " " + lorem(r, 3), {});
    add("nearmiss/bank_card", carrier(r, "card_no", bankCardNearMiss(r), true), {});
    add("nearmiss/bank_card_nocontext", "order_id=" + bankCard(r) + "&status=paid", {});
    add("nearmiss/uscc", carrier(r, "uscc", usccNearMiss(r), true), {});
    add("nearmiss/vin", carrier(r, "vin", vinNearMiss(r), true), {});
    add("nearmiss/cn_passport", carrier(r, "passport", passportNearMiss(r), true), {});
    add("nearmiss/email", carrier(r, "image", emailNearMiss(r), false), {});
    add("nearmiss/gps_coordinate", lorem(r, 2) + " " + gps(r, false) + "\n", {});
    add("nearmiss/hk_macau_permit", "ref C" + digits(r, 8) + " " + lorem(r, 3), {});
    add("nearmiss/medical", "flight A" + digits(r, 2) + " and vitamin B12 " + lorem(r, 3), {});
    add("nearmiss/medical_word", "the diagnosis of the outage took " + digits(r, 2) + " hours; " + lorem(r, 4), {});
    add("medical/field_key",
        pick(r, std::vector<std::string>{"{\"diagnosis\":\"", "{\"诊断\":\"", "{\"chief_complaint\":\""}) +
            pick(r, std::vector<std::string>{"community-acquired pneumonia", "高血压", "2型糖尿病", "fever and cough"}) + "\"}",
        {D::kMedicalRecordFields});
    add("nearmiss/classified", std::string(3000, ' ') + "机密★", {});
    add("nearmiss/gzip_not_bgzf", deflateBytes(lorem(r, 50), true), {});

    // Benign text and binary.
    add("benign/random", randomBytes(r, 4096), {});
    add("benign/deflate", deflateBytes(lorem(r, 200) + hanzi(r, 50), false), {});
    {
      // gzip of a short record keeps its bytes as literals, so the identifier can still
      // be visible: the label is whether it is, byte for byte.
      std::string id = residentId(r);
      std::string z = deflateBytes(carrier(r, "身份证", id, false), true);
      bool visible = z.find(id) != std::string::npos;
      add(visible ? "gzip/pii_visible" : "benign/gzip_of_pii", z, {});
      if (visible) out.back().expect[static_cast<size_t>(D::kCnResidentId)] = true;
      // A long document compresses for real: the identifier is no longer there.
      std::string big;
      for (int k = 0; k < 20; ++k) big += carrier(r, "身份证", residentId(r), false) + "\n";
      add("benign/gzip_of_pii_document", deflateBytes(big + lorem(r, 400), true), {});
    }
    add("nearmiss/face",
        uni(r, 0, 1) ? "POST /api/avatar HTTP/1.1\r\nContent-Type: image/png\r\n\r\n" + randomBytes(r, 200)
                     : "{\"face_feature\":[" + floats(r, 8) + "]}",
        {});
    add("nearmiss/id_in_longer_number", "trade_no=" + digits(r, 2) + residentId(r) + digits(r, 1), {});
    add("nearmiss/vin_nocontext", "part " + vin(r) + " shipped", {});
    add("benign/png", std::string("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16) + randomBytes(r, 2048), {});
    add("benign/jpeg", std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11) + randomBytes(r, 2048), {});
    add("benign/order_numbers",
        "{\"order_no\":\"" + digits(r, 20) + "\",\"ts\":" + std::to_string(1700000000000LL + uni(r, 0, 1 << 30)) +
            ",\"trade_no\":\"2025" + digits(r, 24) + "\",\"amount\":" + digits(r, 3) + "." + digits(r, 2) + "}",
        {});
    {
      std::string hexs;
      for (int k = 0; k < 40; ++k) hexs += "0123456789abcdef"[uni(r, 0, 15)];
      add("benign/hashes", "{\"sha1\":\"" + hexs + "\",\"uuid\":\"" + hexs.substr(0, 8) + "-" + hexs.substr(8, 4) + "-" +
                               hexs.substr(12, 4) + "-" + hexs.substr(16, 4) + "-" + hexs.substr(20, 12) + "\"}",
          {});
    }
    {
      // Product keys and tracking codes: upper-case alphanumerics of many lengths
      // (17-character ones are VIN-shaped and must fail the check digit or WMI rules).
      std::string keys;
      constexpr std::string_view kAn = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
      for (int k = 0; k < 6; ++k) {
        int len = uni(r, 10, 32);
        std::string key;
        for (int j = 0; j < len; ++j) key += kAn[static_cast<size_t>(uni(r, 0, 32))];
        keys += "key=" + key + "\n";
      }
      add("benign/product_keys", keys, {});
    }
    add("benign/english", lorem(r, 80), {});
    add("benign/chinese", hanzi(r, 40), {});
    {
      auto g = utf8ToGbk(hanzi(r, 30));
      add("benign/gbk", g ? *g : "", {});
    }
  }
  return out;
}

}  // namespace xborder::rules::detectors::testing
