// Shared helpers for the detector tests, benchmark and fuzz target.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/detectors/detector_scanner.h"
#include "rules/detectors/detector_set.h"

namespace xborder::rules::detectors::testing {

// Every registered detector with default keywords, plus a few of the sample list's
// dictionaries (kw_waybill, kw_clinical_trial, kw_human_genetic_resources).
inline DetectorSetSpec fullSpec() {
  DetectorSetSpec spec;
  for (auto name : detectorNames()) spec.detectors.push_back({.name = std::string(name)});
  spec.dictionaries.push_back({.name = "kw_waybill", .keywords = {"运单", "收件人", "寄件人", "waybill", "consignee", "tracking_no"}});
  spec.dictionaries.push_back({.name = "kw_clinical_trial", .keywords = {"受试者", "CRF", "subject_id", "randomization", "临床试验", "不良事件"}});
  spec.dictionaries.push_back({.name = "kw_human_genetic_resources", .keywords = {"人类遗传资源", "基因组", "外显子", "WGS", "WES", "SNP"}});
  return spec;
}

inline std::vector<uint8_t> testKey() {
  return std::vector<uint8_t>{'x', 'b', '-', 't', 'e', 's', 't', '-', 'k', 'e', 'y', '-', '0', '0', '0', '1'};
}

// Scans `data` as one flow-direction split at the given cut points and finishes it.
inline FlowScanResult scanSplit(Scanner& sc, std::string_view data, const std::vector<size_t>& cuts = {}) {
  FlowScanState st;
  sc.open(st);
  size_t prev = 0;
  for (size_t c : cuts) {
    sc.scan(st, reinterpret_cast<const uint8_t*>(data.data()) + prev, c - prev);
    prev = c;
  }
  sc.scan(st, reinterpret_cast<const uint8_t*>(data.data()) + prev, data.size() - prev);
  sc.finish(st);
  FlowScanResult r = st.result();
  sc.release(st);
  return r;
}

}  // namespace xborder::rules::detectors::testing
