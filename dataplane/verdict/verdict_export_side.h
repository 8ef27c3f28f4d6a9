// Which direction of a flow is export (数据出境, /work/shared/spec/DOMAIN.md): only data
// that leaves the zone counts. The end a tenant's source CIDRs (and VLAN) claim is
// domestic: if it is the client, the flow is an outbound transfer and its export
// direction is client->server; if only the server is, a party abroad pulls from the
// zone and the export direction is server->client (when the list counts pulls as
// export; otherwise nothing in the flow is export). The other direction is import and
// is neither counted nor scanned. If neither end is a tenant, both directions are
// judged as before (the list's unknown_tenant_action decides).
//
// The attribution is the Evaluator's own rule (source CIDR, VLAN agreeing when tagged),
// done once per flow and ruleset version; the tenant found is handed to the Evaluator
// (FlowFacts::tenant), so the decision and the direction cannot disagree.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/geo/geo_ip.h"
#include "rules/geo/geo_prefix_table.h"
#include "rules/proto/ruleset.pb.h"

namespace xborder::dp {

// Directions as bits: 1 = client->server (dir 0), 2 = server->client (dir 1).
inline constexpr uint8_t kExportClientToServer = 1;
inline constexpr uint8_t kExportServerToClient = 2;
inline constexpr uint8_t kExportBoth = 3;

struct ExportSide {
  int32_t tenant = -1;        // ruleset tenant index of the domestic end (-1: none)
  bool outbound = true;       // false: a pull from abroad (the server is domestic)
  uint8_t mask = kExportBoth; // directions whose payload counts as export
};

class ExportSides {
 public:
  // Control path: the tenants' source prefixes and VLANs of `rs`.
  static absl::StatusOr<ExportSides> build(const rules::pb::Ruleset& rs);

  // Worker thread: no allocation.
  ExportSide sideOf(const rules::geo::IpAddress& client, const rules::geo::IpAddress& server,
                    uint16_t vlan) const noexcept;
  // The tenant whose prefixes hold `ip` and whose VLANs admit `vlan` (0 = untagged), or -1.
  int32_t tenantOf(const rules::geo::IpAddress& ip, uint16_t vlan) const noexcept;

 private:
  rules::geo::PrefixTable table_;
  std::vector<std::vector<uint16_t>> vlans_;
  bool pulls_count_ = true;
};

}  // namespace xborder::dp
