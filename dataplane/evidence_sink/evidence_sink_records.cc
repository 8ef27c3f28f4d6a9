#include "dataplane/evidence_sink/evidence_sink_records.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace xborder::dp::evidence_sink {
namespace {

using rules::eval::CounterKey;

const std::string* nameAt(const std::vector<std::string>& v, int64_t i) {
  return i >= 0 && static_cast<size_t>(i) < v.size() ? &v[static_cast<size_t>(i)] : nullptr;
}

std::string ratioText(double r) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", r);
  return b;
}

}  // namespace

evidence::v1::EvidenceRecord thresholdRecord(const counters::Crossing& c, const RulesetNames& names,
                                             int64_t unixNanos) {
  evidence::v1::EvidenceRecord r;
  r.set_type(evidence::v1::THRESHOLD);
  r.set_observed_unix_nanos(unixNanos);
  const CounterKey& k = c.key.counter;
  if (const std::string* t = nameAt(names.tenants, k.legalEntity)) r.set_tenant(*t);
  auto* t = r.mutable_threshold();
  std::string rule;
  switch (k.kind) {
    case CounterKey::Kind::kEntry:
      rule = nameAt(names.entries, k.index) ? *nameAt(names.entries, k.index) : absl::StrCat("#", k.index);
      break;
    case CounterKey::Kind::kBaselineNonSensitive: rule = "BASELINE-NON-SENSITIVE"; break;
    case CounterKey::Kind::kBaselineSensitive: rule = "BASELINE-SENSITIVE"; break;
    case CounterKey::Kind::kFiling:
      rule = nameAt(names.filings, k.index) ? *nameAt(names.filings, k.index) : absl::StrCat("#", k.index);
      break;
  }
  t->set_rule_id(rule);
  t->set_data_category(absl::StrCat("ratio=", ratioText(c.ratio), " boundary=", c.boundary,
                                    k.kind == CounterKey::Kind::kFiling ? " (filing cap)" : ""));
  t->set_metric("individuals");
  t->set_threshold(c.level);
  t->set_observed(c.observed);
  t->set_window(absl::StrCat("calendar-year ", k.year));
  if (c.key.country != 0) t->set_dst_country(counters::countryName(c.key.country));
  return r;
}

evidence::v1::EvidenceRecord alertRecord(const anomaly::AlertEvent& a, const RulesetNames& names,
                                         std::string_view destinationName) {
  evidence::v1::EvidenceRecord r;
  r.set_type(evidence::v1::ALARM);
  r.set_observed_unix_nanos(a.unixNanos);
  if (const std::string* t = nameAt(names.tenants, a.tenant)) r.set_tenant(*t);
  auto* al = r.mutable_alert();
  al->set_kind(absl::StrCat("anomaly-", std::string(anomaly::alertKindName(a.kind))));
  al->set_severity("warning");
  std::string detail = absl::StrCat("country=", a.country != 0 ? counters::countryName(a.country) : "??");
  if (!destinationName.empty()) absl::StrAppend(&detail, " destination=", std::string(destinationName));
  absl::StrAppend(&detail, " observed_bytes=", a.observed, " threshold_bytes=", a.threshold);
  if (a.baseline != 0) absl::StrAppend(&detail, " baseline_bytes=", a.baseline);
  al->set_detail(detail);
  return r;
}

evidence::v1::EvidenceRecord rulesetActivationRecord(std::string_view listId, std::string_view version,
                                                     const std::array<uint8_t, 32>& sha256,
                                                     const std::array<uint8_t, 32>& previous,
                                                     std::string_view activatedBy) {
  evidence::v1::EvidenceRecord r;
  r.set_type(evidence::v1::RULESET_ACTIVATION);
  auto* a = r.mutable_ruleset();
  a->set_list_id(std::string(listId));
  a->set_version(std::string(version));
  a->set_ruleset_sha256(reinterpret_cast<const char*>(sha256.data()), sha256.size());
  bool first = true;
  for (uint8_t b : previous) first = first && b == 0;
  if (!first) a->set_previous_sha256(reinterpret_cast<const char*>(previous.data()), previous.size());
  a->set_activated_by(std::string(activatedBy));
  return r;
}

evidence::v1::EvidenceRecord applianceRecord(evidence::v1::ApplianceEvent::Kind kind, std::string_view reason,
                                             std::string_view softwareVersion, std::string_view serial) {
  evidence::v1::EvidenceRecord r;
  r.set_type(evidence::v1::APPLIANCE);
  auto* a = r.mutable_appliance();
  a->set_kind(kind);
  a->set_reason(std::string(reason));
  a->set_software_version(std::string(softwareVersion));
  a->set_serial(std::string(serial));
  return r;
}

}  // namespace xborder::dp::evidence_sink
