#pragma once
// Generates large but valid negative lists for the scale benchmark and its test slice:
// `endpoints` destination CIDRs and domains (half each), `keywords` dictionary keywords,
// and ~20 entries, tenants and filings shaped like the sample list's.

#include <cstddef>
#include <string>

#include "rules/geo/geo_ip.h"

namespace xborder::rules::testing {

struct ScaleSpec {
  size_t endpoints = 100000;  // CIDRs + domains, half each (one of each per destination)
  size_t keywords = 10000;
};

std::string generateScaleList(const ScaleSpec& spec);
size_t scaleDestinationCount(const ScaleSpec& spec);
// The i-th generated destination: id, an address inside its CIDR, a host under its domain.
std::string scaleDestinationId(size_t i);
geo::IpAddress scaleDestinationAddress(size_t i);
std::string scaleDestinationHost(size_t i);
inline constexpr const char* kScaleTenant = "T-SCALE-0";
inline constexpr const char* kScaleTenantSource = "198.18.0.10";

}  // namespace xborder::rules::testing
