#pragma once
// Cumulative counters per legal entity (USCC) x destination country x entry (or
// baseline class) x sensitivity class x calendar year: distinct individuals (HLL over
// the detectors' keyed hashes) and plain records / bytes / flows.
//
// Threading model (docs/enforcement.md):
// - CounterShard: one per worker, written only by that worker (update() is O(1), no
//   allocation, no lock: a fixed-capacity open-addressed table preallocated at start;
//   a key that finds no free slot is counted in overflow()).
// - CounterStore: the control path's merged view. merge(shard) folds a shard in (HLL
//   by max, plain counters by delta since the last merge), refreshes each aggregate
//   row's cached estimate, and is the CounterSource the Evaluator reads (count() is a
//   lock-free lookup of the cached value, so workers may call it while the control
//   thread merges; it lags by at most one merge interval). Only one thread merges,
//   polls crossings and snapshots.
// Each update touches two rows: the detail row (country, sensitivity) and the
// aggregate row (country 0, sensitivity 0) the law's thresholds apply to; distinct
// counts cannot be summed across countries, so the aggregate is its own sketch.
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/counters/counters_hll.h"
#include "rules/eval/eval_ruleset.h"

namespace xborder::dp::counters {

using rules::eval::CounterKey;

enum class Sensitivity : uint8_t { kAll = 0, kNonSensitive = 1, kSensitive = 2 };

struct TallyKey {
  CounterKey counter;
  uint16_t country = 0;  // ISO 3166 alpha-2 packed by countryCode(); 0 = all countries
  Sensitivity sensitivity = Sensitivity::kAll;
  bool operator==(const TallyKey&) const = default;
  TallyKey aggregate() const { return TallyKey{counter, 0, Sensitivity::kAll}; }
};

constexpr uint16_t countryCode(char a, char b) {
  return static_cast<uint16_t>((static_cast<uint8_t>(a) << 8) | static_cast<uint8_t>(b));
}
std::string countryName(uint16_t code);  // "US"; "*" for 0

struct Totals {
  uint64_t records = 0, bytes = 0, flows = 0;
};

// A fixed-capacity table of rows; the building block of both shard and store.
class CounterTable {
 public:
  struct Row {
    std::atomic<bool> used{false};
    TallyKey key;
    Hll individuals;
    std::atomic<uint64_t> records{0}, bytes{0}, flows{0};
    std::atomic<uint64_t> cachedIndividuals{0};  // store only: refreshed on merge
    uint64_t crossed = 0;                        // store only: crossing bits reported
  };

  explicit CounterTable(size_t capacity);
  // Finds or inserts (single writer); nullptr when full.
  Row* upsert(const TallyKey& key);
  const Row* find(const TallyKey& key) const;  // any thread
  size_t capacity() const { return capacity_; }
  size_t size() const { return size_.load(std::memory_order_acquire); }
  Row& slot(size_t i) { return rows_[i]; }
  const Row& slot(size_t i) const { return rows_[i]; }
  size_t indexOf(const Row* row) const { return static_cast<size_t>(row - rows_.get()); }

 private:
  size_t capacity_;
  size_t mask_;
  std::unique_ptr<Row[]> rows_;
  std::atomic<size_t> size_{0};
};

class CounterShard {
 public:
  explicit CounterShard(size_t capacity = 1024) : table_(capacity) {}
  // One flow's contribution: keyed hashes of the individuals it carried, plus plain
  // counts. Hot path: no allocation, no lock.
  void update(const TallyKey& key, std::span<const uint64_t> hashes, uint64_t records, uint64_t bytes,
              uint64_t flows);
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }
  const CounterTable& table() const { return table_; }

  // Feed sequence (issue 5, mid-flow counting): every update() bumps it after writing
  // its rows (release). A merge acknowledges the sequence it read before folding the
  // shard in, so once mergedSeq() >= s everything fed up to s is in the store's counts
  // and a flow's judge must stop adding it again. seq(): the owning worker;
  // mergedSeq(): any thread.
  uint64_t seq() const noexcept { return seq_.load(std::memory_order_relaxed); }
  uint64_t mergedSeq() const noexcept { return merged_.load(std::memory_order_acquire); }

 private:
  friend class CounterStore;
  void updateRow(const TallyKey& key, std::span<const uint64_t> hashes, uint64_t records, uint64_t bytes,
                 uint64_t flows);
  CounterTable table_;
  std::atomic<uint64_t> overflow_{0};
  std::atomic<uint64_t> seq_{0};
  // Written by the store that merges this shard: the acknowledgement travels back
  // through the shard so merge() can keep taking a const shard.
  mutable std::atomic<uint64_t> merged_{0};
};

// Thresholds of one counter (kind + index): tier boundaries; each is reported at every
// warning ratio (the sample list: 0.5, 0.8, 1.0).
struct ThresholdSpec {
  CounterKey::Kind kind = CounterKey::Kind::kEntry;
  uint32_t index = 0;
  std::vector<uint64_t> boundaries;
};

struct Crossing {
  TallyKey key;
  uint64_t boundary = 0;
  double ratio = 1.0;
  uint64_t level = 0;     // ceil(boundary * ratio)
  uint64_t observed = 0;  // estimate when noticed
};

struct CounterStoreOptions {
  size_t capacity = 4096;
  size_t maxShards = 16;
  std::vector<ThresholdSpec> thresholds;
  std::vector<double> ratios = {0.5, 0.8, 1.0};
  std::string snapshotPath;  // "" = no persistence; the previous generation is <path>.prev
};

class CounterStore : public rules::eval::CounterSource {
 public:
  explicit CounterStore(CounterStoreOptions options);

  // Loads <path>, or <path>.prev when <path> is missing, torn or corrupt. A missing
  // pair is a fresh start (OK). Call before the first merge.
  absl::Status load();
  std::string loadedFrom() const { return loadedFrom_; }  // "", path or path.prev
  // When the loaded snapshot was written: evidence records after it are what a crash
  // may have lost from the counters (docs/enforcement.md).
  int64_t savedUnixNanos() const { return savedUnixNanos_; }
  // Writes tmp, fsync, keeps the current file as .prev, renames tmp over it, fsyncs dir.
  absl::Status snapshot() const;

  // Folds the shard in, then acknowledges the shard's feed sequence read before the
  // fold (CounterShard::mergedSeq()).
  void merge(size_t shardId, const CounterShard& shard);
  // A new ruleset version's thresholds and warning ratios (the thread that merges).
  // Crossings already reported stay reported (bits per boundary x ratio position).
  void setThresholds(std::vector<ThresholdSpec> thresholds, std::vector<double> ratios) {
    options_.thresholds = std::move(thresholds);
    options_.ratios = std::move(ratios);
  }
  // Every crossing not yet reported (each once per counter per year, persisted).
  std::vector<Crossing> pollCrossings();

  uint64_t count(const CounterKey& key) const override;  // aggregate row, cached
  uint64_t countDetail(const TallyKey& key) const;       // computes the estimate
  Totals totals(const TallyKey& key) const;
  uint64_t overflow() const { return overflow_; }
  size_t rows() const { return table_.size(); }

 private:
  const ThresholdSpec* specFor(const CounterKey& key) const;
  CounterStoreOptions options_;
  CounterTable table_;
  std::vector<std::vector<Totals>> seen_;  // [shard][store slot]: shard totals merged so far
  uint64_t overflow_ = 0;
  std::string loadedFrom_;
  int64_t savedUnixNanos_ = 0;
};

}  // namespace xborder::dp::counters
