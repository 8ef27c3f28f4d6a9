#include "dataplane/anomaly/anomaly_monitor.h"

#include <bit>
#include <cmath>
#include <limits>

namespace xborder::dp::anomaly {
namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;

uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

std::string_view alertKindName(AlertKind kind) {
  switch (kind) {
    case AlertKind::kVolumeSpike: return "volume-spike";
    case AlertKind::kFirstSeenCountry: return "first-seen-country";
    case AlertKind::kBulkUncovered: return "bulk-uncovered";
    case AlertKind::kLargeInboundResponse: return "large-inbound-response";
  }
  return "unknown";
}

struct AnomalyMonitor::DestRow {
  bool used = false;
  uint32_t tenant = 0;
  uint16_t country = 0;
  int32_t destination = 0;
  int64_t intervalStart = 0;
  uint64_t current = 0;      // bytes in the open interval
  double ewma = 0;           // bytes per closed interval
  uint32_t intervals = 0;    // closed intervals (saturating)
  int64_t lastAlert[4] = {kNever, kNever, kNever, kNever};  // by AlertKind
};

struct AnomalyMonitor::CountryRow {
  bool used = false;
  uint32_t tenant = 0;
  uint16_t country = 0;
  int64_t lastAlert = kNever;
};

AnomalyMonitor::AnomalyMonitor(AnomalyConfig config, AlertSink* sink)
    : config_(config),
      sink_(sink),
      dests_(new DestRow[std::bit_ceil(config.destinationCapacity < 2 ? size_t{2} : config.destinationCapacity)]),
      countries_(new CountryRow[std::bit_ceil(config.countryCapacity < 2 ? size_t{2} : config.countryCapacity)]),
      destMask_(std::bit_ceil(config.destinationCapacity < 2 ? size_t{2} : config.destinationCapacity) - 1),
      countryMask_(std::bit_ceil(config.countryCapacity < 2 ? size_t{2} : config.countryCapacity) - 1),
      firstSeenNanos_(kNever) {
  if (config_.intervalNanos <= 0) config_.intervalNanos = 60'000'000'000;
  if (!(config_.ewmaAlpha > 0 && config_.ewmaAlpha <= 1)) config_.ewmaAlpha = 0.1;
}

AnomalyMonitor::~AnomalyMonitor() = default;

AnomalyMonitor::DestRow* AnomalyMonitor::destRow(uint32_t tenant, uint16_t country, int32_t destination,
                                                 bool insert) {
  size_t i = mix((uint64_t{tenant} << 32 | uint64_t{country} << 16) ^ mix(static_cast<uint32_t>(destination))) &
             destMask_;
  for (size_t probes = 0; probes <= destMask_; ++probes, i = (i + 1) & destMask_) {
    DestRow& r = dests_[i];
    if (!r.used) {
      // Probes stay short: the table is never filled beyond 7/8.
      if (!insert || destUsed_ >= destMask_ + 1 - (destMask_ + 1) / 8) return nullptr;
      r.used = true;
      r.tenant = tenant;
      r.country = country;
      r.destination = destination;
      ++destUsed_;
      return &r;
    }
    if (r.tenant == tenant && r.country == country && r.destination == destination) return &r;
  }
  return nullptr;
}

const AnomalyMonitor::DestRow* AnomalyMonitor::findDest(uint32_t tenant, uint16_t country,
                                                        int32_t destination) const {
  return const_cast<AnomalyMonitor*>(this)->destRow(tenant, country, destination, false);
}

AnomalyMonitor::CountryRow* AnomalyMonitor::countryRow(uint32_t tenant, uint16_t country, bool* inserted) {
  *inserted = false;
  size_t i = mix(uint64_t{tenant} << 16 | country) & countryMask_;
  for (size_t probes = 0; probes <= countryMask_; ++probes, i = (i + 1) & countryMask_) {
    CountryRow& r = countries_[i];
    if (!r.used) {
      if (countryUsed_ >= countryMask_ + 1 - (countryMask_ + 1) / 8) return nullptr;
      r.used = true;
      r.tenant = tenant;
      r.country = country;
      ++countryUsed_;
      *inserted = true;
      return &r;
    }
    if (r.tenant == tenant && r.country == country) return &r;
  }
  return nullptr;
}

void AnomalyMonitor::seedKnownCountry(uint32_t tenant, uint16_t country) {
  bool inserted;
  if (countryRow(tenant, country, &inserted) == nullptr) ++overflow_;
}

void AnomalyMonitor::raise(int64_t* lastAlert, const AlertEvent& alert) {
  if (alert.unixNanos - *lastAlert < config_.cooldownNanos) {
    ++suppressed_;
    return;
  }
  *lastAlert = alert.unixNanos;
  if (sink_ != nullptr) sink_->onAlert(alert);
}

void AnomalyMonitor::roll(DestRow& row, int64_t now) {
  if (row.intervalStart == 0) {
    row.intervalStart = now - now % config_.intervalNanos;
    return;
  }
  const int64_t elapsed = (now - row.intervalStart) / config_.intervalNanos;
  if (elapsed <= 0) return;
  // Close the open interval, then any empty ones since (each a zero sample).
  const double a = config_.ewmaAlpha;
  const auto closed = static_cast<uint64_t>(elapsed);
  for (uint64_t k = 0; k < closed && k < 1024; ++k) {
    const double sample = k == 0 ? static_cast<double>(row.current) : 0.0;
    if (row.intervals < config_.warmupIntervals) {
      // Warm-up: plain mean of what was seen, so the baseline is sound from the start.
      row.ewma += (sample - row.ewma) / (row.intervals + 1);
    } else {
      row.ewma += a * (sample - row.ewma);
    }
    if (row.intervals < UINT32_MAX) ++row.intervals;
  }
  row.current = 0;
  row.intervalStart += elapsed * config_.intervalNanos;
}

void AnomalyMonitor::observe(const FlowSample& s) {
  const int64_t now = s.unixNanos;
  if (firstSeenNanos_ == kNever) firstSeenNanos_ = now;

  bool inserted = false;
  CountryRow* c = countryRow(s.tenant, s.country, &inserted);
  if (c == nullptr) {
    ++overflow_;
  } else if (inserted && now - firstSeenNanos_ >= config_.learningNanos) {
    raise(&c->lastAlert, AlertEvent{AlertKind::kFirstSeenCountry, s.tenant, s.country, s.destination,
                                    s.deltaBytesOut, 0, 0, now});
  }

  DestRow* d = destRow(s.tenant, s.country, s.destination, true);
  if (d == nullptr) {
    ++overflow_;
    return;
  }
  roll(*d, now);
  d->current += s.deltaBytesOut;
  if (d->intervals >= config_.warmupIntervals && d->intervals > 0) {
    const double limit = config_.spikeMultiple * d->ewma;
    if (static_cast<double>(d->current) > limit && d->current >= config_.spikeMinBytes) {
      raise(&d->lastAlert[0], AlertEvent{AlertKind::kVolumeSpike, s.tenant, s.country, s.destination, d->current,
                                         static_cast<uint64_t>(std::llround(d->ewma)),
                                         static_cast<uint64_t>(std::llround(limit)), now});
    }
  }
  if (!s.covered && s.flowBytesOut > config_.bulkBytes) {
    raise(&d->lastAlert[2], AlertEvent{AlertKind::kBulkUncovered, s.tenant, s.country, s.destination,
                                       s.flowBytesOut, 0, config_.bulkBytes, now});
  }
  if (s.openedFromAbroad && s.flowBytesOut > config_.inboundResponseBytes) {
    raise(&d->lastAlert[3], AlertEvent{AlertKind::kLargeInboundResponse, s.tenant, s.country, s.destination,
                                       s.flowBytesOut, 0, config_.inboundResponseBytes, now});
  }
}

uint64_t AnomalyMonitor::baseline(uint32_t tenant, uint16_t country, int32_t destination) const {
  const DestRow* d = findDest(tenant, country, destination);
  return d == nullptr ? 0 : static_cast<uint64_t>(std::llround(d->ewma));
}

}  // namespace xborder::dp::anomaly
