#include "dataplane/evidence_sink/evidence_sink.h"

#include <algorithm>

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

void EvidenceSink::registerNames(std::shared_ptr<const RulesetNames> names) {
  if (!names) return;
  std::lock_guard lk(controlMu_);
  for (auto it = names_.begin(); it != names_.end(); ++it) {
    if ((*it)->sha256 == names->sha256) {
      names_.erase(it);
      break;
    }
  }
  names_.push_back(std::move(names));
  if (names_.size() > 16) names_.erase(names_.begin());
}

bool EvidenceSink::submitControl(evidence::v1::EvidenceRecord record) {
  std::lock_guard lk(controlMu_);
  if (controlQueue_.size() >= 4096) {
    std::lock_guard sl(statsMu_);
    ++stats_.lostControl;
    return false;
  }
  controlQueue_.push_back(std::move(record));
  return true;
}

void EvidenceSink::resumeLog(std::function<evidence::Log*()> reopen) {
  std::lock_guard lk(controlMu_);
  reopen_ = std::move(reopen);
}

void EvidenceSink::addFlow(std::vector<Pending>& batch, size_t worker, const EvidenceEvent& ev) {
  Pending p{{}, worker, false};
  auto& r = p.record;
  r.set_type(evidence::v1::FLOW);
  r.set_observed_unix_nanos(ev.decidedUnixNanos);
  // Names of the ruleset version that decided (writer: the lookup takes the lock).
  std::shared_ptr<const RulesetNames> names;
  {
    std::lock_guard lk(controlMu_);
    for (auto it = names_.rbegin(); it != names_.rend(); ++it) {
      if (std::equal((*it)->sha256.begin(), (*it)->sha256.end(), ev.rulesetSha256)) {
        names = *it;
        break;
      }
    }
  }
  auto pick = [](const std::vector<std::string>* v, int64_t i) -> const std::string* {
    return v != nullptr && i >= 0 && static_cast<size_t>(i) < v->size() ? &(*v)[static_cast<size_t>(i)] : nullptr;
  };
  if (ev.tenant != UINT32_MAX) {
    if (const std::string* t = pick(names ? &names->tenants : nullptr, ev.tenant)) {
      r.set_tenant(*t);
    } else {
      r.set_tenant(options_.tenantName ? options_.tenantName(ev.tenant) : absl::StrCat("#", ev.tenant));
    }
  }
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
  if (ev.entry >= 0) {
    if (const std::string* e = pick(names ? &names->entries : nullptr, ev.entry)) {
      f->set_rule_id(*e);
    } else {
      f->set_rule_id(options_.entryName ? options_.entryName(ev.entry) : absl::StrCat("#", ev.entry));
    }
  }
  if (ev.filing >= 0) {
    if (const std::string* fi = pick(names ? &names->filings : nullptr, ev.filing)) {
      f->set_filing_id(*fi);
    } else {
      f->set_filing_id(options_.filingName ? options_.filingName(ev.filing) : absl::StrCat("#", ev.filing));
    }
  }
  // Why, when the decision itself does not say it: blocked fail-closed, or tap mode.
  if (ev.flags & kFlagFailClosed) {
    f->set_data_category("fail-closed: evidence could not be written");
  } else if (ev.flags & kFlagTapMode) {
    f->set_data_category("tap-mode: reported, not enforced");
  }
  // Bytes that crossed before the decision (the flow may go on, or be cut, after it),
  // and so far (the whole flow in its final record).
  f->set_decided_unix_nanos(ev.decidedUnixNanos);
  f->set_bytes_out_before_decision(ev.bytesOutBeforeDecision);
  f->set_bytes_in_before_decision(ev.bytesInBeforeDecision);
  f->set_bytes_out(ev.bytesOut);
  f->set_bytes_in(ev.bytesIn);
  f->set_final((ev.flags & kFlagFlowEnd) != 0);
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
  uint64_t first = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // Indexes are assigned here; if another appender got in first, appendBatch refuses
    // (FailedPrecondition) and the batch is renumbered once.
    first = log_->size();
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
  // A failed batch may still have made its first records durable (the log syncs what
  // it wrote before the failure): those are written, not lost.
  const uint64_t now_size = log_->size();
  const size_t durable =
      status.ok() ? batch.size() : static_cast<size_t>(std::min<uint64_t>(batch.size(), now_size > first ? now_size - first : 0));
  if (!status.ok()) {
    // Remember what the log refused, per worker, for the GAP records written on resume.
    for (size_t i = durable; i < batch.size(); ++i) {
      const Pending& p = batch[i];
      if (p.isControl) {
        ++lostControlWhileDown_;
        continue;
      }
      DiskLoss& d = workers_[p.worker]->disk;
      // The span's ends, not the first and last seen: losses do not come in time order
      // (a flow-end event carries its flow's last packet time, earlier than decisions
      // made meanwhile), and the GAP must cover every one of them.
      auto widen = [&d](int64_t from, int64_t to) {
        d.fromNanos = d.count == 0 ? from : std::min(d.fromNanos, from);
        d.toNanos = d.count == 0 ? to : std::max(d.toNanos, to);
      };
      if (p.isGap) {  // a ring loss the log could not take either
        const auto& g = p.record.gap();
        widen(g.from_unix_nanos(), g.to_unix_nanos());
        d.first = std::min(d.first, g.first_seq());
        d.last = std::max(d.last, g.last_seq());
        d.count += g.lost_count();
        continue;
      }
      const uint64_t seq = p.seq;
      widen(p.record.observed_unix_nanos(), p.record.observed_unix_nanos());
      d.first = std::min(d.first, seq);
      d.last = std::max(d.last, seq);
      ++d.count;
    }
    if (downSinceNanos_ == 0) downSinceNanos_ = nowNanos();
  }
  std::lock_guard lk(statsMu_);
  ++stats_.batches;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Pending& p = batch[i];
    if (i < durable) {
      if (p.isGap) {
        ++stats_.gapRecords;
        stats_.gapEvents += p.record.gap().lost_count();
      } else if (p.isControl) {
        ++stats_.control;
      } else {
        ++stats_.written;
      }
    } else if (p.isControl) {
      ++stats_.lostControl;
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

void EvidenceSink::addLossGaps(std::vector<Pending>& batch, int64_t now) {
  for (size_t wi = 0; wi < workers_.size(); ++wi) {
    DiskLoss& d = workers_[wi]->disk;
    if (d.count == 0) continue;
    addGap(batch, wi, d.first, d.last, d.fromNanos, d.toNanos);
    Pending& g = batch.back();
    g.record.mutable_gap()->set_source(absl::StrCat("disk-full worker=", wi, " from_unix_nanos=", d.fromNanos,
                                                    " to_unix_nanos=", d.toNanos));
    g.record.mutable_gap()->set_lost_count(d.count);
    d = DiskLoss{};
  }
  if (lostControlWhileDown_ > 0) {
    Pending p{{}, 0, true};
    p.record.set_type(evidence::v1::GAP);
    auto* gap = p.record.mutable_gap();
    gap->set_source(absl::StrCat("disk-full control records from_unix_nanos=", downSinceNanos_,
                                 " to_unix_nanos=", now));
    gap->set_from_unix_nanos(downSinceNanos_);
    gap->set_to_unix_nanos(now);
    gap->set_lost_count(lostControlWhileDown_);
    batch.push_back(std::move(p));
    lostControlWhileDown_ = 0;
  }
}

std::vector<evidence::v1::EvidenceRecord> EvidenceSink::unrecordedLosses() {
  if (running_.load()) return {};  // writer-only state: only once stop() joined it
  std::vector<Pending> batch;
  addLossGaps(batch, nowNanos());
  std::vector<evidence::v1::EvidenceRecord> out;
  for (auto& p : batch) out.push_back(std::move(p.record));
  return out;
}

size_t EvidenceSink::runOnce() {
  std::vector<Pending> batch;
  std::vector<evidence::v1::EvidenceRecord> control;
  std::function<evidence::Log*()> reopen;
  {
    std::lock_guard lk(controlMu_);
    control.swap(controlQueue_);
    reopen.swap(reopen_);
  }
  if (reopen) {
    if (evidence::Log* fresh = reopen()) log_ = fresh;
  }
  if (reopen && log_->state() == evidence::LogState::kOpen) {
    // Intake is back: first say what was lost meanwhile.
    addLossGaps(batch, nowNanos());
    downSinceNanos_ = 0;
    writerHealthy_.store(true, std::memory_order_release);
  }
  if (log_->state() != evidence::LogState::kOpen) writerHealthy_.store(false, std::memory_order_release);
  batch.reserve(batch.size() + options_.batchMax + 2 * workers_.size() + control.size());
  for (auto& r : control) {
    Pending p{std::move(r), 0, false};
    p.isControl = true;
    batch.push_back(std::move(p));
  }
  size_t taken = control.size();
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
      batch.back().seq = ev.seq;
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
