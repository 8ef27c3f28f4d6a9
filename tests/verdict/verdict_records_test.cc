// Control-side evidence: records built on a control thread (THRESHOLD, ALARM from an
// anomaly alert, RULESET_ACTIVATION, APPLIANCE) go through the sink's control queue and
// the writer; FLOW events are named after the ruleset version that decided them; after
// a full disk stopped the log, reopening it writes GAP records for what was lost; the
// per-worker FlowSample ring feeds the AnomalyMonitor.
#include <gtest/gtest.h>

#include <filesystem>

#include "dataplane/anomaly/anomaly_samples.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/evidence_sink/evidence_sink_records.h"

namespace xborder::dp::evidence_sink {
namespace {

namespace ev = xborder::evidence;

std::string tempDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("xb-verdict-rec-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// Posix, except that the free space can be made to run out (a full disk).
class FullDiskEnv : public ev::Env {
 public:
  std::atomic<bool> full{false};
  absl::StatusOr<std::unique_ptr<ev::File>> openFile(const std::string& p, bool c) override {
    return base_->openFile(p, c);
  }
  absl::StatusOr<std::string> readFile(const std::string& p) override { return base_->readFile(p); }
  absl::StatusOr<std::vector<std::string>> listDir(const std::string& d) override { return base_->listDir(d); }
  absl::Status createDir(const std::string& d) override { return base_->createDir(d); }
  absl::Status rename(const std::string& a, const std::string& b) override { return base_->rename(a, b); }
  absl::Status remove(const std::string& p) override { return base_->remove(p); }
  absl::Status syncDir(const std::string& d) override { return base_->syncDir(d); }
  bool exists(const std::string& p) override { return base_->exists(p); }
  absl::StatusOr<std::unique_ptr<ev::FileLock>> lockFile(const std::string& p) override {
    return base_->lockFile(p);
  }
  int64_t nowUnixNanos() override { return base_->nowUnixNanos(); }
  absl::StatusOr<uint64_t> freeBytes(const std::string&) override {
    return full.load() ? uint64_t{0} : uint64_t{1} << 40;
  }

 private:
  ev::Env* base_ = ev::Env::posix();
};

ev::LogOptions logOptions(const std::string& dir, ev::Env* env, uint64_t segmentBytes) {
  ev::LogOptions o;
  o.dir = dir;
  o.origin = "test.xborder/verdict-records";
  o.segment_bytes = segmentBytes;
  o.min_free_bytes = env != nullptr ? 4096 : 0;
  o.env = env;
  return o;
}

std::vector<ev::v1::EvidenceRecord> readAll(const ev::Log& log) {
  std::vector<ev::v1::EvidenceRecord> out;
  for (uint64_t i = 0; i < log.size(); ++i) {
    auto b = log.readRecord(i);
    EXPECT_TRUE(b.ok()) << b.status();
    ev::v1::EvidenceRecord r;
    if (b.ok()) {
      EXPECT_TRUE(r.ParseFromString(*b));
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::shared_ptr<RulesetNames> names(uint8_t tag) {
  auto n = std::make_shared<RulesetNames>();
  n->sha256.fill(tag);
  n->tenants = {"91320500EXAMPLE46H", "91310000EXAMPLE7KY"};
  n->entries = {std::string("ENTRY-") + static_cast<char>('A' + tag), "GEN-03"};
  n->filings = {"FIL-1", "FIL-2"};
  return n;
}

EvidenceEvent flowEvent(uint8_t rulesetTag, uint64_t bytesOut) {
  EvidenceEvent e;
  e.decidedUnixNanos = 1'760'000'000'000'000'000;
  e.bytesOutBeforeDecision = bytesOut;
  e.bytesInBeforeDecision = 7;
  e.bytesOut = bytesOut + 100;  // the deciding packet and what followed it
  e.bytesIn = 7;
  e.decision = Decision::kBlock;
  e.tenant = 1;
  e.entry = 0;
  e.filing = 1;
  e.flags = kFlagFailClosed;
  std::fill(std::begin(e.rulesetSha256), std::end(e.rulesetSha256), rulesetTag);
  return e;
}

TEST(ControlRecords, QueuedByControlThreadsAppendedByTheWriterWithNamedFlows) {
  const std::string dir = tempDir("control");
  auto log = ev::Log::create(logOptions(dir, nullptr, 64 << 20));
  ASSERT_TRUE(log.ok()) << log.status();
  SinkOptions so;
  EvidenceSink sink(log->get(), so);
  auto a = names(1), b = names(2);
  sink.registerNames(a);
  sink.registerNames(b);

  counters::Crossing c;
  c.key.counter = {rules::eval::CounterKey::Kind::kEntry, 1, 1, 2026};
  c.key.country = counters::countryCode('U', 'S');
  c.boundary = 100000;
  c.ratio = 0.8;
  c.level = 80000;
  c.observed = 80012;
  ASSERT_TRUE(sink.submitControl(thresholdRecord(c, *a, 5)));
  anomaly::AlertEvent al;
  al.kind = anomaly::AlertKind::kVolumeSpike;
  al.tenant = 0;
  al.country = counters::countryCode('J', 'P');
  al.observed = 123456789;
  al.threshold = 5000000;
  al.baseline = 1000000;
  al.unixNanos = 6;
  ASSERT_TRUE(sink.submitControl(alertRecord(al, *a, "DST-JP")));
  std::array<uint8_t, 32> zero{};
  ASSERT_TRUE(sink.submitControl(rulesetActivationRecord("XB-NL", "2025.1", b->sha256, a->sha256, "operator")));
  ASSERT_TRUE(sink.submitControl(rulesetActivationRecord("XB-NL", "2025.0", a->sha256, zero, "operator")));
  ASSERT_TRUE(sink.submitControl(applianceRecord(ev::v1::ApplianceEvent::START, "start", "0.2", "SN1")));
  ASSERT_TRUE(sink.submit(0, flowEvent(1, 1500)));
  ASSERT_TRUE(sink.submit(0, flowEvent(2, 2500)));
  ASSERT_TRUE(sink.submit(0, flowEvent(3, 3500)));  // a version the sink has no names for
  EXPECT_EQ(sink.runOnce(), 8u);

  const auto recs = readAll(**log);
  ASSERT_EQ(recs.size(), 8u);
  for (size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(recs[i].index(), i);
  EXPECT_EQ(recs[0].type(), ev::v1::THRESHOLD);
  EXPECT_EQ(recs[0].tenant(), "91310000EXAMPLE7KY");
  EXPECT_EQ(recs[0].threshold().rule_id(), "GEN-03");
  EXPECT_EQ(recs[0].threshold().threshold(), 80000u);
  EXPECT_EQ(recs[0].threshold().observed(), 80012u);
  EXPECT_EQ(recs[0].threshold().dst_country(), "US");
  EXPECT_EQ(recs[0].threshold().window(), "calendar-year 2026");
  EXPECT_NE(recs[0].threshold().data_category().find("ratio=0.8"), std::string::npos);
  EXPECT_EQ(recs[1].type(), ev::v1::ALARM);
  EXPECT_EQ(recs[1].alert().kind(), "anomaly-volume-spike");
  EXPECT_EQ(recs[1].tenant(), "91320500EXAMPLE46H");
  EXPECT_NE(recs[1].alert().detail().find("destination=DST-JP"), std::string::npos);
  EXPECT_NE(recs[1].alert().detail().find("observed_bytes=123456789"), std::string::npos);
  EXPECT_EQ(recs[2].type(), ev::v1::RULESET_ACTIVATION);
  EXPECT_EQ(recs[2].ruleset().previous_sha256(), std::string(32, '\1'));
  EXPECT_TRUE(recs[3].ruleset().previous_sha256().empty());
  EXPECT_EQ(recs[4].appliance().kind(), ev::v1::ApplianceEvent::START);
  // FLOW records: names of the version that decided each one, bytes before decision.
  EXPECT_EQ(recs[5].flow().rule_id(), "ENTRY-B");
  EXPECT_EQ(recs[6].flow().rule_id(), "ENTRY-C");
  EXPECT_EQ(recs[5].flow().filing_id(), "FIL-2");
  EXPECT_EQ(recs[5].tenant(), "91310000EXAMPLE7KY");
  EXPECT_EQ(recs[5].flow().bytes_out_before_decision(), 1500u);
  EXPECT_EQ(recs[5].flow().bytes_in_before_decision(), 7u);
  EXPECT_EQ(recs[5].flow().bytes_out(), 1600u);
  EXPECT_EQ(recs[5].flow().bytes_in(), 7u);
  EXPECT_EQ(recs[5].flow().decided_unix_nanos(), 1'760'000'000'000'000'000);
  EXPECT_FALSE(recs[5].flow().final());
  EXPECT_EQ(recs[5].flow().policy_decision(), "block");
  EXPECT_NE(recs[5].flow().data_category().find("fail-closed"), std::string::npos);
  EXPECT_EQ(recs[7].flow().rule_id(), "#0");
  EXPECT_EQ(sink.writerStats().control, 5u);
  EXPECT_EQ(sink.writerStats().written, 3u);
  std::filesystem::remove_all(dir);
}

TEST(ControlRecords, ReopenAfterFullDiskWritesGapsForWhatWasLost) {
  const std::string dir = tempDir("full");
  FullDiskEnv env;
  const auto opts = logOptions(dir, &env, 8192);  // small segments: a roll comes soon
  auto created = ev::Log::create(opts);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<ev::Log> log = std::move(*created);
  SinkOptions so;
  so.ringSlots = 256;
  so.batchMax = 8;
  EvidenceSink sink(log.get(), so);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(sink.submit(0, flowEvent(1, 100)));
  sink.runOnce();
  const uint64_t before = log->size();
  EXPECT_EQ(before, 4u);
  env.full = true;
  uint64_t submitted = 4;
  for (int round = 0; round < 100 && sink.writerHealthy(); ++round) {
    for (int i = 0; i < 8; ++i, ++submitted) sink.submit(0, flowEvent(1, 100));
    sink.runOnce();
  }
  ASSERT_FALSE(sink.writerHealthy());
  ASSERT_EQ(log->state(), ev::LogState::kIntakeStopped);
  // While down: more events and a control record are lost (counted).
  for (int i = 0; i < 5; ++i, ++submitted) sink.submit(0, flowEvent(1, 100));
  sink.submitControl(applianceRecord(ev::v1::ApplianceEvent::STOP, "x", "0.2", "SN1"));
  sink.runOnce();
  const WriterStats down = sink.writerStats();
  EXPECT_GT(down.lostDisk, 0u);
  EXPECT_EQ(down.lostControl, 1u);
  const uint64_t durable = log->size();

  // Space is back: the writer closes and reopens the log on its own thread.
  env.full = false;
  sink.resumeLog([&]() -> ev::Log* {
    log.reset();
    auto reopened = ev::Log::open(opts);
    EXPECT_TRUE(reopened.ok()) << reopened.status();
    if (!reopened.ok()) return nullptr;
    log = std::move(*reopened);
    return log.get();
  });
  ASSERT_TRUE(sink.submit(0, flowEvent(2, 100)));
  sink.runOnce();
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(sink.writerHealthy());
  EXPECT_TRUE(sink.canRecord(0));
  const auto recs = readAll(*log);
  ASSERT_EQ(recs.size(), durable + 3);  // worker GAP, control GAP, the new FLOW
  const auto& g = recs[durable];
  EXPECT_EQ(g.type(), ev::v1::GAP);
  EXPECT_EQ(g.gap().source().rfind("disk-full worker=0", 0), 0u) << g.gap().source();
  // Every event that is not a FLOW record in the log is covered by a GAP.
  const uint64_t flows_written = durable - 0;
  EXPECT_EQ(g.gap().lost_count() + flows_written, submitted) << "lost " << g.gap().lost_count();
  EXPECT_EQ(g.gap().last_seq(), submitted - 1);
  EXPECT_EQ(recs[durable + 1].type(), ev::v1::GAP);
  EXPECT_EQ(recs[durable + 1].gap().lost_count(), 1u);
  EXPECT_EQ(recs[durable + 2].type(), ev::v1::FLOW);
  EXPECT_EQ(recs[durable + 2].flow().policy_decision(), "block");
  log.reset();
  std::filesystem::remove_all(dir);
}

struct Alerts : anomaly::AlertSink {
  std::vector<anomaly::AlertEvent> got;
  void onAlert(const anomaly::AlertEvent& a) override { got.push_back(a); }
};

TEST(FlowSampleRing, DrainsIntoTheMonitorAndCountsDrops) {
  anomaly::FlowSampleRing ring(4);
  Alerts alerts;
  anomaly::AnomalyConfig cfg;
  cfg.bulkBytes = 1000;
  anomaly::AnomalyMonitor monitor(cfg, &alerts);
  anomaly::FlowSample s;
  s.tenant = 3;
  s.country = counters::countryCode('U', 'S');
  s.destination = -1;
  s.flowBytesOut = s.deltaBytesOut = 5000;
  s.covered = false;
  s.unixNanos = 1;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.push(s));
  EXPECT_FALSE(ring.push(s));
  EXPECT_EQ(ring.dropped(), 1u);
  EXPECT_EQ(ring.drainInto(monitor, 3), 3u);
  EXPECT_EQ(ring.drainInto(monitor), 1u);
  ASSERT_FALSE(alerts.got.empty());
  EXPECT_EQ(alerts.got[0].kind, anomaly::AlertKind::kBulkUncovered);
  EXPECT_EQ(alerts.got[0].tenant, 3u);
}

}  // namespace
}  // namespace xborder::dp::evidence_sink
