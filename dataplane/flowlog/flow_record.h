// Formats one finished flow as a Suricata-EVE-style "flow" record (field names as
// in EVE, plus our own "ndpi", "tunnel" and "fragments" objects). See
// docs/architecture.md for the field list and how they are counted.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/classify/ndpi_adapter.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/flowlog/json_writer.h"

namespace xborder::dp {

// Writes "2024-01-31T12:34:56.123456+0000" (EVE's format, UTC) into buf[32].
std::string_view formatEveTime(uint64_t ns, char* buf) noexcept;

// Formats the record into w (reset first) and returns the JSON text.
std::string_view formatFlowRecord(JsonWriter& w, const FlowEntry& e, const NdpiAdapter& ndpi,
                                  EndReason reason, uint32_t worker_id) noexcept;

}  // namespace xborder::dp
