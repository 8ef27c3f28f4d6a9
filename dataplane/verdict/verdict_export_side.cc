#include "dataplane/verdict/verdict_export_side.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace xborder::dp {

absl::StatusOr<ExportSides> ExportSides::build(const rules::pb::Ruleset& rs) {
  ExportSides s;
  for (int i = 0; i < rs.tenants_size(); ++i) {
    const auto& t = rs.tenants(i);
    for (const auto& p : t.source_cidrs()) {
      auto ip = rules::geo::IpAddress::fromBytes(p.addr());
      if (!ip) return absl::InvalidArgumentError(absl::StrCat("tenant ", t.id(), ": bad prefix"));
      s.table_.add({*ip, p.length()}, static_cast<uint32_t>(i));
    }
    s.vlans_.emplace_back(t.vlans().begin(), t.vlans().end());
  }
  s.table_.build();
  s.pulls_count_ = rs.policy().inbound_pulls_count_as_export();
  return s;
}

int32_t ExportSides::tenantOf(const rules::geo::IpAddress& ip, uint16_t vlan) const noexcept {
  const uint32_t v = table_.lookup(ip);
  if (v == rules::geo::PrefixTable::kNone || v >= vlans_.size()) return -1;
  const auto& vl = vlans_[v];
  if (vlan == 0 || vl.empty() || std::find(vl.begin(), vl.end(), vlan) != vl.end()) return static_cast<int32_t>(v);
  return -1;
}

ExportSide ExportSides::sideOf(const rules::geo::IpAddress& client, const rules::geo::IpAddress& server,
                               uint16_t vlan) const noexcept {
  ExportSide s;
  if ((s.tenant = tenantOf(client, vlan)) >= 0) {
    s.outbound = true;
    s.mask = kExportClientToServer;
    return s;
  }
  // The client is not a tenant. A pull the list does not count is not export at all,
  // whoever the server is (the Evaluator answers "not-export" before attributing).
  if (!pulls_count_) {
    s.outbound = false;
    s.mask = 0;
    return s;
  }
  if ((s.tenant = tenantOf(server, vlan)) >= 0) {
    s.outbound = false;
    s.mask = kExportServerToClient;
    return s;
  }
  s.outbound = true;  // unknown tenant: judged as an outbound flow, both directions
  s.mask = kExportBoth;
  return s;
}

}  // namespace xborder::dp
