#include "dataplane/anomaly/anomaly_monitor.h"

#include <vector>

#include "gtest/gtest.h"

namespace xborder::dp::anomaly {
namespace {

constexpr int64_t kMinute = 60'000'000'000;
constexpr int64_t kT0 = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z
constexpr uint16_t kUS = ('U' << 8) | 'S';
constexpr uint16_t kDE = ('D' << 8) | 'E';
constexpr uint64_t kMiB = 1 << 20;

struct Recorder : AlertSink {
  std::vector<AlertEvent> alerts;
  void onAlert(const AlertEvent& a) override { alerts.push_back(a); }
  size_t count(AlertKind k) const {
    size_t n = 0;
    for (const auto& a : alerts) n += a.kind == k;
    return n;
  }
};

AnomalyConfig quiet() {
  AnomalyConfig c;
  c.learningNanos = 0;
  c.warmupIntervals = 5;
  return c;
}

FlowSample sample(uint64_t delta, int64_t t, uint16_t country = kUS, int32_t dest = 3) {
  FlowSample s;
  s.tenant = 1;
  s.country = country;
  s.destination = dest;
  s.deltaBytesOut = delta;
  s.flowBytesOut = delta;
  s.unixNanos = t;
  return s;
}

TEST(Anomaly, BaselineAndSpikeAfterWarmup) {
  Recorder rec;
  AnomalyMonitor m(quiet(), &rec);
  // 4 MiB a minute, steady: no alert, baseline ~4 MiB.
  for (int i = 0; i < 20; ++i) m.observe(sample(4 * kMiB, kT0 + i * kMinute));
  EXPECT_EQ(rec.count(AlertKind::kVolumeSpike), 0u);
  EXPECT_NEAR(static_cast<double>(m.baseline(1, kUS, 3)), 4.0 * kMiB, 0.01 * kMiB);
  // Within one minute, 30 MiB: more than 5 x 4 MiB and over the 10 MiB floor.
  for (int i = 0; i < 30; ++i) m.observe(sample(kMiB, kT0 + 20 * kMinute + int64_t{i} * 1'000'000'000));
  ASSERT_EQ(rec.count(AlertKind::kVolumeSpike), 1u);  // once: the cooldown holds the rest
  const AlertEvent& a = rec.alerts.back();
  EXPECT_EQ(a.tenant, 1u);
  EXPECT_EQ(a.country, kUS);
  EXPECT_EQ(a.destination, 3);
  EXPECT_GT(a.observed, a.threshold);
  EXPECT_NEAR(static_cast<double>(a.threshold), 5.0 * a.baseline, 2.0);
  EXPECT_GT(m.suppressed(), 0u);
}

TEST(Anomaly, NoSpikeDuringWarmupOrBelowFloor) {
  Recorder rec;
  AnomalyMonitor m(quiet(), &rec);
  m.observe(sample(1 * kMiB, kT0));
  m.observe(sample(200 * kMiB, kT0 + kMinute));  // second interval: still warming up
  EXPECT_EQ(rec.count(AlertKind::kVolumeSpike), 0u);
  Recorder rec2;
  AnomalyMonitor small(quiet(), &rec2);
  for (int i = 0; i < 10; ++i) small.observe(sample(1000, kT0 + i * kMinute));
  small.observe(sample(100'000, kT0 + 10 * kMinute));  // 100 x baseline but only 100 kB
  EXPECT_EQ(rec2.count(AlertKind::kVolumeSpike), 0u);
}

TEST(Anomaly, IdleIntervalsDecayTheBaseline) {
  Recorder rec;
  AnomalyConfig c = quiet();
  c.ewmaAlpha = 0.5;
  AnomalyMonitor m(c, &rec);
  for (int i = 0; i < 10; ++i) m.observe(sample(8 * kMiB, kT0 + i * kMinute));
  const uint64_t before = m.baseline(1, kUS, 3);
  m.observe(sample(0, kT0 + 13 * kMinute));  // closes minute 9 (8 MiB) and three empty minutes
  EXPECT_LT(m.baseline(1, kUS, 3), before / 4);
}

TEST(Anomaly, FirstSeenCountryAfterLearning) {
  Recorder rec;
  AnomalyConfig c = quiet();
  c.learningNanos = 10 * kMinute;
  AnomalyMonitor m(c, &rec);
  m.observe(sample(1, kT0, kUS));                 // learned silently
  m.observe(sample(1, kT0 + 20 * kMinute, kUS));  // known
  EXPECT_EQ(rec.count(AlertKind::kFirstSeenCountry), 0u);
  m.observe(sample(1, kT0 + 21 * kMinute, kDE));  // new after learning
  m.observe(sample(1, kT0 + 22 * kMinute, kDE));
  ASSERT_EQ(rec.count(AlertKind::kFirstSeenCountry), 1u);
  EXPECT_EQ(rec.alerts.back().country, kDE);
  m.seedKnownCountry(1, ('J' << 8) | 'P');
  m.observe(sample(1, kT0 + 23 * kMinute, ('J' << 8) | 'P'));
  EXPECT_EQ(rec.count(AlertKind::kFirstSeenCountry), 1u);
}

TEST(Anomaly, BulkToUncoveredAndLargeInboundResponse) {
  Recorder rec;
  AnomalyMonitor m(quiet(), &rec);
  FlowSample s = sample(kMiB, kT0);
  s.flowBytesOut = 150 * kMiB;
  s.covered = true;
  m.observe(s);
  EXPECT_EQ(rec.count(AlertKind::kBulkUncovered), 0u);  // a filing covers it
  s.covered = false;
  m.observe(s);
  ASSERT_EQ(rec.count(AlertKind::kBulkUncovered), 1u);
  EXPECT_EQ(rec.alerts.back().threshold, 100 * kMiB);
  EXPECT_EQ(rec.alerts.back().observed, 150 * kMiB);
  s.unixNanos += kMinute;  // within the 10-minute cooldown
  m.observe(s);
  EXPECT_EQ(rec.count(AlertKind::kBulkUncovered), 1u);
  s.unixNanos += 10 * kMinute;
  m.observe(s);
  EXPECT_EQ(rec.count(AlertKind::kBulkUncovered), 2u);

  FlowSample pull = sample(kMiB, kT0, kUS, 4);
  pull.flowBytesOut = 40 * kMiB;
  pull.openedFromAbroad = true;
  m.observe(pull);
  EXPECT_EQ(rec.count(AlertKind::kLargeInboundResponse), 0u);
  pull.flowBytesOut = 60 * kMiB;
  m.observe(pull);
  EXPECT_EQ(rec.count(AlertKind::kLargeInboundResponse), 1u);
  pull.openedFromAbroad = false;  // the same volume opened from inside is not a pull
  pull.destination = 5;
  m.observe(pull);
  EXPECT_EQ(rec.count(AlertKind::kLargeInboundResponse), 1u);
}

TEST(Anomaly, BoundedMemoryCountsOverflow) {
  Recorder rec;
  AnomalyConfig c = quiet();
  c.destinationCapacity = 16;  // 14 usable
  AnomalyMonitor m(c, &rec);
  for (int32_t d = 0; d < 20; ++d) m.observe(sample(1, kT0, kUS, d));
  EXPECT_EQ(m.overflow(), 6u);
  EXPECT_EQ(m.baseline(1, kUS, 19), 0u);
}

}  // namespace
}  // namespace xborder::dp::anomaly
