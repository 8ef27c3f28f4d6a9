#pragma once
// Abnormal cross-border flow monitoring per tenant and destination (issue 5):
//  - volume spike: bytes to a (tenant, country, destination) in the current interval
//    above spikeMultiple x its baseline (EWMA of bytes per interval, after a warm-up);
//  - first-seen country: a tenant sends to a country it never sent to before (after
//    the learning period; known pairs can be seeded from history);
//  - bulk uncovered: one flow moved more than bulkBytes to a destination no filing
//    covers (the caller says whether one does);
//  - large inbound response: a session opened from abroad (inbound pull) whose
//    response bytes going out exceed inboundResponseBytes.
// Each raises an AlertEvent to the caller's sink, at most once per key per cooldown.
//
// Threading: one owner thread (not thread-safe). Memory is fixed at construction (two
// open-addressed tables); observe() is O(1) and never allocates; a key that does not
// fit is counted in overflow() and not monitored.
#include <cstdint>
#include <memory>
#include <string_view>

namespace xborder::dp::anomaly {

enum class AlertKind : uint8_t { kVolumeSpike, kFirstSeenCountry, kBulkUncovered, kLargeInboundResponse };
std::string_view alertKindName(AlertKind kind);  // "volume-spike", ...

struct AlertEvent {
  AlertKind kind = AlertKind::kVolumeSpike;
  uint32_t tenant = 0;        // legal-entity index
  uint16_t country = 0;       // ISO alpha-2 packed as (c0 << 8) | c1
  int32_t destination = -1;   // destination index in the ruleset; -1 unknown
  uint64_t observed = 0;      // bytes (interval or flow)
  uint64_t baseline = 0;      // EWMA bytes per interval (spikes), else 0
  uint64_t threshold = 0;     // the limit that was passed
  int64_t unixNanos = 0;
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void onAlert(const AlertEvent& alert) = 0;
};

struct AnomalyConfig {
  int64_t intervalNanos = 60'000'000'000;            // baseline bucket: 1 minute
  double ewmaAlpha = 0.1;                            // weight of the newest interval
  uint32_t warmupIntervals = 30;                     // no spike alerts before 30 intervals of history
  double spikeMultiple = 5.0;                        // spike: interval bytes > 5 x baseline
  uint64_t spikeMinBytes = uint64_t{10} << 20;       // ...and at least 10 MiB (no alerts on noise)
  uint64_t bulkBytes = uint64_t{100} << 20;          // bulk transfer: 100 MiB in one flow
  uint64_t inboundResponseBytes = uint64_t{50} << 20;  // large response to a pull from abroad
  int64_t learningNanos = 86'400'000'000'000;        // first-seen country: silent for the first day
  int64_t cooldownNanos = 600'000'000'000;           // same alert, same key: at most every 10 min
  size_t destinationCapacity = 1 << 16;              // (tenant, country, destination) rows
  size_t countryCapacity = 1 << 14;                  // (tenant, country) rows
};

// One observation of a flow: call it as bytes cross (e.g. per burst or per flow-log
// update). deltaBytesOut feeds the volume baseline; flowBytesOut is the flow's running
// total to abroad (bulk and response checks).
struct FlowSample {
  uint32_t tenant = 0;
  uint16_t country = 0;
  int32_t destination = -1;
  uint64_t deltaBytesOut = 0;
  uint64_t flowBytesOut = 0;
  bool covered = true;            // some filing covers this destination
  bool openedFromAbroad = false;  // inbound pull: the foreign side opened the session
  int64_t unixNanos = 0;
};

class AnomalyMonitor {
 public:
  AnomalyMonitor(AnomalyConfig config, AlertSink* sink);
  ~AnomalyMonitor();

  void observe(const FlowSample& sample);
  // Control path: a (tenant, country) pair already seen before this process started.
  void seedKnownCountry(uint32_t tenant, uint16_t country);

  // Current baseline of a destination (bytes per interval), 0 if unknown.
  uint64_t baseline(uint32_t tenant, uint16_t country, int32_t destination) const;
  uint64_t overflow() const { return overflow_; }
  uint64_t suppressed() const { return suppressed_; }  // alerts held back by the cooldown
  const AnomalyConfig& config() const { return config_; }

 private:
  struct DestRow;
  struct CountryRow;
  DestRow* destRow(uint32_t tenant, uint16_t country, int32_t destination, bool insert);
  const DestRow* findDest(uint32_t tenant, uint16_t country, int32_t destination) const;
  CountryRow* countryRow(uint32_t tenant, uint16_t country, bool* inserted);
  void raise(int64_t* lastAlert, const AlertEvent& alert);
  void roll(DestRow& row, int64_t now);

  AnomalyConfig config_;
  AlertSink* sink_;
  std::unique_ptr<DestRow[]> dests_;
  std::unique_ptr<CountryRow[]> countries_;
  size_t destMask_, countryMask_;
  size_t destUsed_ = 0, countryUsed_ = 0;
  int64_t firstSeenNanos_ = 0;  // first observation: starts the learning period
  uint64_t overflow_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace xborder::dp::anomaly
