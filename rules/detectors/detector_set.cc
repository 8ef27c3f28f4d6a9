#include "rules/detectors/detector_set.h"

#include <hs/hs.h>
#include <iconv.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <type_traits>

#include "absl/status/status.h"

namespace xborder::rules::detectors {
namespace {

// absl::StrCat in Debian's absl 20220623 takes absl::string_view, which is not
// std::string_view there; this small variadic concatenation avoids the mismatch.
void appendOne(std::string& out, std::string_view v) { out.append(v.data(), v.size()); }
void appendOne(std::string& out, const char* v) { out.append(v); }
void appendOne(std::string& out, const std::string& v) { out.append(v); }
void appendOne(std::string& out, char) = delete;
void appendOne(std::string& out, absl::string_view v) { out.append(v.data(), v.size()); }
template <typename T>
  requires std::is_integral_v<T>
void appendOne(std::string& out, T v) {
  out += std::to_string(v);
}
template <typename... Args>
std::string cat(const Args&... args) {
  std::string out;
  (appendOne(out, args), ...);
  return out;
}
template <typename... Args>
void append(std::string* out, const Args&... args) {
  (appendOne(*out, args), ...);
}
std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) appendOne(out, sep);
    out += v[i];
  }
  return out;
}

constexpr char kMagic[4] = {'X', 'B', 'D', 'S'};
constexpr uint32_t kFormatVersion = 1;

// Field boundaries around ASCII identifiers (DOMAIN.md §4: non-alphanumeric both sides).
constexpr std::string_view kB = "(?:\\A|[^0-9A-Za-z])";
constexpr std::string_view kE = "(?:[^0-9A-Za-z]|\\z)";

// GA 36-2018 province abbreviations, then the final-position characters 挂学警港澳.
constexpr std::string_view kProvinces[] = {
    "京", "津", "沪", "渝", "冀", "豫", "云", "辽", "黑", "湘", "皖", "鲁", "新", "苏", "浙", "赣",
    "鄂", "桂", "甘", "晋", "蒙", "陕", "吉", "闽", "贵", "粤", "青", "藏", "川", "宁", "琼"};
constexpr std::string_view kPlateSuffixes[] = {"挂", "学", "警", "港", "澳"};

std::string hexEscape(std::string_view bytes) {
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Case-insensitive for ASCII letters, every other byte escaped.
std::string caseless(std::string_view s) {
  std::string out;
  for (char c : s) {
    char lo = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    char up = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (lo != up) {
      out += '[';
      out += lo;
      out += up;
      out += ']';
    } else {
      out += hexEscape(std::string_view(&c, 1));
    }
  }
  return out;
}

struct Pattern {
  std::string expr;
  unsigned flags;
  PatternMeta meta;
};

class PatternBuilder {
 public:
  void add(std::string expr, unsigned flags, PatternMeta meta) {
    patterns.push_back({std::move(expr), flags, meta});
  }
  void candidate(DetectorId d, CandidateForm f, std::string expr) {
    add(std::move(expr), HS_FLAG_SOM_LEFTMOST, {PatternRole::kCandidate, d, f, 0});
  }
  void signature(DetectorId d, std::string expr, unsigned extra = 0) {
    add(std::move(expr), extra, {PatternRole::kSignature, d, CandidateForm::kNone, 0});
  }
  // English keywords: ASCII case-insensitive; a field boundary before (or a camelCase
  // hump: "userPhone") and no lower-case letter or digit after ("phoneNumber" matches,
  // "telescope" does not). Other keywords: exact UTF-8 bytes plus their GBK form.
  absl::Status keyword(std::string_view kw, bool gbk, PatternMeta meta) {
    if (kw.empty()) return absl::InvalidArgumentError("empty keyword");
    if (isAscii(kw)) {
      std::string body = caseless(kw);
      std::string expr = cat("(?:(?:\\A|[^A-Za-z0-9])", body);
      if (std::isalpha(static_cast<unsigned char>(kw[0]))) {
        char first = static_cast<char>(std::toupper(static_cast<unsigned char>(kw[0])));
        append(&expr, "|[a-z0-9]", std::string(1, first), caseless(kw.substr(1)));
      }
      append(&expr, ")(?:[^a-z0-9]|\\z)");
      add(expr, 0, meta);
      return absl::OkStatus();
    }
    add(hexEscape(kw), 0, meta);
    if (gbk) {
      auto g = utf8ToGbk(kw);
      if (!g) return absl::InvalidArgumentError(cat("keyword '", kw, "' has no GBK form"));
      if (*g != kw) add(hexEscape(*g), 0, meta);
    }
    return absl::OkStatus();
  }
  std::vector<Pattern> patterns;
};

std::string alternation(const std::vector<std::string>& items) {
  std::vector<std::string> esc;
  for (const auto& i : items) esc.push_back(hexEscape(i));
  return cat("(?:", join(esc, "|"), ")");
}

void plates(PatternBuilder& b, const std::vector<std::string>& provinces,
            const std::vector<std::string>& suffixes, CandidateForm form) {
  const std::string p = alternation(provinces);
  const std::string s = alternation(suffixes);
  constexpr std::string_view kL = "[A-HJ-NP-Z]";
  constexpr std::string_view kAn = "[A-HJ-NP-Z0-9]";
  // Ordinary (7 chars), new-energy small and large (8 chars), and 挂学警港澳 suffixes, in
  // one pattern per encoding (the scanner re-parses the shape; one pattern is cheaper).
  b.candidate(DetectorId::kCnPlate, form,
              cat(p, kL, "(?:(?:", kAn, "{5}|[DABCEFGHJK]", kAn, "[0-9]{4}|[0-9]{5}[DABCEFGHJK])", kE, "|", kAn,
                  "{4}", s, ")"));
}

absl::Status addDetectorPatterns(PatternBuilder& b, DetectorId d,
                                 const std::vector<std::string>& utf8Chars,
                                 const std::vector<std::string>& gbkChars) {
  using F = CandidateForm;
  using D = DetectorId;
  // Keep in sync with docs/detectors.md.
  constexpr std::string_view kWs = "[ \\t\\r\\n]{0,16}";
  constexpr std::string_view kNum2 = "[-+]?[0-9]{1,2}\\.[0-9]{4,}";
  constexpr std::string_view kNum3 = "[-+]?[0-9]{1,3}\\.[0-9]{4,}";
  switch (d) {
    case D::kCnResidentId:
      b.candidate(d, F::kResidentId,
                  cat(kB, "[1-8][0-9]{5}(?:19|20)[0-9]{2}[01][0-9][0-3][0-9]{4}[0-9Xx]", kE));
      // Legacy 15-digit form: no check digit, so it always needs context.
      b.candidate(d, F::kResidentId15, cat(kB, "[1-8][0-9]{7}[01][0-9][0-3][0-9]{4}", kE));
      break;
    case D::kCnMobile:
      b.candidate(d, F::kMobile,
                  cat("(?:\\A|[^0-9A-Za-z+])(?:(?:\\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}", kE));
      break;
    case D::kBankCard:
      b.candidate(d, F::kBankCard, cat(kB, "[2-6][0-9]{3}(?:[ -]?[0-9]){9,15}", kE));
      break;
    case D::kCnPassport:
      b.candidate(d, F::kPassport,
                  cat(kB, "(?:E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}|[DSP]E[0-9]{7}|K[0-9]{8}|KJ[0-9]{7}|MA[0-9]{7})",
                               "(?:[^0-9A-Za-z<]|\\z)"));
      // ICAO 9303 TD3 line 2: number, check, nationality, DOB, check, sex, expiry, check,
      // optional data, check, composite check.
      b.candidate(d, F::kMrz,
                  "(?:\\A|[^0-9A-Z<])[A-Z0-9][A-Z0-9<]{8}[0-9][A-Z<]{3}[0-9]{6}[0-9][MF<][0-9]{6}[0-9][A-Z0-9<]{14}[0-9<][0-9](?:[^0-9A-Z<]|\\z)");
      break;
    case D::kHkMacauPermit:
      b.candidate(d, F::kPermit, cat(kB, "[CW][0-9A-HJ-NP-Z][0-9]{7}", kE));
      break;
    case D::kUscc:
      b.candidate(d, F::kUscc,
                  cat(kB, "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}", kE));
      break;
    case D::kVin:
      b.candidate(d, F::kVin, cat(kB, "[A-HJ-NPR-Z0-9]{17}", kE));
      break;
    case D::kCnPlate: {
      std::vector<std::string> up(utf8Chars.begin(), utf8Chars.begin() + 31);
      std::vector<std::string> us(utf8Chars.begin() + 31, utf8Chars.end());
      std::vector<std::string> gp(gbkChars.begin(), gbkChars.begin() + 31);
      std::vector<std::string> gs(gbkChars.begin() + 31, gbkChars.end());
      plates(b, up, us, F::kPlateUtf8);
      plates(b, gp, gs, F::kPlateGbk);
      break;
    }
    case D::kGpsCoordinate: {
      const std::string lat = cat("(?:\\A|[^A-Za-z0-9])\"?", caseless("lat"), "(?:", caseless("itude"), ")?\"?");
      const std::string lon = cat("\"?(?:", caseless("lng"), "|", caseless("lon"), "(?:", caseless("g"), "|",
                                           caseless("gitude"), ")?)\"?");
      const std::string sep = cat(kWs, "[:=]", kWs, "\"?");
      const std::string next = cat("\"?", kWs, "[,&;]", kWs);
      b.candidate(d, F::kGpsLatLon, cat(lat, sep, kNum2, next, lon, sep, kNum3, "(?:[^0-9]|\\z)"));
      b.candidate(d, F::kGpsLonLat,
                  cat("(?:\\A|[^A-Za-z0-9])", lon, sep, kNum3, next, "\"?", caseless("lat"), "(?:",
                               caseless("itude"), ")?\"?", sep, kNum2, "(?:[^0-9]|\\z)"));
      // GeoJSON [lon, lat] and WKT POINT(lon lat).
      b.candidate(d, F::kGpsLonLat,
                  cat("\"coordinates\"", kWs, ":", kWs, "\\[", kWs, kNum3, kWs, ",", kWs, kNum2, "(?:[^0-9]|\\z)"));
      b.candidate(d, F::kGpsLonLat,
                  cat(caseless("point"), " {0,4}\\( {0,4}", kNum3, " {1,4}", kNum2, "(?:[^0-9]|\\z)"));
      // NMEA 0183 RMC (with status) and GGA fixes.
      b.candidate(d, F::kGpsNmea,
                  "\\$G[PNLA](?:RMC|GGA),[0-9.]{0,12},(?:[AV],)?[0-9]{4}\\.[0-9]{3,},[NS],[0-9]{5}\\.[0-9]{3,},[EW]");
      break;
    }
    case D::kEmail:
      // Without SOM (Hyperscan rejects this one with SOM as too large): the scanner
      // walks back from the match end to the start of the local part.
      b.add("[A-Za-z0-9._%+-]@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}"
            "(?:[^A-Za-z0-9.-]|\\.[^A-Za-z0-9]|\\.?\\z)",
            0, {PatternRole::kCandidate, d, F::kEmail, 0});
      break;
    case D::kMedicalRecordFields:
      b.candidate(d, F::kIcd10, cat(kB, "[A-TV-Z][0-9]{2}(?:\\.[0-9A-Z]{1,4})?(?:[^0-9A-Za-z.]|\\.[^0-9A-Za-z]|\\.?\\z)"));
      // DICOM Part 10: "DICM" after the 128-byte preamble, or followed by the group-2
      // (file meta) length element when the preamble is not at the stream start.
      b.signature(d, "(?:\\A[\\x00-\\xff]{128}DICM|DICM\\x02\\x00\\x00\\x00UL)", HS_FLAG_SINGLEMATCH);
      // Medical record field names used as keys: JSON "diagnosis":, form diagnosis=,
      // Chinese labels 诊断： (UTF-8 and GBK). Each counts as one record field; an ICD-10
      // code right after a counted key is its value and is not counted again.
      for (std::string_view name : {"diagnosis", "icd10", "icd_10", "icd-10", "chief_complaint", "medical_record",
                                    "lab_result", "lab_results"}) {
        b.add(cat("(?:\"", caseless(name), "\"[ \\t]{0,4}:|(?:\\A|[?&\\s])", caseless(name), "=)"), 0,
              {PatternRole::kFieldKey, d, F::kNone, 0});
      }
      for (std::string_view name : {"诊断", "病历", "检验结果", "主诉", "病史"}) {
        auto gName = utf8ToGbk(name);
        auto gColon = utf8ToGbk("：");
        if (!gName || !gColon) return absl::InternalError("iconv cannot encode medical field names as GBK");
        b.add(cat(hexEscape(name), "\"?[ \\t]{0,4}(?:[:=]|", hexEscape("："), ")"), 0,
              {PatternRole::kFieldKey, d, F::kNone, 0});
        b.add(cat(hexEscape(*gName), "\"?[ \\t]{0,4}(?:[:=]|", hexEscape(*gColon), ")"), 0,
              {PatternRole::kFieldKey, d, F::kNone, 0});
      }
      break;
    case D::kGenomicSequence:
      b.signature(d, "##fileformat=VCFv[0-9]", HS_FLAG_SINGLEMATCH);
      // FASTQ record: '@' id line, a sequence line, then the '+' separator.
      b.signature(d, "(?:\\A|\\n)@[!-~][^\\n]{0,250}\\r?\\n[ACGTN]{20}[ACGTN]*\\r?\\n\\+");
      // BGZF block header: gzip magic, FEXTRA, XLEN=6, subfield 'BC' of length 2.
      b.signature(d, "\\x1f\\x8b\\x08\\x04[\\x00-\\xff]{6}\\x06\\x00BC\\x02\\x00", HS_FLAG_SINGLEMATCH);
      b.signature(d, "BAM\\x01", HS_FLAG_SINGLEMATCH);
      b.signature(d, "[ACGTN]{80}", HS_FLAG_SINGLEMATCH);
      break;
    case D::kFaceImageOrTemplate:
      // Face templates: a known key holding >= 32 floats (SDK feature vectors).
      b.signature(d, cat("\"(?:", caseless("face"), "_?(?:", caseless("feature"), "|", caseless("embedding"), "|",
                                  caseless("template"), ")|", caseless("feature"), "_?", caseless("vector"), "|",
                                  caseless("embedding"), ")\" {0,4}: {0,4}\\[ {0,4}-?[0-9]{1,3}\\.[0-9]{2,}",
                                  "(?: {0,4}, {0,4}-?[0-9]{1,3}\\.[0-9]{2,}){31}(?:[^0-9]|\\z)"));
      b.add(cat(caseless("content-type"), ":[ \\t]{0,4}(?:", caseless("image"), "|", caseless("video"), ")/"), 0,
            {PatternRole::kMediaType, d, F::kNone, 0});
      b.add(cat("(?:GET|POST|PUT) /[^ \\r\\n]{0,256}(?:", caseless("camera"), "|", caseless("face"), "|",
                         caseless("perception"), "|", caseless("snapshot"), "|", caseless("cctv"), "|",
                         caseless("capture"), ")"),
            0, {PatternRole::kCameraPath, d, F::kNone, 0});
      break;
    case D::kClassifiedMarking:
      break;  // keywords only (added with the context keywords, role kMarking)
  }
  return absl::OkStatus();
}

void sha256(const std::string& data, std::array<uint8_t, 32>& out) {
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
}

}  // namespace

std::optional<std::string> utf8ToGbk(std::string_view utf8) {
  iconv_t cd = iconv_open("GBK", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string in(utf8);
  std::string out(in.size() * 2 + 8, '\0');
  char* ip = in.data();
  size_t il = in.size();
  char* op = out.data();
  size_t ol = out.size();
  size_t r = iconv(cd, &ip, &il, &op, &ol);
  iconv_close(cd);
  if (r == static_cast<size_t>(-1)) return std::nullopt;
  out.resize(out.size() - ol);
  return out;
}

struct DetectorSet::Compiled {
  std::vector<Pattern> patterns;
};

absl::StatusOr<std::unique_ptr<DetectorSet>> DetectorSet::prepare(const DetectorSetSpec& spec,
                                                                  Compiled& out) {
  std::unique_ptr<DetectorSet> set(new DetectorSet());
  std::vector<std::string> problems;
  for (auto c : kProvinces) set->utf8Chars_.emplace_back(c);
  for (auto c : kPlateSuffixes) set->utf8Chars_.emplace_back(c);
  for (const auto& c : set->utf8Chars_) {
    auto g = utf8ToGbk(c);
    if (!g) return absl::InternalError("iconv cannot encode plate characters as GBK");
    set->gbkChars_.push_back(*g);
  }

  PatternBuilder b;
  std::set<std::string> seen;
  for (const auto& ds : spec.detectors) {
    auto id = detectorByName(ds.name);
    if (!id) {
      problems.push_back(cat("unknown detector '", ds.name, "'"));
      continue;
    }
    if (!seen.insert(ds.name).second) {
      problems.push_back(cat("detector '", ds.name, "' listed twice"));
      continue;
    }
    if (ds.proximityChars > kMaxProximityChars) {
      problems.push_back(cat("detector '", ds.name, "': proximity ", ds.proximityChars,
                                      " exceeds ", kMaxProximityChars));
      continue;
    }
    const DetectorInfo& info = detectorInfo(*id);
    DetectorConfig& cfg = set->configs_[static_cast<size_t>(*id)];
    cfg.enabled = true;
    cfg.requireContext = ds.requireContext.value_or(info.requireContextDefault);
    cfg.proximityBytes = 3 * (ds.proximityChars ? ds.proximityChars : info.proximityCharsDefault);
    if (auto st = addDetectorPatterns(b, *id, set->utf8Chars_, set->gbkChars_); !st.ok()) {
      problems.push_back(std::string(st.message()));
    }
    std::vector<std::string> kws(ds.contextKeywords);
    if (kws.empty()) {
      for (auto k : defaultContextKeywords(*id)) kws.emplace_back(k);
    }
    if (cfg.requireContext && kws.empty()) {
      problems.push_back(cat("detector '", ds.name, "' requires context but has no keywords"));
    }
    PatternRole role = *id == DetectorId::kClassifiedMarking ? PatternRole::kMarking : PatternRole::kContext;
    for (const auto& k : kws) {
      if (auto st = b.keyword(k, true, {role, *id, CandidateForm::kNone, 0}); !st.ok()) {
        problems.push_back(cat("detector '", ds.name, "': ", st.message()));
      }
    }
  }
  if (spec.dictionaries.size() > kMaxDictionaries) {
    problems.push_back(cat(spec.dictionaries.size(), " dictionaries exceed the limit of ",
                                    kMaxDictionaries));
  } else {
    for (size_t i = 0; i < spec.dictionaries.size(); ++i) {
      const auto& dict = spec.dictionaries[i];
      if (std::find(set->dictionaryNames_.begin(), set->dictionaryNames_.end(), dict.name) !=
          set->dictionaryNames_.end()) {
        problems.push_back(cat("dictionary '", dict.name, "' listed twice"));
      }
      set->dictionaryNames_.push_back(dict.name);
      if (dict.keywords.empty()) problems.push_back(cat("dictionary '", dict.name, "' is empty"));
      for (const auto& k : dict.keywords) {
        PatternMeta m{PatternRole::kDictionary, DetectorId::kCnResidentId, CandidateForm::kNone,
                      static_cast<uint8_t>(i)};
        if (auto st = b.keyword(k, dict.includeGbk, m); !st.ok()) {
          problems.push_back(cat("dictionary '", dict.name, "': ", st.message()));
        }
      }
    }
  }
  if (!problems.empty()) return absl::InvalidArgumentError(join(problems, "; "));
  if (b.patterns.empty()) return absl::InvalidArgumentError("no detectors or dictionaries enabled");

  // The fingerprint binds serialized databases to the exact pattern table.
  std::string table;
  for (const auto& p : b.patterns) {
    append(&table, p.expr, "\n", p.flags, ",", static_cast<int>(p.meta.role), ",",
                    static_cast<int>(p.meta.detector), ",", static_cast<int>(p.meta.form), ",",
                    static_cast<int>(p.meta.dictionary), "\n");
    set->metas_.push_back(p.meta);
  }
  for (const auto& c : set->configs_) append(&table, c.enabled, c.requireContext, c.proximityBytes, ";");
  sha256(table, set->fingerprint_);
  out.patterns = std::move(b.patterns);
  return set;
}

absl::StatusOr<std::shared_ptr<const DetectorSet>> DetectorSet::build(const DetectorSetSpec& spec) {
  Compiled c;
  auto set = prepare(spec, c);
  if (!set.ok()) return set.status();
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < c.patterns.size(); ++i) {
    exprs.push_back(c.patterns[i].expr.c_str());
    flags.push_back(c.patterns[i].flags);
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* err = nullptr;
  hs_database_t* db = nullptr;
  // SOM horizon "small" (2^16 bytes) is ample: candidates are < 256 bytes long.
  hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                                   static_cast<unsigned>(exprs.size()),
                                   HS_MODE_STREAM | HS_MODE_SOM_HORIZON_SMALL, nullptr, &db, &err);
  if (rc != HS_SUCCESS) {
    std::string msg = err ? err->message : "unknown error";
    int at = err ? err->expression : -1;
    hs_free_compile_error(err);
    return absl::InternalError(cat("hyperscan compile failed at pattern ", at, " (",
                                            at >= 0 ? c.patterns[static_cast<size_t>(at)].expr : "",
                                            "): ", msg));
  }
  (*set)->db_ = db;
  hs_stream_size(db, &(*set)->streamBytes_);
  hs_database_size(db, &(*set)->dbBytes_);
  return std::shared_ptr<const DetectorSet>(std::move(*set));
}

absl::StatusOr<size_t> DetectorSet::streamBytesWithoutSomForTest(const DetectorSetSpec& spec) {
  Compiled c;
  auto set = prepare(spec, c);
  if (!set.ok()) return set.status();
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < c.patterns.size(); ++i) {
    exprs.push_back(c.patterns[i].expr.c_str());
    flags.push_back(c.patterns[i].flags & ~static_cast<unsigned>(HS_FLAG_SOM_LEFTMOST));
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* err = nullptr;
  hs_database_t* db = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), HS_MODE_STREAM,
                       nullptr, &db, &err) != HS_SUCCESS) {
    std::string msg = err ? err->message : "unknown error";
    hs_free_compile_error(err);
    return absl::InternalError(msg);
  }
  size_t bytes = 0;
  hs_stream_size(db, &bytes);
  hs_free_database(db);
  return bytes;
}

absl::StatusOr<std::string> DetectorSet::serialize() const {
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db_, &bytes, &len) != HS_SUCCESS) {
    return absl::InternalError("hs_serialize_database failed");
  }
  std::string out(kMagic, sizeof(kMagic));
  uint32_t v = kFormatVersion;
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
  out.append(reinterpret_cast<const char*>(fingerprint_.data()), fingerprint_.size());
  out.append(bytes, len);
  free(bytes);  // allocated by Hyperscan's misc allocator (malloc by default)
  return out;
}

absl::StatusOr<std::shared_ptr<const DetectorSet>> DetectorSet::deserialize(const DetectorSetSpec& spec,
                                                                            std::string_view bytes) {
  constexpr size_t kHeader = sizeof(kMagic) + sizeof(uint32_t) + 32;
  if (bytes.size() < kHeader || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError("not a serialized detector database (bad magic)");
  }
  uint32_t v = 0;
  std::memcpy(&v, bytes.data() + sizeof(kMagic), sizeof(v));
  if (v != kFormatVersion) {
    return absl::InvalidArgumentError(cat("detector database format ", v, ", expected ", kFormatVersion));
  }
  Compiled c;
  auto set = prepare(spec, c);
  if (!set.ok()) return set.status();
  if (std::memcmp(bytes.data() + 8, (*set)->fingerprint_.data(), 32) != 0) {
    return absl::FailedPreconditionError("serialized detector database was built from a different spec");
  }
  hs_database_t* db = nullptr;
  std::string_view hsBytes = bytes.substr(kHeader);
  if (hs_deserialize_database(hsBytes.data(), hsBytes.size(), &db) != HS_SUCCESS) {
    return absl::FailedPreconditionError("hs_deserialize_database failed (corrupt or built for another platform)");
  }
  (*set)->db_ = db;
  hs_stream_size(db, &(*set)->streamBytes_);
  hs_database_size(db, &(*set)->dbBytes_);
  return std::shared_ptr<const DetectorSet>(std::move(*set));
}

DetectorSet::~DetectorSet() {
  if (db_) hs_free_database(db_);
}

std::optional<size_t> DetectorSet::dictionaryIndex(std::string_view name) const {
  for (size_t i = 0; i < dictionaryNames_.size(); ++i) {
    if (dictionaryNames_[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace xborder::rules::detectors
