#include "dataplane/evidence_sink/evidence_sink.h"

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/record/record_check.h"

namespace xborder::dp::evidence_sink {
namespace {
int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::string_view decisionName(Decision d) {
  switch (d) {
    case Decision::kLog: return "log";
    case Decision::kAlert: return "alert";
    case Decision::kHold: return "hold";
    case Decision::kBlock: return "block";
    case Decision::kAllowFiling: return "allow-filing";
  }
  return "unknown";
}

EvidenceSink::EvidenceSink(evidence::Log* log, SinkOptions options) : log_(log), options_(std::move(options)) {
  if (options_.workers == 0) options_.workers = 1;
  if (options_.batchMax == 0) options_.batchMax = 1;
  for (size_t i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>(options_.ringSlots));
}

EvidenceSink::~EvidenceSink() { stop(); }

bool EvidenceSink::submit(size_t worker, const EvidenceEvent& event) {
  Worker& w = *workers_[worker];
  const uint64_t seq = w.nextSeq.load(std::memory_order_relaxed);
  EvidenceEvent e = event;
  e.seq = seq;
  const bool ok = w.ring.push(e);
  if (!ok) w.lostRing.store(w.lostRing.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // Published after the push: the writer, having read nextSeq, sees every pushed event
  // below it, so a sequence it cannot find was lost, not late.
  w.nextSeq.store(seq + 1, std::memory_order_release);
  return ok;
}

void EvidenceSink::addGap(std::vector<Pending>& batch, size_t worker, uint64_t first, uint64_t last,
                          int64_t fromNanos, int64_t toNanos) {
  Pending p{{}, worker, true};
  p.record.set_type(evidence::v1::GAP);
  auto* gap = p.record.mutable_gap();
  // The source text repeats worker and range for a person reading a raw record.
  gap->set_source(absl::StrCat("dataplane-ring worker=", worker, " from_unix_nanos=", fromNanos,
                               " to_unix_nanos=", toNanos));
  gap->set_worker(static_cast<uint32_t>(worker));
  gap->set_from_unix_nanos(fromNanos);
  gap->set_to_unix_nanos(toNanos);
  gap->set_first_seq(first);
  gap->set_last_seq(last);
  gap->set_lost_count(last - first + 1);
  batch.push_back(std::move(p));
}

void EvidenceSink::addFlow(std::vector<Pending>& batch, size_t worker, const EvidenceEvent& ev) {
  Pending p{{}, worker, false};
  auto& r = p.record;
  r.set_type(evidence::v1::FLOW);
  r.set_observed_unix_nanos(ev.decidedUnixNanos);
  r.set_tenant(options_.tenantName ? options_.tenantName(ev.tenant) : absl::StrCat("#", ev.tenant));
  auto* f = r.mutable_flow();
  f->set_flow_id(reinterpret_cast<const char*>(ev.flowId), sizeof ev.flowId);
  f->set_start_unix_nanos(ev.startUnixNanos);
  f->set_end_unix_nanos(ev.endUnixNanos);
  f->set_src_id_hash(reinterpret_cast<const char*>(ev.srcIdHash), sizeof ev.srcIdHash);
  f->set_dst_ip(reinterpret_cast<const char*>(ev.dstIp), ev.dstIpLen <= 16 ? ev.dstIpLen : 16);
  f->set_src_port(ev.srcPort);
  f->set_dst_port(ev.dstPort);
  f->set_ip_proto(ev.ipProto);
  if (ev.dstCountry[0] != 0) f->set_dst_country(std::string(ev.dstCountry, 2));
  f->set_policy_decision(std::string(decisionName(ev.decision)));
  if (ev.entry >= 0) f->set_rule_id(options_.entryName ? options_.entryName(ev.entry) : absl::StrCat("#", ev.entry));
  if (ev.filing >= 0) {
    f->set_filing_id(options_.filingName ? options_.filingName(ev.filing) : absl::StrCat("#", ev.filing));
  }
  // Bytes that crossed before the decision (the flow may go on, or be cut, after it).
  f->set_bytes_out(ev.bytesOutBeforeDecision);
  f->set_bytes_in(ev.bytesInBeforeDecision);
  f->set_flow_seq(ev.flowSeq);
  f->set_hash_key_id(ev.hashKeyId);
  f->set_identifiers_count(ev.identifiersCount);
  f->set_ruleset_sha256(reinterpret_cast<const char*>(ev.rulesetSha256), sizeof ev.rulesetSha256);
  f->set_decision_basis(ev.basis);
  f->set_filing_miss(ev.reason);
  f->set_records(ev.records);
  batch.push_back(std::move(p));
}

void EvidenceSink::commit(std::vector<Pending>& batch) {
  if (batch.empty()) return;
  if (options_.beforeAppend) options_.beforeAppend();
  absl::Status status;
  std::vector<std::string> bytes(batch.size());
  for (int attempt = 0; attempt < 2; ++attempt) {
    // Indexes are assigned here; if another appender got in first, appendBatch refuses
    // (FailedPrecondition) and the batch is renumbered once.
    const uint64_t first = log_->size();
    const int64_t now = nowNanos();
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& r = batch[i].record;
      r.set_format_version(evidence::kRecordFormatVersion);
      r.set_index(first + i);
      r.set_origin(log_->origin());
      if (r.observed_unix_nanos() == 0) r.set_observed_unix_nanos(now);
      bytes[i].clear();
      r.SerializeToString(&bytes[i]);
    }
    auto appended = log_->appendBatch(bytes);
    status = appended.status();
    if (status.ok() || status.code() != absl::StatusCode::kFailedPrecondition) break;
  }
  std::lock_guard lk(statsMu_);
  ++stats_.batches;
  for (const Pending& p : batch) {
    if (status.ok()) {
      if (p.isGap) {
        ++stats_.gapRecords;
        stats_.gapEvents += p.record.gap().lost_count();
      } else {
        ++stats_.written;
      }
    } else if (!p.isGap) {
      ++stats_.lostDisk;
    }
  }
  if (!status.ok()) {
    lastError_ = status;
    writerHealthy_.store(false, std::memory_order_release);
  }
  batch.clear();
}

size_t EvidenceSink::runOnce() {
  if (log_->state() != evidence::LogState::kOpen) writerHealthy_.store(false, std::memory_order_release);
  std::vector<Pending> batch;
  batch.reserve(options_.batchMax + 2 * workers_.size());
  size_t taken = 0;
  for (size_t wi = 0; wi < workers_.size(); ++wi) {
    Worker& w = *workers_[wi];
    const uint64_t attempts = w.nextSeq.load(std::memory_order_acquire);
    bool drained = false;
    EvidenceEvent ev;
    while (batch.size() < options_.batchMax) {
      if (!w.ring.pop(ev)) {
        drained = true;
        break;
      }
      if (ev.seq != w.expected) addGap(batch, wi, w.expected, ev.seq - 1, w.lastSeenNanos, ev.decidedUnixNanos);
      addFlow(batch, wi, ev);
      w.expected = ev.seq + 1;
      w.lastSeenNanos = ev.decidedUnixNanos;
      ++taken;
    }
    if (drained && w.expected < attempts) {
      addGap(batch, wi, w.expected, attempts - 1, w.lastSeenNanos, nowNanos());
      w.expected = attempts;
    }
  }
  commit(batch);
  return taken;
}

void EvidenceSink::writerLoop() {
  while (running_.load(std::memory_order_acquire)) {
    if (runOnce() == 0) std::this_thread::sleep_for(options_.idleWait);
  }
  while (runOnce() != 0) {
  }
}

void EvidenceSink::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] { writerLoop(); });
}

void EvidenceSink::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
}

WorkerStats EvidenceSink::workerStats(size_t worker) const {
  const Worker& w = *workers_[worker];
  return {w.nextSeq.load(std::memory_order_acquire), w.lostRing.load(std::memory_order_relaxed)};
}

WriterStats EvidenceSink::writerStats() const {
  std::lock_guard lk(statsMu_);
  return stats_;
}

absl::Status EvidenceSink::lastError() const {
  std::lock_guard lk(statsMu_);
  return lastError_;
}

}  // namespace xborder::dp::evidence_sink
