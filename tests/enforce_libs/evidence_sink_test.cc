// Integration: producer threads -> per-worker rings -> writer -> a real evidence Log
// in a temp dir, then the log is read back.
#include "dataplane/evidence_sink/evidence_sink.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "gtest/gtest.h"

namespace xborder::dp::evidence_sink {
namespace {

namespace ev = xborder::evidence;

std::string tempDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("xb-evsink-") + name + "-" + std::to_string(::getpid()));
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

std::unique_ptr<ev::Log> makeLog(const std::string& dir, ev::Env* env = nullptr, uint64_t segmentBytes = 64 << 20) {
  ev::LogOptions o;
  o.dir = dir;
  o.origin = "test.xborder/evsink";
  o.segment_bytes = segmentBytes;
  o.min_free_bytes = env != nullptr ? 4096 : 0;
  o.env = env;
  auto log = ev::Log::create(o);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

EvidenceEvent event(uint32_t worker, uint64_t i) {
  EvidenceEvent e;
  e.flowSeq = (uint64_t{worker} << 32) | i;
  e.decidedUnixNanos = 1'760'000'000'000'000'000 + static_cast<int64_t>(i);
  e.decision = (i % 3 == 0) ? Decision::kBlock : Decision::kAlert;
  e.tenant = worker;
  e.entry = 7;
  e.bytesOutBeforeDecision = 1000 + i;
  e.dstIpLen = 4;
  e.dstIp[0] = 203;
  e.dstCountry[0] = 'U';
  e.dstCountry[1] = 'S';
  e.rulesetSha256[0] = 0xab;
  e.rulesetSha256[31] = 0xcd;
  e.records = 3;
  e.ipProto = 6;
  e.flowId[0] = static_cast<uint8_t>(i);
  return e;
}

struct ReadBack {
  std::multiset<uint64_t> flowSeqs;
  std::map<uint64_t, uint64_t> gapLostByWorker;
  uint64_t gapRecords = 0;
};

ReadBack readBack(const ev::Log& log) {
  ReadBack out;
  for (uint64_t i = 0; i < log.size(); ++i) {
    auto bytes = log.readRecord(i);
    EXPECT_TRUE(bytes.ok());
    ev::v1::EvidenceRecord r;
    EXPECT_TRUE(r.ParseFromString(*bytes));
    EXPECT_EQ(r.index(), i);
    if (r.type() == ev::v1::FLOW) {
      out.flowSeqs.insert(r.flow().flow_seq());
      EXPECT_FALSE(r.flow().policy_decision().empty());
      EXPECT_EQ(r.flow().dst_country(), "US");
      EXPECT_EQ(r.flow().rule_id(), "ENTRY-7");
      EXPECT_EQ(r.flow().ruleset_sha256().size(), 32u);
      EXPECT_EQ(static_cast<uint8_t>(r.flow().ruleset_sha256()[0]), 0xab);
      EXPECT_EQ(static_cast<uint8_t>(r.flow().ruleset_sha256()[31]), 0xcd);
      EXPECT_EQ(r.flow().records(), 3u);
    } else if (r.type() == ev::v1::GAP) {
      ++out.gapRecords;
      const std::string& src = r.gap().source();
      const size_t at = src.find("worker=");
      EXPECT_NE(at, std::string::npos);
      const uint64_t worker = std::stoull(src.substr(at + 7));
      EXPECT_EQ(r.gap().worker(), worker);
      EXPECT_LE(r.gap().from_unix_nanos(), r.gap().to_unix_nanos());
      EXPECT_EQ(r.gap().lost_count(), r.gap().last_seq() - r.gap().first_seq() + 1);
      out.gapLostByWorker[worker] += r.gap().lost_count();
    }
  }
  return out;
}

SinkOptions options(size_t workers, size_t slots) {
  SinkOptions o;
  o.workers = workers;
  o.ringSlots = slots;
  o.batchMax = 256;
  o.idleWait = std::chrono::microseconds(100);
  o.entryName = [](int32_t e) { return "ENTRY-" + std::to_string(e); };
  return o;
}

TEST(EvidenceSink, ProducersToLogEveryAcceptedEventOnceLossesAsGaps) {
  const std::string dir = tempDir("mpsc");
  auto log = makeLog(dir);
  ASSERT_NE(log, nullptr);
  constexpr size_t kWorkers = 4;
  constexpr uint64_t kEach = 20000;
  EvidenceSink sink(log.get(), options(kWorkers, 512));  // small rings: some loss is likely
  sink.start();
  std::vector<std::vector<uint64_t>> accepted(kWorkers);
  std::vector<std::thread> producers;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    producers.emplace_back([&, w] {
      for (uint64_t i = 0; i < kEach; ++i) {
        if (sink.submit(w, event(w, i))) accepted[w].push_back(event(w, i).flowSeq);
        // Bursts with pauses, as traffic comes: most fit, bursts beyond a ring do not.
        if (i % 512 == 511) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  for (auto& t : producers) t.join();
  sink.stop();
  ASSERT_TRUE(sink.lastError().ok()) << sink.lastError();

  const ReadBack rb = readBack(*log);
  std::multiset<uint64_t> want;
  uint64_t lost = 0;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    want.insert(accepted[w].begin(), accepted[w].end());
    const WorkerStats ws = sink.workerStats(w);
    EXPECT_EQ(ws.submitted, kEach);
    EXPECT_EQ(ws.lostRing + accepted[w].size(), kEach);
    EXPECT_EQ(rb.gapLostByWorker.count(w) ? rb.gapLostByWorker.at(w) : 0, ws.lostRing) << "worker " << w;
    lost += ws.lostRing;
  }
  EXPECT_GT(want.size(), 0u);
  EXPECT_EQ(rb.flowSeqs, want);  // every accepted event exactly once, nothing else
  EXPECT_EQ(sink.writerStats().written, want.size());
  EXPECT_EQ(sink.writerStats().gapEvents, lost);
  std::printf("accepted %zu lost %llu gap records %llu batches %llu\n", want.size(),
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(rb.gapRecords),
              static_cast<unsigned long long>(sink.writerStats().batches));
  std::filesystem::remove_all(dir);
}

TEST(EvidenceSink, SlowDiskFillsTheRingCanRecordFalseThenGapRecords) {
  const std::string dir = tempDir("slow");
  auto log = makeLog(dir);
  ASSERT_NE(log, nullptr);
  std::atomic<bool> slow{true};
  SinkOptions o = options(1, 64);
  o.beforeAppend = [&] {
    while (slow.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  EvidenceSink sink(log.get(), o);
  sink.start();
  EXPECT_TRUE(sink.canRecord(0));
  uint64_t accepted = 0, refusedAfterFull = 0;
  bool sawCannotRecord = false;
  for (uint64_t i = 0; i < 1000; ++i) {
    if (!sink.canRecord(0)) {
      sawCannotRecord = true;
      EXPECT_TRUE(sink.mustBlock(0, true));
      EXPECT_FALSE(sink.mustBlock(0, false));  // a verdict that needs no evidence goes on
    }
    if (sink.submit(0, event(0, i))) {
      ++accepted;
    } else {
      ++refusedAfterFull;
    }
  }
  EXPECT_TRUE(sawCannotRecord);
  EXPECT_GT(refusedAfterFull, 0u);
  slow = false;  // the disk catches up
  sink.stop();
  const ReadBack rb = readBack(*log);
  EXPECT_EQ(rb.flowSeqs.size(), accepted);
  EXPECT_GE(rb.gapRecords, 1u);
  EXPECT_EQ(rb.gapLostByWorker.at(0), refusedAfterFull);
  EXPECT_TRUE(sink.canRecord(0));
  std::filesystem::remove_all(dir);
}

TEST(EvidenceSink, FullDiskStopsIntakeAndCanRecordTurnsFalse) {
  const std::string dir = tempDir("full");
  FullDiskEnv env;
  auto log = makeLog(dir, &env, 8192);  // small segments: a roll comes soon
  ASSERT_NE(log, nullptr);
  EvidenceSink sink(log.get(), options(1, 256));
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(sink.submit(0, event(0, i)));
  sink.runOnce();
  EXPECT_EQ(log->size(), 5u);
  EXPECT_TRUE(sink.canRecord(0));
  env.full = true;
  for (int round = 0; round < 50 && sink.writerHealthy(); ++round) {
    for (uint64_t i = 0; i < 20; ++i) sink.submit(0, event(0, 100 + round * 20 + i));
    sink.runOnce();
  }
  EXPECT_FALSE(sink.writerHealthy());
  EXPECT_FALSE(sink.canRecord(0));
  EXPECT_TRUE(sink.mustBlock(0, true));
  EXPECT_GT(sink.writerStats().lostDisk, 0u);
  EXPECT_EQ(log->state(), ev::LogState::kIntakeStopped);
  // Fail-open lets the flow through even so.
  SinkOptions open = options(1, 16);
  open.policy = FailPolicy::kFailOpen;
  EvidenceSink lenient(log.get(), open);
  lenient.runOnce();
  EXPECT_FALSE(lenient.canRecord(0));
  EXPECT_FALSE(lenient.mustBlock(0, true));
  std::filesystem::remove_all(dir);
}

// Losses while the log is down do not come in time order (a flow-end event carries its
// flow's last packet time): the disk-full GAP written on resume spans all of them.
TEST(EvidenceSink, DiskFullGapSpansEveryLossOutOfTimeOrder) {
  const std::string dir = tempDir("fullspan");
  FullDiskEnv env;
  ev::LogOptions o;
  o.dir = dir;
  o.origin = "test.xborder/evsink";
  o.segment_bytes = 8192;
  o.min_free_bytes = 4096;
  o.env = &env;
  auto created = ev::Log::create(o);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<ev::Log> log = std::move(*created);
  EvidenceSink sink(log.get(), options(1, 256));
  env.full = true;
  for (int round = 0; round < 50 && sink.writerHealthy(); ++round) {
    for (uint64_t i = 0; i < 20; ++i) sink.submit(0, event(0, 1000 + round * 20 + i));
    sink.runOnce();
  }
  ASSERT_FALSE(sink.writerHealthy());
  // Lost while down: a decision, then two events stamped earlier and one later.
  for (const int64_t t : {500, 10, 20, 900}) {
    EvidenceEvent e = event(0, 1);
    e.decidedUnixNanos = 1'760'000'000'000'000'000 + t;
    sink.submit(0, e);
  }
  sink.runOnce();
  const uint64_t lost = sink.writerStats().lostDisk;
  env.full = false;
  sink.resumeLog([&]() -> ev::Log* {
    log.reset();
    auto reopened = ev::Log::open(o);
    EXPECT_TRUE(reopened.ok()) << reopened.status();
    if (!reopened.ok()) return nullptr;
    log = std::move(*reopened);
    return log.get();
  });
  sink.runOnce();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(sink.writerHealthy());
  bool found = false;
  for (uint64_t i = 0; i < log->size(); ++i) {
    auto bytes = log->readRecord(i);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ev::v1::EvidenceRecord r;
    ASSERT_TRUE(r.ParseFromString(*bytes));
    if (r.type() != ev::v1::GAP || r.gap().source().rfind("disk-full worker=0", 0) != 0) continue;
    found = true;
    EXPECT_EQ(r.gap().lost_count(), lost);
    // The earliest loss is the event stamped +10; the latest is one of the first batch
    // (stamped +1000 and up), all later than +900.
    EXPECT_EQ(r.gap().from_unix_nanos(), 1'760'000'000'000'000'010);
    EXPECT_GE(r.gap().to_unix_nanos(), 1'760'000'000'000'001'000);
    EXPECT_LE(r.gap().from_unix_nanos(), r.gap().to_unix_nanos());
  }
  EXPECT_TRUE(found) << "no disk-full GAP record";
  log.reset();
  std::filesystem::remove_all(dir);
}

TEST(SpscRing, FifoAndFull) {
  SpscRing<uint64_t> ring(4);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(ring.push(i));
  EXPECT_FALSE(ring.push(99));
  EXPECT_FALSE(ring.hasRoom());
  uint64_t v = 0;
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(ring.pop(v));
  EXPECT_TRUE(ring.hasRoom());
}

}  // namespace
}  // namespace xborder::dp::evidence_sink
