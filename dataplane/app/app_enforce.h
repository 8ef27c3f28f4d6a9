// Enforcement around the workers of xborder-dataplane (issue 5): the compiled ruleset
// in force, one RulesPolicy + CounterShard + anomaly sample ring per worker, the
// evidence log with its writer thread (EvidenceSink), the CounterStore merged on the
// main lcore, the AnomalyMonitor, periodic signed checkpoints, and the ruleset swap
// (rte_rcu_qsbr; docs/deployment.md section 12).
//
// Threads: the main lcore calls create/start/chores/reload/stop; worker w calls only
// workerOnline/workerPoll/workerOffline(w) and, through the Engine, policy(w).
// workerPoll is the hot-path part: two relaxed loads and one RCU quiescent report per
// loop, plus the adopt() of a published ruleset (no allocation, lock or wait).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/app/app_config.h"
#include "dataplane/app/app_prometheus.h"
#include "dataplane/verdict/verdict_policy.h"

struct rte_rcu_qsbr;

namespace xborder::dp {
class PreparedRuleset;
}

namespace xborder::dp::app {

struct ReloadResult {
  bool ok = false;
  std::string version;     // sha256 hex in force afterwards
  double switch_ms = 0;    // publication -> last worker on the new version
  unsigned workers = 0;
  std::string error;       // why the load failed (the old version stays)
};

class Enforcement {
 public:
  // Loads the ruleset, opens the evidence log (must exist), reads or creates the hmac
  // key, loads the counter snapshot, builds every worker's policy. Control path.
  // flow_capacity: the engine's (power of two) flow table size.
  static absl::StatusOr<std::unique_ptr<Enforcement>> create(const AppConfig& cfg, unsigned workers,
                                                              uint32_t flow_capacity);
  ~Enforcement();

  FlowPolicy* policy(unsigned w);
  // Writer thread + APPLIANCE start + RULESET_ACTIVATION records.
  void start();

  // --- worker w ---
  void workerOnline(unsigned w) noexcept;
  void workerPoll(unsigned w) noexcept {
    WorkerSlot& s = *slots_[w];
    if (s.pending.load(std::memory_order_relaxed) != nullptr) adoptPending(w);
    reportQuiescent(w);
  }
  void workerOffline(unsigned w) noexcept;

  // --- main lcore ---
  // Merges counters, writes crossings and anomaly alerts, snapshots, signs checkpoints
  // when their intervals are due; cheap otherwise.
  void chores();
  // path "" = the configured ruleset file (SIGHUP).
  ReloadResult reload(const std::string& path, std::string_view by);
  // One request line from the control socket -> one reply line.
  std::string handleControl(std::string_view line);
  // At stop, before the workers flush every open flow: a log that stopped intake is
  // reopened now if space is back (waiting at most `wait` for the writer), so the
  // flushed flows' final records are written rather than lost into a GAP.
  void beforeFinalFlush(std::chrono::milliseconds wait);
  // APPLIANCE stop, final merge + snapshot, drain the writer, last checkpoint.
  void stop(std::string_view reason);

  void prometheus(PrometheusText& t) const;
  void printStats(FILE* out) const;
  const std::string& versionHex() const;

 private:
  // The RCU hand-off of one worker: the control thread stores a prepared ruleset in
  // `pending`; the worker takes it, adopts it, leaves the previous one in `retired`
  // (freed by the control thread after the grace period) and publishes `adopted_gen`.
  struct alignas(64) WorkerSlot {
    std::atomic<PreparedRuleset*> pending{nullptr};
    std::atomic<PreparedRuleset*> retired{nullptr};
    std::atomic<uint64_t> adopted_gen{0};
  };
  struct Impl;
  explicit Enforcement(std::unique_ptr<Impl> impl);
  void adoptPending(unsigned w) noexcept;
  void reportQuiescent(unsigned w) noexcept;

  std::unique_ptr<Impl> impl_;
  std::vector<std::unique_ptr<WorkerSlot>> slots_;
  rte_rcu_qsbr* qs_ = nullptr;
};

}  // namespace xborder::dp::app
