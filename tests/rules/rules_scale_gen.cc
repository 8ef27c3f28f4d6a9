#include "tests/rules/rules_scale_gen.h"

#include <cstdio>

namespace xborder::rules::testing {

namespace {
constexpr const char* kCountries[] = {"US", "DE", "SG", "JP", "HK", "CH", "GB", "FR"};
constexpr const char* kDetectors[][2] = {
    {"bank_card", "financial_account"}, {"classified_marking", "none"}, {"cn_mobile", "identifier"},
    {"cn_passport", "identifier"}, {"cn_plate", "identifier"}, {"cn_resident_id", "identifier"},
    {"email", "identifier"}, {"face_image_or_template", "biometric"}, {"genomic_sequence", "biometric"},
    {"gps_coordinate", "precise_location"}, {"hk_macau_permit", "identifier"},
    {"medical_record_fields", "health_medical"}, {"uscc", "none"}, {"vin", "identifier"}};
// CJK characters for generated keywords (UTF-8, all in GBK).
constexpr const char* kCjk[] = {"数", "据", "客", "户", "订", "单", "会", "员", "医", "疗", "车", "辆", "位", "置",
                                "交", "易", "账", "号", "地", "图"};
constexpr size_t kDictionaries = 10;
}  // namespace

size_t scaleDestinationCount(const ScaleSpec& spec) { return spec.endpoints / 2 > 0 ? spec.endpoints / 2 : 1; }

std::string scaleDestinationId(size_t i) {
  char b[32];
  std::snprintf(b, sizeof(b), "DST-%06zu", i);
  return b;
}

// Destination i owns 10.a.b.0/24 (i < 65536) or 2001:db8:a:b::/64 beyond that.
geo::IpAddress scaleDestinationAddress(size_t i) {
  if (i < 65536) return geo::IpAddress::fromV4((10u << 24) | (static_cast<uint32_t>(i) << 8) | 7u);
  geo::Uint128 a = (geo::Uint128{0x20010db8} << 96) | (geo::Uint128{i} << 64) | 7u;
  return geo::IpAddress::fromV6(a);
}

std::string scaleDestinationHost(size_t i) {
  char b[64];
  std::snprintf(b, sizeof(b), "api.r%zu.partner%zu.example", i, i % 97);
  return b;
}

static std::string cidrOf(size_t i) {
  char b[64];
  if (i < 65536) {
    std::snprintf(b, sizeof(b), "10.%zu.%zu.0/24", (i >> 8) & 255, i & 255);
  } else {
    std::snprintf(b, sizeof(b), "2001:db8:%zx:%zx::/64", (i >> 16) & 0xffff, i & 0xffff);
  }
  return b;
}

std::string generateScaleList(const ScaleSpec& spec) {
  std::string y;
  y.reserve(spec.endpoints * 120 + spec.keywords * 20 + 8192);
  y += R"(schema_version: "1.0"
kind: ftz_data_export_negative_list
metadata: {list_id: SCALE, version: "1", issuer: generator, effective_date: "2025-10-01"}
counting_rules:
  timezone: "Asia/Shanghai"
  sensitivity:
    sensitive_classes: [financial_account, precise_location, health_medical, biometric]
mechanisms:
  prohibited: {default_action: block}
  security_assessment: {default_action: hold, filing_types_accepted: [security_assessment_approval]}
  sc_or_certification: {default_action: alert, filing_types_accepted: [standard_contract_filing, pi_export_certification, security_assessment_approval]}
  exempt: {default_action: log}
evaluation:
  precedence: [prohibited, security_assessment, sc_or_certification, exempt]
  catch_all_entries: [GEN-03, GEN-04]
national_baseline:
  ciio: {any_personal_information: security_assessment, any_important_data: security_assessment}
  non_ciio:
    important_data: security_assessment
    non_sensitive_pi_individuals_per_year:
      - {min: 1, max: 99999, mechanism: exempt}
      - {min: 100000, max: 999999, mechanism: sc_or_certification}
      - {min: 1000000, max: null, mechanism: security_assessment}
    sensitive_pi_individuals_per_year:
      - {min: 1, max: 9999, mechanism: sc_or_certification}
      - {min: 10000, max: null, mechanism: security_assessment}
detectors:
)";
  for (const auto& d : kDetectors) y += std::string("  ") + d[0] + ": {pi_class: " + d[1] + "}\n";
  y += "dictionaries:\n";
  for (size_t d = 0; d < kDictionaries; ++d) {
    y += "  kw_gen_" + std::to_string(d) + ":\n";
    for (size_t k = d; k < spec.keywords; k += kDictionaries) {
      // Alternate ASCII terms and 3-character CJK terms with a numeric tail.
      if (k % 2 == 0) {
        y += "    - \"term_" + std::to_string(k) + "\"\n";
      } else {
        y += std::string("    - \"") + kCjk[k % 20] + kCjk[(k / 20) % 20] + kCjk[(k / 400) % 20] + std::to_string(k) + "\"\n";
      }
    }
  }
  const size_t n = scaleDestinationCount(spec);
  y += "destinations:\n";
  for (size_t i = 0; i < n; ++i) {
    y += "  " + scaleDestinationId(i) + ": {country: " + kCountries[i % 8] + ", endpoints: {cidrs: [\"" + cidrOf(i) +
         "\"], fqdns: [\"r" + std::to_string(i) + ".partner" + std::to_string(i % 97) + ".example\"]}}\n";
  }
  y += "tenants:\n";
  for (int t = 0; t < 8; ++t) {
    char uscc[32];
    std::snprintf(uscc, sizeof(uscc), "9132050000000%04dX", t);
    y += "  - {id: T-SCALE-" + std::to_string(t) + ", uscc: \"" + uscc + "\", sources: {cidrs: [\"198.18." +
         std::to_string(t) + ".0/24\"], vlans: [" + std::to_string(100 + t) + "]}, ciio: " + (t == 7 ? "true" : "false") +
         "}\n";
  }
  y += "entries:\n";
  auto entry = [&](const std::string& id, const std::string& match, const std::string& scale) {
    y += "  - id: " + id + "\n    category: {en: \"generated " + id + "\"}\n    data_nature: personal_information\n";
    y += "    match: " + match + "\n    scale: " + scale + "\n";
  };
  const std::string piTiers =
      "{unit: individuals_per_year, sensitivity: non_sensitive, tiers: [{min: 1, max: 99999, mechanism: exempt}, "
      "{min: 100000, max: 999999, mechanism: sc_or_certification}, {min: 1000000, max: null, mechanism: security_assessment}]}";
  const std::string sensTiers =
      "{unit: individuals_per_year, sensitivity: sensitive, tiers: [{min: 1, max: 9999, mechanism: sc_or_certification}, "
      "{min: 10000, max: null, mechanism: security_assessment}]}";
  y += "  - id: GEN-01\n    category: {en: marking}\n    data_nature: core_data\n    match: {all_of: [classified_marking]}\n"
       "    scale: {unit: any}\n    mechanism: prohibited\n";
  entry("GEN-03", "{any_of: [cn_resident_id, cn_passport, cn_mobile, email]}", piTiers);
  entry("GEN-04", "{any_of: [bank_card, gps_coordinate, medical_record_fields, genomic_sequence, face_image_or_template]}", sensTiers);
  for (size_t d = 0; d < kDictionaries; ++d) {
    entry("SCN-" + std::to_string(d) + "-A", "{dictionaries: [kw_gen_" + std::to_string(d) + "], any_of: [cn_mobile, email]}",
          piTiers);
    y += "  - id: SCN-" + std::to_string(d) + "-B\n    category: {en: important}\n    data_nature: important_data\n"
         "    match: {dictionaries: [kw_gen_" + std::to_string(d) + "], min_records_per_flow: 500}\n"
         "    scale: {unit: any}\n    mechanism: security_assessment\n";
  }
  y += "filings:\n";
  for (int t = 0; t < 8; ++t) {
    char uscc[32];
    std::snprintf(uscc, sizeof(uscc), "9132050000000%04dX", t);
    y += "  - {id: FIL-" + std::to_string(t) + ", type: standard_contract_filing, tenant: {uscc: \"" + uscc +
         "\"}, entries: [SCN-" + std::to_string(t % kDictionaries) + "-A], destinations: [" +
         scaleDestinationId(static_cast<size_t>(t) % n) + ", " + scaleDestinationId((static_cast<size_t>(t) * 7919) % n) +
         "], caps: {individuals_per_year: 900000, sensitive: false}, valid_from: \"2025-01-01\", expires: \"2028-12-31\", "
         "status: active}\n";
  }
  return y;
}

}  // namespace xborder::rules::testing
