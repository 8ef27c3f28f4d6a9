// Control-side evidence records (built on a control thread, queued with
// EvidenceSink::submitControl): threshold crossings from the CounterStore, alerts from
// the AnomalyMonitor, ruleset activations and appliance start/stop. Allocates (protobuf).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "controlplane/evidence/record/record.pb.h"
#include "dataplane/anomaly/anomaly_monitor.h"
#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"

namespace xborder::dp::evidence_sink {

// THRESHOLD: rule_id is the entry id (entry counters), "BASELINE-NON-SENSITIVE" /
// "BASELINE-SENSITIVE" or the filing id (cap); metric "individuals", window
// "calendar-year <year>", threshold = the ratio's level, observed = the estimate.
// tenant = USCC. data_category says the ratio, e.g. "ratio=0.8 boundary=100000".
evidence::v1::EvidenceRecord thresholdRecord(const counters::Crossing& crossing, const RulesetNames& names,
                                             int64_t unixNanos);

// ALARM for an anomaly alert: kind "anomaly-<alertKindName>", severity "warning",
// detail with country, destination, observed / baseline / threshold bytes.
// destinationName: the ruleset's destination id for alert.destination ("" unknown).
evidence::v1::EvidenceRecord alertRecord(const anomaly::AlertEvent& alert, const RulesetNames& names,
                                         std::string_view destinationName);

// RULESET_ACTIVATION (previous all zero = first activation).
evidence::v1::EvidenceRecord rulesetActivationRecord(std::string_view listId, std::string_view version,
                                                     const std::array<uint8_t, 32>& sha256,
                                                     const std::array<uint8_t, 32>& previous,
                                                     std::string_view activatedBy);

// APPLIANCE start / stop.
evidence::v1::EvidenceRecord applianceRecord(evidence::v1::ApplianceEvent::Kind kind, std::string_view reason,
                                             std::string_view softwareVersion, std::string_view serial);

}  // namespace xborder::dp::evidence_sink
