// Crash safety through the fault-injecting file layer (EVIDENCE.md §4.4, harness 1).
// Each iteration appends and checkpoints until the disk freezes at a random operation,
// cuts power with a random fault model, reopens, and checks:
//  I1 every acknowledged record is present at its index, byte-identical;
//  I2 nothing appears that was not written (only submitted records or RECOVERY records);
//  I3 every published checkpoint still verifies and the log is consistent with it;
//  I4 crashes never raise the integrity alarm (they only tear the tail);
//  I5 no checkpoint covers unsynced data (implied by I3 after losing unsynced writes).
// Also: ENOSPC stops intake cleanly and the log recovers once space is back, and an
// fsync error stops the process (fail-stop).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "controlplane/evidence/merkle/merkle_verify.h"
#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_log.h"
#include "tests/evidence_core/ev_test_signer.h"
#include "tests/evidence_core/fault_env.h"

namespace xborder::evidence {
namespace {

using testing::FaultEnv;

constexpr char kOrigin[] = "evidence.test/fault";
constexpr char kDir[] = "/log";

LogOptions faultOptions(FaultEnv& env, uint64_t segmentBytes) {
  LogOptions o;
  o.dir = kDir;
  o.origin = kOrigin;
  o.segment_bytes = segmentBytes;
  o.env = &env;
  o.checkpoint_verifier = testing::testVerifier();
  return o;
}

std::string makeRecord(uint64_t index, uint64_t id, size_t padding) {
  v1::EvidenceRecord r;
  r.set_format_version(1);
  r.set_index(index);
  r.set_origin(kOrigin);
  r.set_observed_unix_nanos(static_cast<int64_t>(id));
  r.set_type(v1::SYSTEM);
  r.mutable_system()->set_kind("test");
  r.mutable_system()->set_detail(std::string(padding, static_cast<char>('a' + id % 26)));
  return r.SerializeAsString();
}

struct Model {
  std::map<uint64_t, std::string> acked;  // index -> exact bytes
  std::set<std::string> submitted;
  std::vector<Checkpoint> published;
};

// Checks I1-I4 on a freshly reopened log.
void checkInvariants(Log& log, const Model& model, const std::string& where) {
  ASSERT_EQ(log.state(), LogState::kOpen) << where << ": " << log.alarm();
  const uint64_t size = log.size();
  if (!model.acked.empty()) {
    ASSERT_GT(size, model.acked.rbegin()->first) << where << ": acknowledged records lost";
  }
  for (const auto& [index, bytes] : model.acked) {
    auto got = log.readRecord(index);
    ASSERT_TRUE(got.ok()) << where << ": " << got.status();
    ASSERT_EQ(*got, bytes) << where << ": acknowledged record " << index << " changed";
  }
  for (uint64_t i = 0; i < size; ++i) {
    auto got = log.readRecord(i);
    ASSERT_TRUE(got.ok()) << where;
    if (model.submitted.count(*got)) continue;
    auto rec = parseRecord(*got, {.index = i, .origin = kOrigin});
    ASSERT_TRUE(rec.ok() && rec->type() == v1::RECOVERY) << where << ": phantom record at " << i;
  }
  Hasher h;
  const Hash root = *log.root(size);
  for (const Checkpoint& c : model.published) {
    ASSERT_LE(c.size, size) << where;
    ASSERT_EQ(*log.root(c.size), c.root) << where << ": checkpoint " << c.size << " no longer holds";
    ASSERT_TRUE(testing::testVerifier()(c.note).ok());
    if (c.size > 0) {
      auto proof = log.consistencyProof(c.size, size);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(merkle::verifyConsistency(h, c.size, size, *proof, c.root, root).ok()) << where;
    }
  }
  if (!model.published.empty()) {
    ASSERT_TRUE(log.latestCheckpoint().has_value());
    ASSERT_GE(log.latestCheckpoint()->size, model.published.back().size) << where;
  }
}

// Runs random work until the env freezes (or `steps` run out). Acks and checkpoints
// count only if the disk had not frozen when the call returned.
void randomWork(Log& log, FaultEnv& env, Model& model, std::mt19937_64& rng, uint64_t& nextId,
                int steps) {
  for (int s = 0; s < steps && !env.crashed(); ++s) {
    const int dice = static_cast<int>(rng() % 100);
    if (dice < 70) {
      const uint64_t index = log.size();
      const std::string bytes = makeRecord(index, nextId++, rng() % 700);
      model.submitted.insert(bytes);
      auto r = log.append(bytes);
      if (r.ok() && !env.crashed()) model.acked[*r] = bytes;
      if (!r.ok()) return;
    } else if (dice < 90) {
      std::vector<std::string> batch;
      const uint64_t first = log.size();
      const size_t n = 2 + rng() % 12;
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(makeRecord(first + i, nextId++, rng() % 300));
        model.submitted.insert(batch.back());
      }
      auto r = log.appendBatch(batch);
      if (r.ok() && !env.crashed()) {
        for (size_t i = 0; i < n; ++i) model.acked[*r + i] = batch[i];
      }
      if (!r.ok()) return;
    } else {
      auto c = log.publishCheckpoint(testing::testSigner());
      if (c.ok() && !env.crashed()) model.published.push_back(*c);
    }
  }
}

class CrashFault : public ::testing::TestWithParam<FaultEnv::CutMode> {};

TEST_P(CrashFault, RandomCrashesKeepEveryAcknowledgedRecord) {
  const int iterations = 120;
  int truncations = 0;
  for (int it = 0; it < iterations; ++it) {
    const uint64_t seed = 1000 * static_cast<uint64_t>(GetParam()) + it;
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    FaultEnv env(seed);
    env.setSupportsAllocate(rng() % 4 != 0);
    const uint64_t segBytes = 4096 * (1 + rng() % 4);
    Model model;
    uint64_t nextId = 1;
    {
      auto log = Log::create(faultOptions(env, segBytes));
      ASSERT_TRUE(log.ok()) << log.status();
    }
    for (int round = 0; round < 4; ++round) {
      auto log = Log::open(faultOptions(env, segBytes));
      ASSERT_TRUE(log.ok()) << log.status();
      ASSERT_NO_FATAL_FAILURE(checkInvariants(**log, model, "round " + std::to_string(round)));
      truncations += (*log)->recovery().truncated;
      if ((*log)->recovery().recordIndex) {
        // The RECOVERY record itself was acknowledged.
        const uint64_t ri = *(*log)->recovery().recordIndex;
        model.acked[ri] = *(*log)->readRecord(ri);
      }
      env.crashAfterOps(static_cast<int64_t>(rng() % 300));
      randomWork(**log, env, model, rng, nextId, 400);
      log->reset();
      env.powerCut(GetParam());
    }
    auto log = Log::open(faultOptions(env, segBytes));
    ASSERT_TRUE(log.ok());
    ASSERT_NO_FATAL_FAILURE(checkInvariants(**log, model, "final"));
  }
  if (GetParam() != FaultEnv::CutMode::kDropAll && GetParam() != FaultEnv::CutMode::kKeepAll) {
    EXPECT_GT(truncations, 0) << "the fault model never produced a torn tail";
  }
}

std::string modeName(const ::testing::TestParamInfo<FaultEnv::CutMode>& param) {
  switch (param.param) {
    case FaultEnv::CutMode::kDropAll: return "DropUnsynced";
    case FaultEnv::CutMode::kTornByte: return "TornAtByte";
    case FaultEnv::CutMode::kTornSector: return "TornAtSector";
    case FaultEnv::CutMode::kSectorReorder: return "SectorReorder";
    case FaultEnv::CutMode::kKeepAll: return "KeepAll";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Modes, CrashFault,
                         ::testing::Values(FaultEnv::CutMode::kDropAll, FaultEnv::CutMode::kTornByte,
                                           FaultEnv::CutMode::kTornSector,
                                           FaultEnv::CutMode::kSectorReorder,
                                           FaultEnv::CutMode::kKeepAll),
                         modeName);

// A full disk: intake stops cleanly (no partial frame left behind, nothing signed),
// every acknowledged record survives, and the log takes records again once space is back.
TEST(CrashFaultDiskFull, StopsIntakeCleanlyAndRecovers) {
  for (bool prealloc : {true, false}) {
    SCOPED_TRACE(prealloc ? "with fallocate" : "without fallocate");
    FaultEnv env(7);
    env.setSupportsAllocate(prealloc);
    Model model;
    {
      auto log = Log::create(faultOptions(env, 8192));
      ASSERT_TRUE(log.ok());
    }
    env.setCapacity(env.usedBytes() + 30000);
    auto log = Log::open(faultOptions(env, 8192));
    ASSERT_TRUE(log.ok());
    absl::Status stop;
    for (uint64_t id = 1; id < 10000; ++id) {
      const std::string bytes = makeRecord((*log)->size(), id, 200);
      model.submitted.insert(bytes);
      auto r = (*log)->append(bytes);
      if (!r.ok()) {
        stop = r.status();
        break;
      }
      model.acked[*r] = bytes;
      if (id % 40 == 0) {
        auto c = (*log)->publishCheckpoint(testing::testSigner());
        if (c.ok()) model.published.push_back(*c);
      }
    }
    ASSERT_EQ(stop.code(), absl::StatusCode::kResourceExhausted) << stop;
    EXPECT_EQ((*log)->state(), LogState::kIntakeStopped);
    EXPECT_EQ((*log)->appendRecord(v1::EvidenceRecord()).status().code(),
              absl::StatusCode::kResourceExhausted);
    EXPECT_FALSE((*log)->publishCheckpoint(testing::testSigner()).ok());  // never sign after a stop
    ASSERT_GT(model.acked.size(), 50u);
    log->reset();
    // Reopen while still full: every acknowledged record is there and nothing torn.
    {
      auto again = Log::open(faultOptions(env, 8192));
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_FALSE((*again)->recovery().truncated);
      ASSERT_NO_FATAL_FAILURE(checkInvariants(**again, model, "after disk full"));
    }
    env.setCapacity(UINT64_MAX);
    auto again = Log::open(faultOptions(env, 8192));
    ASSERT_TRUE(again.ok());
    ASSERT_NO_FATAL_FAILURE(checkInvariants(**again, model, "space back"));
    for (uint64_t id = 20000; id < 20100; ++id) {
      const std::string bytes = makeRecord((*again)->size(), id, 200);
      model.submitted.insert(bytes);
      auto r = (*again)->append(bytes);
      ASSERT_TRUE(r.ok()) << r.status();
      model.acked[*r] = bytes;
    }
    ASSERT_TRUE((*again)->publishCheckpoint(testing::testSigner()).ok());
    ASSERT_NO_FATAL_FAILURE(checkInvariants(**again, model, "writing again"));
  }
}

// The free-space watermark stops intake before the disk is full, keeping the reserve.
TEST(CrashFaultDiskFull, WatermarkStopsIntakeEarly) {
  FaultEnv env(11);
  {
    auto log = Log::create(faultOptions(env, 8192));
    ASSERT_TRUE(log.ok());
  }
  const uint64_t capacity = env.usedBytes() + 100000;
  env.setCapacity(capacity);
  LogOptions o = faultOptions(env, 8192);
  o.min_free_bytes = 40000;
  Model model;
  auto log = Log::open(o);
  ASSERT_TRUE(log.ok());
  absl::Status stop;
  for (uint64_t id = 1; id < 10000; ++id) {
    const std::string bytes = makeRecord((*log)->size(), id, 200);
    model.submitted.insert(bytes);
    auto r = (*log)->append(bytes);
    if (!r.ok()) {
      stop = r.status();
      break;
    }
    model.acked[*r] = bytes;
  }
  ASSERT_EQ(stop.code(), absl::StatusCode::kResourceExhausted) << stop;
  EXPECT_NE(stop.message().find("watermark"), std::string_view::npos) << stop;
  EXPECT_GE(capacity - env.usedBytes(), 40000u);  // the reserve is intact
  EXPECT_EQ((*log)->state(), LogState::kIntakeStopped);
  log->reset();
  auto again = Log::open(faultOptions(env, 8192));
  ASSERT_TRUE(again.ok());
  ASSERT_NO_FATAL_FAILURE(checkInvariants(**again, model, "after watermark stop"));
  EXPECT_TRUE((*again)->appendRecord(v1::EvidenceRecord()).ok());  // no watermark: room left
}

// fsync EIO: fail-stop (abort), never retry.
TEST(CrashFaultDeathTest, FsyncErrorAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  FaultEnv env(9);
  auto log = Log::create(faultOptions(env, 8192));
  ASSERT_TRUE(log.ok());
  env.failSyncAfter(1);
  EXPECT_DEATH((void)(*log)->append(makeRecord(0, 1, 10)), "fdatasync failed.*fail-stop");
}

}  // namespace
}  // namespace xborder::evidence
