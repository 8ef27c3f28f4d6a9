#include "dataplane/app/app_enforce.h"

#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/store/store_checkpoint.h"
#include "controlplane/evidence/tools/tools_log_dir.h"
#include "dataplane/anomaly/anomaly_monitor.h"
#include "dataplane/anomaly/anomaly_samples.h"
#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/evidence_sink/evidence_sink_ledger.h"
#include "dataplane/evidence_sink/evidence_sink_records.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"

namespace xborder::dp::app {
namespace {

using Clock = std::chrono::steady_clock;
namespace ev = xborder::evidence;

constexpr const char* kSoftwareVersion = "xborder-dataplane 0.1.0";
constexpr auto kSwitchTimeout = std::chrono::seconds(5);
constexpr auto kGraceTimeout = std::chrono::seconds(1);
// Disk full: retry the evidence log this often, once two of its segments fit (the
// default when the LOG file does not say: two of the store's default 64 MiB segments).
constexpr auto kResumeEvery = std::chrono::seconds(5);
constexpr uint64_t kResumeFreeBytes = uint64_t{128} << 20;

int64_t wallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string oneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// The key for keyed hashes of identifiers: the named file, or <log>/keys/hmac.key,
// created once so that individuals stay comparable across restarts (the counters
// persist; a key per start would count everyone again).
absl::StatusOr<std::vector<uint8_t>> loadHmacKey(const EnforceConfig& e) {
  const bool named = !e.hmac_key.empty();
  const std::string path = named ? e.hmac_key : e.evidence_log + "/keys/hmac.key";
  const std::string where = named ? e.hmac_key_where.prefix() : "hmac_key: ";
  if (!named && !evidence::tools::fileExists(path)) {
    std::string key(32, '\0');
    if (::getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size())) {
      return absl::InternalError("hmac_key: getrandom failed");
    }
    if (absl::Status s = evidence::tools::writeFileAtomic(path, key, 0600); !s.ok()) {
      return absl::InternalError(absl::StrCat(where, "cannot create ", path, ": ", s.message()));
    }
  }
  absl::StatusOr<std::string> bytes = evidence::tools::readFile(path);
  if (!bytes.ok()) {
    return absl::NotFoundError(absl::StrCat(where, "cannot read ", path));
  }
  if (bytes->size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, path, " holds ", bytes->size(), " bytes (at least 16 needed)"));
  }
  return std::vector<uint8_t>(bytes->begin(), bytes->end());
}

}  // namespace

struct Enforcement::Impl final : public anomaly::AlertSink {
  EnforceConfig cfg;
  bool inline_mode = true;
  unsigned workers = 0;
  uint32_t flow_capacity = 0;
  std::vector<uint8_t> hmac;

  ev::tools::LogKeys keys;
  // Swapped by the writer thread when it reopens the log after a full disk; the main
  // lcore holds log_mu whenever it uses `log`.
  mutable std::mutex log_mu;
  std::unique_ptr<ev::Log> log;
  std::unique_ptr<evidence_sink::EvidenceSink> sink;
  std::unique_ptr<counters::CounterStore> store;
  std::vector<std::unique_ptr<counters::CounterShard>> shards;
  std::vector<std::unique_ptr<anomaly::FlowSampleRing>> rings;
  std::unique_ptr<anomaly::AnomalyMonitor> monitor;
  std::shared_ptr<const RulesetSnapshot> current;
  // Last: policies point at everything above.
  std::vector<std::unique_ptr<RulesPolicy>> policies;

  std::atomic<uint64_t> gen{0};
  uint64_t swaps = 0, failed_loads = 0, grace_timeouts = 0;
  double last_switch_ms = 0;
  std::string last_error;
  uint64_t merges = 0, crossings = 0, alerts = 0, alerts_lost = 0;
  uint64_t checkpoints = 0, checkpoint_errors = 0, snapshot_errors = 0;
  std::atomic<uint64_t> log_reopens{0};
  // Losses (WriterStats) up to the last reopen: those are in GAP records.
  std::atomic<uint64_t> gapped_lost_disk{0}, gapped_lost_control{0};
  uint64_t resume_free_bytes = kResumeFreeBytes;
  bool down_reported = false;  // the writer's stop was logged (once per episode)
  // Losses a previous run could not record (it exited while the disk was full): read
  // from the loss ledger at start, cleared there once written as GAP records.
  std::optional<evidence_sink::LossLedger> ledger;
  std::vector<ev::v1::EvidenceRecord> carried;
  bool carried_written = false;

  // Queues the previous run's GAP records; true when every one was queued.
  bool submitCarried() {
    bool all = true;
    for (const ev::v1::EvidenceRecord& r : carried) all = sink->submitControl(r) && all;
    return all;
  }
  Clock::time_point next_merge, next_checkpoint, next_resume;
  bool started = false, stopped = false;

  void onAlert(const anomaly::AlertEvent& a) override {
    const rules::pb::Ruleset& rs = current->ruleset();
    std::string dest;
    if (a.destination >= 0 && a.destination < rs.destinations_size()) {
      dest = rs.destinations(a.destination).id();
    }
    ++alerts;
    if (!sink->submitControl(evidence_sink::alertRecord(a, *current->names(), dest))) ++alerts_lost;
  }

  void mergeCounters() {
    for (unsigned w = 0; w < workers; ++w) store->merge(w, *shards[w]);
    ++merges;
    const int64_t now = wallNanos();
    for (const counters::Crossing& c : store->pollCrossings()) {
      ++crossings;
      sink->submitControl(evidence_sink::thresholdRecord(c, *current->names(), now));
    }
    if (monitor) {
      for (auto& r : rings) r->drainInto(*monitor);
    }
    if (!cfg.counters_snapshot.empty()) {
      if (absl::Status s = store->snapshot(); !s.ok()) {
        if (snapshot_errors++ == 0) {
          std::fprintf(stderr, "xborder-dataplane: counters snapshot: %s\n",
                       std::string(s.message()).c_str());
        }
      }
    }
  }

  uint64_t logSize() const {
    std::lock_guard lk(log_mu);
    return log->size();
  }

  // The log stopped intake (disk full): once space is back, the writer closes and
  // reopens it on its own thread, then records what was lost meanwhile (GAP records).
  void maybeResume(Clock::time_point now) {
    if (sink->writerHealthy()) {
      down_reported = false;
      return;
    }
    if (!down_reported) {
      // The store logs its own stop; this line says what the appliance does meanwhile.
      down_reported = true;
      bool stopped_intake = false;
      {
        std::lock_guard lk(log_mu);
        stopped_intake = log->state() == ev::LogState::kIntakeStopped;
      }
      const std::string then =
          stopped_intake ? absl::StrCat("retrying every ", kResumeEvery.count(), " s once ", resume_free_bytes,
                                        " bytes are free in ", cfg.evidence_log)
                         : std::string("not retried (integrity alarm: see docs/evidence.md)");
      std::fprintf(stderr, "xborder-dataplane: evidence writer stopped (%s): fail-%s: %s; %s\n",
                   oneLine(std::string(sink->lastError().message())).c_str(), cfg.fail_closed ? "closed" : "open",
                   cfg.fail_closed ? "flows whose verdict needs a record are blocked"
                                   : "traffic is forwarded, lost records are counted (GAP records on resume)",
                   then.c_str());
    }
    if (now < next_resume) return;
    next_resume = now + kResumeEvery;
    requestReopen();
  }

  // Asks the writer to reopen a log that stopped intake, if space is back. True when
  // asked (the writer applies it on its next turn).
  bool requestReopen() {
    {
      std::lock_guard lk(log_mu);
      if (log->state() != ev::LogState::kIntakeStopped) return false;  // integrity alarm: operator's
    }
    struct statvfs fs {};
    if (::statvfs(cfg.evidence_log.c_str(), &fs) != 0 ||
        static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < resume_free_bytes) {
      return false;
    }
    sink->resumeLog([this]() -> ev::Log* {
      std::lock_guard lk(log_mu);
      log.reset();  // one writer at a time: the store holds a lock on the directory
      for (int attempt = 0; attempt < 3; ++attempt) {
        absl::StatusOr<std::unique_ptr<ev::Log>> l = ev::tools::openLog(cfg.evidence_log, keys);
        if (l.ok()) {
          log = *std::move(l);
          log_reopens.fetch_add(1, std::memory_order_relaxed);
          // The writer records everything lost so far as GAPs right after this returns.
          const evidence_sink::WriterStats ws = sink->writerStats();
          gapped_lost_disk.store(ws.lostDisk, std::memory_order_relaxed);
          gapped_lost_control.store(ws.lostControl, std::memory_order_relaxed);
          std::fprintf(stderr, "xborder-dataplane: evidence log %s reopened after intake stopped\n",
                       cfg.evidence_log.c_str());
          return log.get();
        }
        std::fprintf(stderr, "xborder-dataplane: evidence log %s: reopen: %s\n", cfg.evidence_log.c_str(),
                     std::string(l.status().message()).c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      // The old log is closed and no new one opens: nothing can record decisions any
      // more. Stop rather than run on without evidence.
      std::fprintf(stderr, "xborder-dataplane: evidence log %s cannot be reopened: stopping\n",
                   cfg.evidence_log.c_str());
      std::abort();
    });
    return true;
  }

  void checkpoint() {
    std::lock_guard lk(log_mu);
    const auto* signers = &keys.signers;
    absl::StatusOr<ev::Checkpoint> cp = log->publishCheckpoint(
        [signers](std::string_view body) { return ev::crypto::signNote(body, *signers); });
    if (cp.ok()) {
      ++checkpoints;
    } else if (checkpoint_errors++ == 0) {
      std::fprintf(stderr, "xborder-dataplane: checkpoint: %s\n",
                   std::string(cp.status().message()).c_str());
    }
  }
};

Enforcement::Enforcement(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Enforcement::~Enforcement() {
  for (auto& s : slots_) {
    delete s->pending.exchange(nullptr);
    delete s->retired.exchange(nullptr);
  }
  impl_.reset();
  if (qs_ != nullptr) rte_free(qs_);
}

absl::StatusOr<std::unique_ptr<Enforcement>> Enforcement::create(const AppConfig& cfg, unsigned workers,
                                                                  uint32_t flow_capacity) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.cfg = cfg.enforce;
  m.inline_mode = cfg.mode == Mode::kInline;
  m.workers = workers;
  m.flow_capacity = flow_capacity;
  const EnforceConfig& e = m.cfg;

  absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> snap = RulesetSnapshot::loadFile(e.ruleset);
  if (!snap.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(e.ruleset_where.prefix(), e.ruleset, ": ", snap.status().message()));
  }
  m.current = *snap;

  // The log and its keys are the operator's (xborder-evidence init): an absent one is
  // refused rather than created, so a typo in the path cannot start a second log.
  absl::StatusOr<std::unique_ptr<ev::Log>> log = ev::tools::openLog(e.evidence_log, m.keys);
  if (!log.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        e.evidence_log_where.prefix(), "evidence log ", e.evidence_log, ": ", log.status().message(),
        " (create it with xborder-evidence init --log ", e.evidence_log, ")"));
  }
  m.log = *std::move(log);
  // Resume after a full disk once two of this log's segments fit: a fixed 128 MiB never
  // frees up on a volume smaller than that, and logs made with small segments need less.
  if (absl::StatusOr<std::string> text = ev::tools::readFile(e.evidence_log + "/LOG"); text.ok()) {
    if (absl::StatusOr<ev::LogMeta> meta = ev::parseLogMeta(*text); meta.ok() && meta->segmentBytes > 0) {
      m.resume_free_bytes = 2 * meta->segmentBytes;
    }
  }
  // The loss ledger is made now, while there is room, so that writing it at an exit on
  // a full disk needs no free block.
  const std::string ledger_path = e.evidence_log + "/" + evidence_sink::LossLedger::kFileName;
  if (absl::StatusOr<evidence_sink::LossLedger> l = evidence_sink::LossLedger::open(ledger_path); l.ok()) {
    if (absl::StatusOr<std::vector<ev::v1::EvidenceRecord>> prev = l->read(); prev.ok()) {
      m.carried = *std::move(prev);
      // Once: a ledger kept through several full-disk exits holds records marked before.
      constexpr std::string_view kPrevious = "previous run (exited before its log took records again): ";
      for (ev::v1::EvidenceRecord& r : m.carried) {
        if (std::string_view(r.gap().source()).substr(0, kPrevious.size()) != kPrevious) {
          r.mutable_gap()->set_source(std::string(kPrevious) + r.gap().source());
        }
      }
    } else {
      std::fprintf(stderr, "xborder-dataplane: loss ledger: %s\n", std::string(prev.status().message()).c_str());
    }
    m.ledger = *std::move(l);
  } else {
    std::fprintf(stderr,
                 "xborder-dataplane: loss ledger: %s (an exit while the evidence disk is full will leave its "
                 "losses only on stderr)\n",
                 std::string(l.status().message()).c_str());
  }
  absl::StatusOr<std::vector<uint8_t>> key = loadHmacKey(e);
  if (!key.ok()) return key.status();
  m.hmac = *std::move(key);

  evidence_sink::SinkOptions so;
  so.workers = workers;
  so.ringSlots = e.evidence_ring;
  so.policy = e.fail_closed ? evidence_sink::FailPolicy::kFailClosed : evidence_sink::FailPolicy::kFailOpen;
  m.sink = std::make_unique<evidence_sink::EvidenceSink>(m.log.get(), std::move(so));
  m.sink->registerNames(m.current->names());

  counters::CounterStoreOptions co;
  co.capacity = e.counters_capacity;
  co.maxShards = workers;
  co.thresholds = m.current->thresholds();
  co.ratios = m.current->alertRatios();
  co.snapshotPath = e.counters_snapshot;
  m.store = std::make_unique<counters::CounterStore>(std::move(co));
  if (absl::Status s = m.store->load(); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("counters.snapshot ", e.counters_snapshot, ": ", s.message()));
  }

  if (e.anomaly) {
    anomaly::AnomalyConfig ac;
    ac.intervalNanos = int64_t{e.anomaly_interval_s} * 1'000'000'000;
    ac.warmupIntervals = e.anomaly_warmup_intervals;
    ac.spikeMultiple = e.anomaly_spike_multiple;
    ac.spikeMinBytes = e.anomaly_spike_min_bytes;
    ac.bulkBytes = e.anomaly_bulk_bytes;
    ac.inboundResponseBytes = e.anomaly_inbound_response_bytes;
    ac.learningNanos = int64_t{e.anomaly_learning_s} * 1'000'000'000;
    ac.cooldownNanos = int64_t{e.anomaly_cooldown_s} * 1'000'000'000;
    m.monitor = std::make_unique<anomaly::AnomalyMonitor>(ac, &m);
  }

  RulesPolicyConfig pc;
  pc.flow_capacity = flow_capacity;
  pc.inspect.max_flows = e.inspect_flows;
  pc.inspect.byte_budget = e.inspect_budget;
  for (unsigned w = 0; w < workers; ++w) {
    m.shards.push_back(std::make_unique<counters::CounterShard>(e.counters_capacity));
    m.rings.push_back(std::make_unique<anomaly::FlowSampleRing>(8192));
    DataplaneWiring wiring;
    wiring.worker = w;
    wiring.inline_mode = m.inline_mode;
    wiring.shard = m.shards.back().get();
    wiring.counts = m.store.get();
    wiring.sink = m.sink.get();
    wiring.samples = m.monitor ? m.rings.back().get() : nullptr;
    absl::StatusOr<std::unique_ptr<RulesPolicy>> p = RulesPolicy::createDataplane(pc, wiring, m.current, m.hmac);
    if (!p.ok()) {
      return absl::InternalError(absl::StrCat("worker ", w, ": policy: ", p.status().message()));
    }
    m.policies.push_back(*std::move(p));
  }

  std::unique_ptr<Enforcement> en(new Enforcement(std::move(impl)));
  for (unsigned w = 0; w < workers; ++w) en->slots_.push_back(std::make_unique<WorkerSlot>());
  const size_t sz = rte_rcu_qsbr_get_memsize(workers);
  en->qs_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("xb_rcu", sz, RTE_CACHE_LINE_SIZE));
  if (en->qs_ == nullptr || rte_rcu_qsbr_init(en->qs_, workers) != 0) {
    return absl::InternalError("cannot set up RCU (rte_rcu_qsbr) for the ruleset swap");
  }
  for (unsigned w = 0; w < workers; ++w) rte_rcu_qsbr_thread_register(en->qs_, w);
  return en;
}

FlowPolicy* Enforcement::policy(unsigned w) { return impl_->policies[w].get(); }

const std::string& Enforcement::versionHex() const { return impl_->current->sha256Hex(); }

void Enforcement::start() {
  Impl& m = *impl_;
  m.sink->start();
  m.sink->submitControl(evidence_sink::applianceRecord(ev::v1::ApplianceEvent::START, "start",
                                                       kSoftwareVersion, hostname()));
  const rules::pb::Ruleset& rs = m.current->ruleset();
  m.sink->submitControl(evidence_sink::rulesetActivationRecord(rs.list_id(), rs.version(),
                                                               m.current->sha256(), {}, "startup"));
  if (!m.carried.empty()) {
    // Record what the previous run lost, then clear the ledger once it is durable (the
    // writer takes control records in its next batch; a few seconds at most).
    const bool queued = m.submitCarried();
    const uint64_t want = 2 + m.carried.size();
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    evidence_sink::WriterStats ws = m.sink->writerStats();
    while (ws.control + ws.lostControl < want && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ws = m.sink->writerStats();
    }
    m.carried_written = queued && ws.control >= want;
    if (m.carried_written && m.ledger) {
      if (absl::Status c = m.ledger->clear(); !c.ok()) {
        std::fprintf(stderr, "xborder-dataplane: loss ledger: %s\n", std::string(c.message()).c_str());
      }
    }
    std::fprintf(stderr, "xborder-dataplane: %zu GAP record(s) of a previous run's losses from %s: %s\n",
                 m.carried.size(), m.ledger ? m.ledger->path().c_str() : "the loss ledger",
                 m.carried_written ? "written" : "not written yet (the log refuses records; kept for later)");
  }
  const auto now = Clock::now();
  m.next_merge = now + std::chrono::milliseconds(m.cfg.counters_merge_ms);
  m.next_checkpoint = now + std::chrono::seconds(m.cfg.checkpoint_interval_s);
  m.started = true;
  std::fprintf(stderr,
               "xborder-dataplane: ruleset %s (%s %s) active, evidence log %s (fail %s), counters %s\n",
               m.current->sha256Hex().c_str(), rs.list_id().c_str(), rs.version().c_str(),
               m.cfg.evidence_log.c_str(), m.cfg.fail_closed ? "closed" : "open",
               m.cfg.counters_snapshot.empty() ? "in memory" : m.cfg.counters_snapshot.c_str());
}

void Enforcement::workerOnline(unsigned w) noexcept { rte_rcu_qsbr_thread_online(qs_, w); }
void Enforcement::workerOffline(unsigned w) noexcept { rte_rcu_qsbr_thread_offline(qs_, w); }
void Enforcement::reportQuiescent(unsigned w) noexcept { rte_rcu_qsbr_quiescent(qs_, w); }

void Enforcement::adoptPending(unsigned w) noexcept {
  WorkerSlot& s = *slots_[w];
  PreparedRuleset* p = s.pending.exchange(nullptr, std::memory_order_acq_rel);
  if (p == nullptr) return;
  const uint64_t g = impl_->gen.load(std::memory_order_acquire);
  std::unique_ptr<PreparedRuleset> old = impl_->policies[w]->adopt(std::unique_ptr<PreparedRuleset>(p));
  s.retired.store(old.release(), std::memory_order_release);
  s.adopted_gen.store(g, std::memory_order_release);
}

ReloadResult Enforcement::reload(const std::string& path_in, std::string_view by) {
  Impl& m = *impl_;
  ReloadResult r;
  r.workers = m.workers;
  const std::string path = path_in.empty() ? m.cfg.ruleset : path_in;
  auto failed = [&](std::string why) {
    ++m.failed_loads;
    r.ok = false;
    r.error = oneLine(std::move(why));
    r.version = m.current->sha256Hex();
    m.last_error = r.error;
    std::fprintf(stderr, "xborder-dataplane: reload %s refused (%s): ruleset %s stays active\n",
                 path.c_str(), r.error.c_str(), r.version.c_str());
    return r;
  };
  for (unsigned w = 0; w < m.workers; ++w) {
    if (slots_[w]->pending.load(std::memory_order_acquire) != nullptr) {
      return failed(absl::StrCat("worker ", w, " has not switched to the previous version yet"));
    }
  }
  absl::StatusOr<std::shared_ptr<const RulesetSnapshot>> next =
      RulesetSnapshot::loadFile(path, m.current.get());
  if (!next.ok()) {
    const std::string why(next.status().message());
    return failed(why.find(path) == std::string::npos ? absl::StrCat(path, ": ", why) : why);
  }
  std::vector<std::unique_ptr<PreparedRuleset>> prepared;
  for (unsigned w = 0; w < m.workers; ++w) {
    absl::StatusOr<std::unique_ptr<PreparedRuleset>> p = m.policies[w]->prepare(*next);
    if (!p.ok()) return failed(absl::StrCat("worker ", w, ": ", p.status().message()));
    prepared.push_back(*std::move(p));
  }
  m.sink->registerNames((*next)->names());
  m.store->setThresholds((*next)->thresholds(), (*next)->alertRatios());

  // Publish, then wait until every worker has adopted (each between two bursts).
  const uint64_t g = m.gen.load(std::memory_order_relaxed) + 1;
  m.gen.store(g, std::memory_order_release);
  const auto t0 = Clock::now();
  for (unsigned w = 0; w < m.workers; ++w) {
    slots_[w]->pending.store(prepared[w].release(), std::memory_order_release);
  }
  for (;;) {
    bool all = true;
    for (unsigned w = 0; w < m.workers; ++w) {
      all &= slots_[w]->adopted_gen.load(std::memory_order_acquire) >= g;
    }
    if (all) break;
    if (Clock::now() - t0 > kSwitchTimeout) {
      // Leave it published: the late worker adopts it when it next polls.
      ++m.grace_timeouts;
      break;
    }
    rte_pause();
  }
  r.switch_ms = msSince(t0);
  // Grace period: every worker has reported a quiescent state after the swap, so none
  // still runs with the retired resources; then they are freed here.
  const uint64_t token = rte_rcu_qsbr_start(qs_);
  const auto g0 = Clock::now();
  bool grace = false;
  while (!(grace = rte_rcu_qsbr_check(qs_, token, false) == 1) && Clock::now() - g0 < kGraceTimeout) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  if (grace) {
    for (auto& s : slots_) delete s->retired.exchange(nullptr, std::memory_order_acq_rel);
  } else {
    ++m.grace_timeouts;  // keep the old resources (a leak, never a use after free)
  }
  const std::array<uint8_t, 32> prev = m.current->sha256();
  m.current = *next;
  ++m.swaps;
  m.last_switch_ms = r.switch_ms;
  const rules::pb::Ruleset& rs = m.current->ruleset();
  m.sink->submitControl(
      evidence_sink::rulesetActivationRecord(rs.list_id(), rs.version(), m.current->sha256(), prev, by));
  r.ok = true;
  r.version = m.current->sha256Hex();
  std::fprintf(stderr, "xborder-dataplane: ruleset %s (%s %s) active on %u worker(s) %.3f ms after publication (%s, %s)\n",
               r.version.c_str(), rs.list_id().c_str(), rs.version().c_str(), m.workers, r.switch_ms,
               std::string(by).c_str(), path.c_str());
  return r;
}

std::string Enforcement::handleControl(std::string_view line) {
  Impl& m = *impl_;
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  if (line == "status") {
    return absl::StrCat("OK version ", m.current->sha256Hex(), " swaps ", m.swaps, " failed ", m.failed_loads);
  }
  if (line == "reload" || line.rfind("reload ", 0) == 0) {
    std::string path(line.size() > 7 ? line.substr(7) : std::string_view());
    ReloadResult r = reload(path, "control-socket");
    if (!r.ok) return absl::StrCat("ERROR ", r.error);
    char ms[32];
    std::snprintf(ms, sizeof(ms), "%.3f", r.switch_ms);
    return absl::StrCat("OK version ", r.version, " switch_ms ", ms, " workers ", r.workers);
  }
  return absl::StrCat("ERROR unknown command '", oneLine(std::string(line)),
                      "' (expected: reload [FILE] | status)");
}

void Enforcement::chores() {
  Impl& m = *impl_;
  if (!m.started || m.stopped) return;
  const auto now = Clock::now();
  if (now >= m.next_merge) {
    m.mergeCounters();
    m.next_merge = now + std::chrono::milliseconds(m.cfg.counters_merge_ms);
  }
  m.maybeResume(now);
  if (m.cfg.checkpoint_interval_s > 0 && now >= m.next_checkpoint) {
    m.checkpoint();
    m.next_checkpoint = now + std::chrono::seconds(m.cfg.checkpoint_interval_s);
  }
}

void Enforcement::beforeFinalFlush(std::chrono::milliseconds wait) {
  Impl& m = *impl_;
  if (!m.started || m.stopped || m.sink->writerHealthy() || !m.requestReopen()) return;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!m.sink->writerHealthy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "xborder-dataplane: evidence log %s %s before the final flush\n", m.cfg.evidence_log.c_str(),
               m.sink->writerHealthy() ? "takes records again" : "still refuses records");
}

void Enforcement::stop(std::string_view reason) {
  Impl& m = *impl_;
  if (!m.started || m.stopped) return;
  m.mergeCounters();  // the workers have flushed every flow: the last counts and samples
  m.sink->submitControl(evidence_sink::applianceRecord(ev::v1::ApplianceEvent::STOP, reason,
                                                       kSoftwareVersion, hostname()));
  // A log that stopped intake: if space came back since the last try (every 5 s), reopen
  // it now (beforeFinalFlush usually did already), so that what was lost is recorded
  // (GAP) before the writer drains and exits; otherwise the loss ledger keeps it below.
  if (!m.sink->writerHealthy()) m.requestReopen();
  // A previous run's losses not recorded at start (the disk was full then too).
  if (!m.carried_written && !m.carried.empty() && m.sink->writerHealthy()) m.carried_written = m.submitCarried();
  m.sink->stop();
  if (!m.sink->writerHealthy()) {
    const evidence_sink::WriterStats s = m.sink->writerStats();
    // The tally would die with the process: the loss ledger keeps it for the next start.
    std::vector<ev::v1::EvidenceRecord> keep = m.carried_written ? std::vector<ev::v1::EvidenceRecord>{} : m.carried;
    for (ev::v1::EvidenceRecord& r : m.sink->unrecordedLosses()) keep.push_back(std::move(r));
    absl::Status kept = m.ledger ? m.ledger->write(keep) : absl::UnavailableError("no loss ledger");
    std::fprintf(stderr,
                 "xborder-dataplane: evidence log %s still refused records at exit: %lu decision event(s) and "
                 "%lu control record(s) lost since intake stopped are in no GAP record yet; %s\n",
                 m.cfg.evidence_log.c_str(), s.lostDisk - m.gapped_lost_disk.load(std::memory_order_relaxed),
                 s.lostControl - m.gapped_lost_control.load(std::memory_order_relaxed),
                 kept.ok() ? absl::StrCat(keep.size(), " GAP record(s) kept in the loss ledger ", m.ledger->path(),
                                          " for the next start").c_str()
                           : absl::StrCat("loss ledger: ", kept.message(), " (counted only in the exit summary)").c_str());
  } else if (m.ledger && (m.carried_written || m.carried.empty())) {
    // Healthy at exit: nothing is owed. (A ledger written by a run that crashed after
    // writing it, or a torn one, was recorded at this start.)
    if (absl::Status c = m.ledger->clear(); !c.ok()) {
      std::fprintf(stderr, "xborder-dataplane: loss ledger: %s\n", std::string(c.message()).c_str());
    }
  }
  m.checkpoint();  // every record is synced now: the checkpoint covers the whole run
  m.stopped = true;
}

void Enforcement::prometheus(PrometheusText& t) const {
  const Impl& m = *impl_;
  t.add("xborder_ruleset_info", absl::StrCat("version=\"", m.current->sha256Hex(), "\",list=\"",
                                             m.current->ruleset().list_id(), "\",list_version=\"",
                                             m.current->ruleset().version(), "\""),
        1, "gauge");
  t.add("xborder_ruleset_swaps_total", "", m.swaps);
  t.add("xborder_ruleset_load_failures_total", "", m.failed_loads);
  t.add("xborder_ruleset_switch_timeouts_total", "", m.grace_timeouts);
  t.add("xborder_ruleset_last_switch_microseconds", "", static_cast<uint64_t>(m.last_switch_ms * 1000),
        "gauge");
  for (unsigned w = 0; w < m.workers; ++w) {
    const DataplaneStats d = m.policies[w]->dataplaneStats();
    const std::string l = absl::StrCat("worker=\"", w, "\"");
    for (int a = 0; a < 5; ++a) {
      t.add("xborder_policy_decisions_total", absl::StrCat(l, ",action=\"", kPolicyActionNames[a], "\""),
            d.decisions[a]);
    }
    t.add("xborder_evidence_events_total", l, d.events);
    t.add("xborder_evidence_events_lost_total", l, d.events_lost);
    t.add("xborder_fail_closed_blocks_total", l, d.fail_closed);
    t.add("xborder_ruleset_adopts_total", l, d.adopts);
    t.add("xborder_anomaly_samples_lost_total", l, d.samples_lost);
    t.add("xborder_counter_feeds_total", l, d.feeds);
    t.add("xborder_counter_hashes_dropped_total", l, d.hashes_dropped);
    t.add("xborder_inspections_orphaned_total", l, d.orphaned_inspections);
    t.add("xborder_counter_shard_overflow_total", l, m.shards[w]->overflow());
  }
  const evidence_sink::WriterStats s = m.sink->writerStats();
  t.add("xborder_evidence_records_written_total", "", s.written);
  t.add("xborder_evidence_gap_records_total", "", s.gapRecords);
  t.add("xborder_evidence_gap_events_total", "", s.gapEvents);
  t.add("xborder_evidence_lost_disk_total", "", s.lostDisk);
  t.add("xborder_evidence_writer_healthy", "", m.sink->writerHealthy() ? 1 : 0, "gauge");
  t.add("xborder_evidence_log_size", "", m.logSize(), "gauge");
  t.add("xborder_evidence_log_reopens_total", "", m.log_reopens.load(std::memory_order_relaxed));
  t.add("xborder_evidence_checkpoints_total", "", m.checkpoints);
  t.add("xborder_evidence_checkpoint_errors_total", "", m.checkpoint_errors);
  t.add("xborder_counter_merges_total", "", m.merges);
  t.add("xborder_counter_rows", "", m.store->rows(), "gauge");
  t.add("xborder_counter_snapshot_errors_total", "", m.snapshot_errors);
  t.add("xborder_threshold_crossings_total", "", m.crossings);
  t.add("xborder_anomaly_alerts_total", "", m.alerts);
}

void Enforcement::printStats(FILE* out) const {
  const Impl& m = *impl_;
  uint64_t events = 0, lost = 0, fail_closed = 0;
  uint64_t decisions[5] = {0, 0, 0, 0, 0};
  for (const auto& p : m.policies) {
    const DataplaneStats d = p->dataplaneStats();
    events += d.events;
    lost += d.events_lost;
    fail_closed += d.fail_closed;
    for (int a = 0; a < 5; ++a) decisions[a] += d.decisions[a];
  }
  const evidence_sink::WriterStats s = m.sink->writerStats();
  std::fprintf(out,
               "  enforce: ruleset %s swaps %lu failed-loads %lu last-switch %.3f ms | decisions log %lu "
               "alert %lu hold %lu block %lu | evidence events %lu "
               "lost %lu written %lu gap-records %lu lost-disk %lu fail-closed %lu | log size %lu "
               "checkpoints %lu | counter merges %lu crossings %lu | anomaly alerts %lu\n",
               m.current->sha256Hex().c_str(), m.swaps, m.failed_loads, m.last_switch_ms, decisions[1],
               decisions[2], decisions[3], decisions[4], events, lost,
               s.written, s.gapRecords, s.lostDisk, fail_closed, m.logSize(), m.checkpoints, m.merges,
               m.crossings, m.alerts);
}

}  // namespace xborder::dp::app
