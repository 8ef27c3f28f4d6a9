#pragma once
// The dataplane's hand-off to the evidence writer (docs/enforcement.md).
//
// Workers never wait on evidence: each worker owns an SPSC ring and submits a compact
// fixed-size POD event (building a protobuf allocates, so that happens on the writer
// thread). A full ring loses the event and counts it; every event attempt carries the
// worker's sequence number, so the writer sees exactly which ones are missing and
// records them as a GAP record (how many, which worker, sequence and time range) as
// soon as it can. The writer appends FLOW records to the evidence Log in batches (one
// group commit per batch).
//
// Fail-closed: before acting on a verdict that requires evidence, a worker asks
// canRecord(worker); it is false when that worker's ring is full or the writer cannot
// write (the log stopped intake or raised its integrity alarm). With
// FailPolicy::kFailClosed, mustBlock() turns that into "block this flow".
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "controlplane/evidence/record/record.pb.h"
#include "controlplane/evidence/store/store_log.h"
#include "dataplane/evidence_sink/evidence_sink_ring.h"

namespace xborder::dp::evidence_sink {

enum class Decision : uint8_t { kLog = 0, kAlert = 1, kHold = 2, kBlock = 3, kAllowFiling = 4 };
std::string_view decisionName(Decision d);

// One flow decision. Only keyed hashes, never raw identifiers. 256 bytes, trivially copyable.
struct EvidenceEvent {
  uint64_t seq = 0;                  // set by submit(): per-worker attempt number
  int64_t decidedUnixNanos = 0;
  int64_t startUnixNanos = 0;
  int64_t endUnixNanos = 0;          // 0 while the flow is live
  uint64_t bytesOutBeforeDecision = 0;
  uint64_t bytesInBeforeDecision = 0;
  uint64_t bytesOut = 0, bytesIn = 0;  // so far (the whole flow in its final event)
  uint64_t identifiersCount = 0;     // distinct individuals the flow carried (counted, not kept)
  uint64_t records = 0;
  uint64_t flowSeq = 0;              // the dataplane's flow sequence
  uint32_t tenant = 0;               // legal-entity index in the ruleset
  int32_t entry = -1;                // entry index; -1 none
  int32_t filing = -1;               // filing index; -1 none
  uint16_t srcPort = 0, dstPort = 0;
  uint8_t ipProto = 0;
  uint8_t dstIpLen = 0;              // 4 or 16
  uint8_t hashKeyId = 0;
  Decision decision = Decision::kLog;
  char dstCountry[2] = {0, 0};
  uint8_t basis = 0;                 // rules::eval::Basis
  uint8_t reason = 0;                // rules::eval::Miss
  uint8_t dstIp[16] = {};
  uint8_t flowId[16] = {};           // keyed hash of 5-tuple + start
  uint8_t srcIdHash[16] = {};        // keyed hash of the inside host
  uint8_t rulesetSha256[32] = {};
  uint8_t flags = 0;                 // EventFlags bits
  uint8_t pad[63] = {};             // to 256 bytes: four cache lines a slot
};
static_assert(sizeof(EvidenceEvent) == 256);
static_assert(std::is_trivially_copyable_v<EvidenceEvent>);

// EvidenceEvent::flags.
enum EventFlags : uint8_t {
  kFlagFailClosed = 1,  // blocked because evidence could not be written (fail-closed)
  kFlagTapMode = 2,     // tap mode: the decision was reported as an alert, nothing dropped
  kFlagFlowEnd = 4,     // the flow's final record (endUnixNanos set)
};

// Names by index for one ruleset version (control path; shared by the snapshot and the
// writer so an event queued under an old version is still named after it is freed).
struct RulesetNames {
  std::array<uint8_t, 32> sha256{};
  std::vector<std::string> tenants;  // by legal-entity index: USCC
  std::vector<std::string> entries;  // by entry index, then BASELINE-* classes
  std::vector<std::string> filings;  // by filing index
};

enum class FailPolicy : uint8_t { kFailOpen, kFailClosed };

struct SinkOptions {
  size_t workers = 1;
  size_t ringSlots = 4096;                        // per worker (256 B each: 1 MiB)
  size_t batchMax = 512;                          // events per group commit
  std::chrono::microseconds idleWait{200};        // writer poll interval when idle
  FailPolicy policy = FailPolicy::kFailClosed;
  // Names for the record (control path): tenant USCC, entry id, filing id by index.
  std::function<std::string(uint32_t)> tenantName;
  std::function<std::string(int32_t)> entryName;
  std::function<std::string(int32_t)> filingName;
  // Test hook: runs before each append (a slow disk).
  std::function<void()> beforeAppend;
};

struct WorkerStats {
  uint64_t submitted = 0;   // attempts
  uint64_t lostRing = 0;    // ring full at submit
};

struct WriterStats {
  uint64_t written = 0;      // FLOW records appended
  uint64_t gapRecords = 0;
  uint64_t gapEvents = 0;    // lost events covered by GAP records
  uint64_t lostDisk = 0;     // dequeued but the append failed (not recordable in this log)
  uint64_t batches = 0;
  uint64_t control = 0;      // control-side records appended
  uint64_t lostControl = 0;  // control records refused (queue full or the log stopped)
};

class EvidenceSink {
 public:
  EvidenceSink(evidence::Log* log, SinkOptions options);
  ~EvidenceSink();  // stops the writer (drains first)
  EvidenceSink(const EvidenceSink&) = delete;
  EvidenceSink& operator=(const EvidenceSink&) = delete;

  // --- worker side (hot path: no allocation, no lock, no syscall, never waits) ---
  bool canRecord(size_t worker) const {
    return writerHealthy_.load(std::memory_order_acquire) && workers_[worker]->ring.hasRoom();
  }
  // True when the flow must be blocked because its verdict needs evidence that cannot
  // be written now (fail-closed); always false under kFailOpen.
  bool mustBlock(size_t worker, bool verdictNeedsEvidence) const {
    return verdictNeedsEvidence && options_.policy == FailPolicy::kFailClosed && !canRecord(worker);
  }
  // Enqueues; false when the event was lost (counted, later recorded as a GAP).
  bool submit(size_t worker, const EvidenceEvent& event);

  // --- control side ---
  // Names for events that cite this ruleset hash (call before workers adopt it; the
  // writer keeps the 16 most recent versions). Without them, indexes print as "#n".
  void registerNames(std::shared_ptr<const RulesetNames> names);
  // A record built on a control thread (THRESHOLD, ALARM, RULESET_ACTIVATION,
  // APPLIANCE, RECOVERY, ...). Queued (mutex; never touches the Log) and appended by the
  // writer in its next batch, so one thread appends. Index, origin and format version
  // are set by the writer; observed time if 0. False when the queue is full (4096).
  bool submitControl(evidence::v1::EvidenceRecord record);
  // After the Log stopped intake (disk full): once space is back, the caller asks the
  // writer to reopen it. `reopen` runs on the writer thread at its next pass (so the old
  // Log is never in use while it is closed): it closes the old Log, opens it again
  // (evidence::Log::open) and returns the Log to use from then on (the old pointer if
  // reopening failed: the sink stays unhealthy; ask again later). If the returned Log
  // takes records, the writer first writes one GAP record per worker for the events it
  // had to drop meanwhile (source "disk-full ..."), and one for lost control records,
  // then canRecord() is true again. Control thread; tests without the writer thread
  // call runOnce() to apply it.
  void resumeLog(std::function<evidence::Log*()> reopen);
  void start();  // writer thread
  void stop();   // drains what is queued, writes pending GAPs, joins
  // After stop(), when the log still refused records: the GAP records the writer would
  // have written on resume (per worker, and one for control records), which the caller
  // keeps elsewhere (LossLedger) so the next start records them. Empties the tally.
  std::vector<evidence::v1::EvidenceRecord> unrecordedLosses();
  // One writer pass over every ring (for tests without the thread). Returns the number
  // of events taken.
  size_t runOnce();

  WorkerStats workerStats(size_t worker) const;
  WriterStats writerStats() const;
  bool writerHealthy() const { return writerHealthy_.load(std::memory_order_acquire); }
  absl::Status lastError() const;

 private:
  struct DiskLoss {          // writer-only: events dropped while the log refused
    uint64_t first = UINT64_MAX, last = 0, count = 0;
    int64_t fromNanos = 0, toNanos = 0;
  };
  struct alignas(64) Worker {
    explicit Worker(size_t slots) : ring(slots) {}
    SpscRing<EvidenceEvent> ring;
    std::atomic<uint64_t> nextSeq{0};   // producer: attempts so far (published after push)
    std::atomic<uint64_t> lostRing{0};  // producer
    // Writer-only.
    uint64_t expected = 0;              // next sequence the writer expects
    int64_t lastSeenNanos = 0;          // decision time of the last event it saw
    DiskLoss disk;                      // writer-only
  };
  struct Pending {
    evidence::v1::EvidenceRecord record;
    size_t worker;
    bool isGap;
    bool isControl = false;
    uint64_t seq = 0;  // FLOW: the worker's event sequence
  };

  void writerLoop();
  void addGap(std::vector<Pending>& batch, size_t worker, uint64_t first, uint64_t last, int64_t fromNanos,
              int64_t toNanos);
  void addFlow(std::vector<Pending>& batch, size_t worker, const EvidenceEvent& ev);
  // GAP records for what the log refused since intake stopped; resets the tally.
  void addLossGaps(std::vector<Pending>& batch, int64_t now);
  void commit(std::vector<Pending>& batch);

  evidence::Log* log_;
  SinkOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> writerHealthy_{true};
  std::atomic<bool> running_{false};
  std::thread thread_;
  mutable std::mutex statsMu_;  // control path only
  WriterStats stats_;
  absl::Status lastError_;
  // Control-side queue and ruleset names (mutex: control threads and the writer).
  mutable std::mutex controlMu_;
  std::vector<evidence::v1::EvidenceRecord> controlQueue_;
  std::vector<std::shared_ptr<const RulesetNames>> names_;  // newest last, at most 16
  std::function<evidence::Log*()> reopen_;                   // set by resumeLog()
  uint64_t lostControlWhileDown_ = 0;                       // writer-only
  int64_t downSinceNanos_ = 0;                              // writer-only
};

}  // namespace xborder::dp::evidence_sink
