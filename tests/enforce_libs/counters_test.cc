#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>
#include <cstdio>

#include "dataplane/counters/counters_hll.h"
#include "dataplane/counters/counters_table.h"
#include "gtest/gtest.h"

namespace xborder::dp::counters {
namespace {

// Stand-in for the detectors' keyed HMAC truncations: uniform 64-bit values.
uint64_t keyedHash(uint64_t seed, uint64_t i) {
  uint64_t x = (seed << 40) + (i + 1) * 0x9e3779b97f4a7c15ULL;  // splitmix64 stream
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string tempDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("xb-counters-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TallyKey key(uint32_t entity, uint32_t entry, uint16_t country, int32_t year = 2026) {
  TallyKey k;
  k.counter.kind = CounterKey::Kind::kEntry;
  k.counter.legalEntity = entity;
  k.counter.index = entry;
  k.counter.year = year;
  k.country = country;
  k.sensitivity = Sensitivity::kSensitive;
  return k;
}

TEST(Hll, SmallCountsAreExact) {
  Hll h;
  for (uint64_t n = 1; n <= Hll::kSparseLimit; ++n) {
    h.add(keyedHash(7, n - 1));
    h.add(keyedHash(7, 0));  // duplicates never count twice
    ASSERT_EQ(h.estimate(), n);
    ASSERT_TRUE(h.exact());
  }
  h.add(keyedHash(7, 100000));
  EXPECT_FALSE(h.exact());
  EXPECT_NEAR(static_cast<double>(h.estimate()), Hll::kSparseLimit + 1.0, 5.0);
}

TEST(Hll, ErrorUnderTwoPercentAtOneMillion) {
  constexpr uint64_t kN = 1'000'000;
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    Hll h;
    for (uint64_t i = 0; i < kN; ++i) h.add(keyedHash(seed, i));
    const double err = (static_cast<double>(h.estimate()) - kN) / kN;
    EXPECT_LT(std::abs(err), 0.02) << "seed " << seed << " estimate " << h.estimate();
    std::printf("seed %u: estimate %llu error %+.3f%%\n", static_cast<unsigned>(seed),
                static_cast<unsigned long long>(h.estimate()), err * 100);
  }
}

TEST(Hll, MidRangeErrorSmall) {
  // The range where classic HLL switches from linear counting (about 2.5 m).
  for (uint64_t n : {1000u, 20000u, 40000u, 80000u}) {
    Hll h;
    for (uint64_t i = 0; i < n; ++i) h.add(keyedHash(11, i));
    EXPECT_LT(std::abs(static_cast<double>(h.estimate()) - n) / n, 0.03) << n;
  }
}

TEST(Hll, MergeIsUnion) {
  Hll a, b, both;
  for (uint64_t i = 0; i < 60000; ++i) {
    (i % 2 ? a : b).add(keyedHash(3, i));
    both.add(keyedHash(3, i));
  }
  for (uint64_t i = 0; i < 10000; ++i) a.add(keyedHash(3, i));  // overlap
  a.mergeFrom(b);
  EXPECT_EQ(a.estimate(), both.estimate());
  Hll s1, s2;  // small sketches stay exact through a merge
  for (uint64_t i = 0; i < 50; ++i) s1.add(keyedHash(4, i));
  for (uint64_t i = 25; i < 90; ++i) s2.add(keyedHash(4, i));
  s1.mergeFrom(s2);
  EXPECT_TRUE(s1.exact());
  EXPECT_EQ(s1.estimate(), 90u);
}

TEST(Counters, ShardsMergeIntoStoreAggregateAcrossCountries) {
  CounterStore store({.capacity = 64});
  CounterShard w0(64), w1(64);
  std::vector<uint64_t> h(100);
  for (uint64_t i = 0; i < 100; ++i) h[i] = keyedHash(9, i);
  w0.update(key(5, 2, countryCode('U', 'S')), std::span(h).subspan(0, 60), 60, 6000, 1);
  w1.update(key(5, 2, countryCode('D', 'E')), std::span(h).subspan(40, 60), 60, 6000, 1);  // 20 overlap
  store.merge(0, w0);
  store.merge(1, w1);
  const TallyKey agg = key(5, 2, 0).aggregate();
  EXPECT_EQ(store.count(agg.counter), 100u);  // union, not 120
  EXPECT_EQ(store.countDetail(key(5, 2, countryCode('U', 'S'))), 60u);
  EXPECT_EQ(store.totals(agg).records, 120u);
  EXPECT_EQ(store.totals(agg).flows, 2u);
  // Merging again adds only what changed since the last merge.
  w0.update(key(5, 2, countryCode('U', 'S')), {}, 1, 10, 1);
  store.merge(0, w0);
  store.merge(1, w1);
  EXPECT_EQ(store.totals(agg).records, 121u);
  EXPECT_EQ(store.totals(agg).bytes, 12010u);
  EXPECT_EQ(store.count(key(6, 2, 0).counter), 0u);  // another legal entity
}

TEST(Counters, BoundedTableCountsOverflow) {
  CounterShard shard(8);  // 7 usable rows
  const uint64_t h = 1;
  for (uint32_t e = 0; e < 20; ++e) shard.update(key(1, e, 0).aggregate(), std::span(&h, 1), 1, 1, 1);
  EXPECT_EQ(shard.table().size(), 7u);
  EXPECT_EQ(shard.overflow(), 13u);
}

TEST(Counters, ConcurrentWorkerAndControlMerge) {
  CounterStore store({.capacity = 64});
  CounterShard shard(64);
  constexpr uint64_t kN = 200000;
  std::atomic<bool> done{false};
  std::thread worker([&] {
    for (uint64_t i = 0; i < kN; ++i) {
      const uint64_t h = keyedHash(21, i);
      shard.update(key(1, 1, countryCode('J', 'P')), std::span(&h, 1), 1, 100, 1);
    }
    done = true;
  });
  while (!done) store.merge(0, shard);
  worker.join();
  store.merge(0, shard);
  const TallyKey agg = key(1, 1, 0).aggregate();
  EXPECT_EQ(store.totals(agg).records, kN);
  EXPECT_LT(std::abs(static_cast<double>(store.count(agg.counter)) - kN) / kN, 0.03);
}

// Mid-flow feeds (issue 5): the worker knows a feed is in the store's counts once the
// store acknowledges a feed sequence at least that high.
TEST(Counters, MergeAcknowledgesTheFeedSequenceItRead) {
  CounterStore store({.capacity = 64});
  CounterShard shard(64);
  EXPECT_EQ(shard.seq(), 0u);
  EXPECT_EQ(shard.mergedSeq(), 0u);
  const uint64_t h[2] = {keyedHash(3, 0), keyedHash(3, 1)};
  shard.update(key(1, 1, countryCode('S', 'G')), std::span(h, 1), 1, 10, 0);
  const uint64_t fed = shard.seq();
  EXPECT_EQ(fed, 1u) << "one feed, one step (the aggregate row is part of it)";
  EXPECT_LT(shard.mergedSeq(), fed) << "not merged yet";
  store.merge(0, shard);
  EXPECT_EQ(shard.mergedSeq(), fed);
  EXPECT_EQ(store.count(key(1, 1, 0).counter), 1u);
  shard.update(key(1, 1, countryCode('S', 'G')), std::span(h + 1, 1), 1, 10, 1);
  EXPECT_EQ(shard.seq(), fed + 1);
  EXPECT_EQ(shard.mergedSeq(), fed) << "the second feed waits for the next merge";
  store.merge(0, shard);
  EXPECT_EQ(shard.mergedSeq(), fed + 1);
  EXPECT_EQ(store.count(key(1, 1, 0).counter), 2u);
  // A shard id the store does not take is not acknowledged.
  CounterShard other(64);
  other.update(key(1, 1, 0).aggregate(), std::span(h, 1), 1, 1, 1);
  store.merge(999, other);
  EXPECT_EQ(other.mergedSeq(), 0u);
}

TEST(Counters, AcknowledgedFeedsAreInTheStoreWhileTheWorkerWrites) {
  CounterStore store({.capacity = 64});
  CounterShard shard(64);
  constexpr uint64_t kN = 100000;
  std::atomic<bool> done{false};
  std::thread worker([&] {
    for (uint64_t i = 0; i < kN; ++i) {
      const uint64_t h = keyedHash(22, i);
      shard.update(key(2, 1, countryCode('U', 'S')), std::span(&h, 1), 1, 100, 0);  // feed i+1: i+1 records
    }
    done = true;
  });
  const TallyKey agg = key(2, 1, 0).aggregate();
  do {
    store.merge(0, shard);
    const uint64_t acked = shard.mergedSeq();
    EXPECT_GE(store.totals(agg).records, acked) << "acknowledged feeds must be in the store";
  } while (!done);
  worker.join();
  store.merge(0, shard);
  EXPECT_EQ(shard.mergedSeq(), kN);
  EXPECT_EQ(store.totals(agg).records, kN);
}

CounterStoreOptions withThresholds(const std::string& path) {
  CounterStoreOptions o;
  o.capacity = 64;
  o.snapshotPath = path;
  o.thresholds = {{CounterKey::Kind::kEntry, 2, {100}}};
  o.ratios = {0.5, 0.8, 1.0};
  return o;
}

TEST(Counters, CrossingsReportedOncePerCounterPerYearAndPersisted) {
  const std::string dir = tempDir("cross");
  const std::string snap = dir + "/counters.snap";
  CounterShard shard(64);
  std::vector<uint64_t> h(200);
  for (uint64_t i = 0; i < 200; ++i) h[i] = keyedHash(5, i);
  {
    CounterStore store(withThresholds(snap));
    ASSERT_TRUE(store.load().ok());
    shard.update(key(1, 2, countryCode('U', 'S')), std::span(h).subspan(0, 49), 49, 0, 1);
    store.merge(0, shard);
    EXPECT_TRUE(store.pollCrossings().empty());
    shard.update(key(1, 2, countryCode('U', 'S')), std::span(h).subspan(49, 1), 1, 0, 1);
    store.merge(0, shard);
    auto c = store.pollCrossings();
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].level, 50u);
    EXPECT_EQ(c[0].observed, 50u);
    EXPECT_DOUBLE_EQ(c[0].ratio, 0.5);
    EXPECT_TRUE(store.pollCrossings().empty());  // once only
    shard.update(key(1, 2, countryCode('D', 'E')), std::span(h).subspan(50, 35), 35, 0, 1);
    store.merge(0, shard);
    c = store.pollCrossings();
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].level, 80u);
    ASSERT_TRUE(store.snapshot().ok());
  }
  {
    CounterStore store(withThresholds(snap));  // restart: counts and crossings survive
    ASSERT_TRUE(store.load().ok());
    EXPECT_EQ(store.loadedFrom(), snap);
    EXPECT_GT(store.savedUnixNanos(), 1'700'000'000'000'000'000);
    EXPECT_EQ(store.count(key(1, 2, 0).counter), 85u);
    EXPECT_EQ(store.totals(key(1, 2, 0).aggregate()).records, 85u);
    EXPECT_TRUE(store.pollCrossings().empty());
    CounterShard fresh(64);
    fresh.update(key(1, 2, countryCode('U', 'S')), std::span(h).subspan(0, 120), 120, 0, 1);
    store.merge(0, fresh);
    auto c = store.pollCrossings();
    ASSERT_EQ(c.size(), 1u);  // only 100% is new
    EXPECT_EQ(c[0].level, 100u);
    EXPECT_EQ(c[0].observed, 120u);
    // A new calendar year is a new counter: its own crossings.
    fresh.update(key(1, 2, countryCode('U', 'S'), 2027), std::span(h).subspan(0, 60), 60, 0, 1);
    store.merge(0, fresh);
    c = store.pollCrossings();
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].key.counter.year, 2027);
  }
  std::filesystem::remove_all(dir);
}

TEST(Counters, TornSnapshotFallsBackToPreviousGeneration) {
  const std::string dir = tempDir("torn");
  const std::string snap = dir + "/counters.snap";
  CounterShard shard(64);
  std::vector<uint64_t> h(300);
  for (uint64_t i = 0; i < 300; ++i) h[i] = keyedHash(8, i);
  {
    CounterStore store(withThresholds(snap));
    shard.update(key(3, 2, countryCode('S', 'G')), std::span(h).subspan(0, 40), 40, 0, 1);
    store.merge(0, shard);
    ASSERT_TRUE(store.snapshot().ok());  // generation 1: 40
    shard.update(key(3, 2, countryCode('S', 'G')), std::span(h).subspan(40, 260), 260, 0, 1);
    store.merge(0, shard);
    ASSERT_TRUE(store.snapshot().ok());  // generation 2: 300 (dense)
  }
  {
    CounterStore store(withThresholds(snap));
    ASSERT_TRUE(store.load().ok());
    EXPECT_NEAR(static_cast<double>(store.count(key(3, 2, 0).counter)), 300.0, 6.0);
  }
  // Tear the newest generation: cut it in the middle.
  const auto size = std::filesystem::file_size(snap);
  std::filesystem::resize_file(snap, size / 2);
  {
    CounterStore store(withThresholds(snap));
    ASSERT_TRUE(store.load().ok());
    EXPECT_EQ(store.loadedFrom(), snap + ".prev");
    EXPECT_EQ(store.count(key(3, 2, 0).counter), 40u);
  }
  // Flip a byte in the previous one too: both bad is an error, never a silent reset.
  {
    std::fstream f(snap + ".prev", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x5a');
  }
  CounterStore store(withThresholds(snap));
  EXPECT_FALSE(store.load().ok());
  std::filesystem::remove_all(dir);
}

TEST(Counters, MissingSnapshotIsAFreshStart) {
  const std::string dir = tempDir("fresh");
  CounterStore store(withThresholds(dir + "/none.snap"));
  EXPECT_TRUE(store.load().ok());
  EXPECT_EQ(store.loadedFrom(), "");
  EXPECT_EQ(store.rows(), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xborder::dp::counters
