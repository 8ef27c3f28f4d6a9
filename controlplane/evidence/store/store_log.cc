#include "controlplane/evidence/store/store_log.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/store/store_segment.h"

namespace xborder::evidence {
namespace {

constexpr char kLogFile[] = "LOG";
constexpr char kLockFile[] = "LOCK";
constexpr char kCheckpointFile[] = "checkpoint";
constexpr char kCasLockFile[] = "checkpoint.lock";
constexpr char kCheckpointDir[] = "checkpoints";
constexpr char kQuarantineDir[] = "quarantine";
constexpr uint64_t kSectorSize = 512;

// Fail-stop (EVIDENCE.md §4.2, "fsyncgate"): after a failed fsync the kernel may have
// dropped the dirty pages and cleared the error, so retrying could "succeed" over lost
// data. Crash, and let recovery on the next start decide what is on disk.
[[noreturn]] void failStop(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "xborder evidence: %s failed: %s; stopping (fail-stop), restart runs recovery\n",
               std::string(what).c_str(), std::string(status.message()).c_str());
  std::fflush(stderr);
  std::abort();
}

bool allZero(std::string_view data, uint64_t from, uint64_t to) {
  to = std::min<uint64_t>(to, data.size());
  for (uint64_t i = from; i < to; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

uint32_t loadLe32(std::string_view d, uint64_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(d[at + i])} << (8 * i);
  return v;
}

uint64_t countNonZero(std::string_view data, uint64_t from) {
  uint64_t n = 0;
  for (uint64_t i = from; i < data.size(); ++i) n += data[i] != 0;
  return n;
}

// A bad frame at `off` in the last segment is a torn write (not damage) when nothing but
// zeros follows it (the rest of a write that never reached the disk, in preallocated
// space) or when a whole 512-byte sector it covers is zero (a sector write that was
// lost while later ones landed). Otherwise it is mid-log damage.
bool looksTorn(std::string_view data, uint64_t off, FrameStop stop) {
  uint64_t end = off + kFrameHeaderSize;
  if (stop == FrameStop::kBadCrc || stop == FrameStop::kBadPadding) {
    end = off + frameSize(loadLe32(data, off));
  }
  end = std::min<uint64_t>(end, data.size());
  if (allZero(data, end, data.size())) return true;
  for (uint64_t s = off / kSectorSize * kSectorSize; s < end; s += kSectorSize) {
    if (allZero(data, s, s + kSectorSize)) return true;
  }
  return false;
}

}  // namespace

std::string_view logStateName(LogState state) {
  switch (state) {
    case LogState::kOpen: return "open";
    case LogState::kIntakeStopped: return "intake-stopped";
    case LogState::kIntegrityAlarm: return "integrity-alarm";
  }
  return "?";
}

Log::Log(LogOptions options, LogMeta meta, std::unique_ptr<FileLock> lock)
    : options_(std::move(options)),
      meta_(std::move(meta)),
      env_(options_.env ? options_.env : Env::posix()),
      lock_(std::move(lock)),
      tree_(Hasher(meta_.hash)),
      writeHasher_(meta_.hash) {}

Log::~Log() = default;

absl::StatusOr<std::unique_ptr<Log>> Log::create(const LogOptions& options) {
  Env* env = options.env ? options.env : Env::posix();
  if (!validOrigin(options.origin)) {
    return absl::InvalidArgumentError("origin must be printable ASCII without spaces or '+'");
  }
  if (options.segment_bytes < 4096 || options.segment_bytes % 8 != 0) {
    return absl::InvalidArgumentError("segment_bytes must be a multiple of 8 and at least 4096");
  }
  if (auto s = env->createDir(options.dir); !s.ok()) return s;
  if (env->exists(options.dir + "/" + kLogFile)) {
    return absl::AlreadyExistsError(absl::StrCat("an evidence log already exists in ", options.dir));
  }
  auto lock = env->lockFile(options.dir + "/" + kLockFile);
  if (!lock.ok()) return lock.status();
  for (const char* sub : {kQuarantineDir, kCheckpointDir}) {
    if (auto s = env->createDir(options.dir + "/" + sub); !s.ok()) return s;
  }
  LogMeta meta{options.origin, options.hash, options.segment_bytes};
  if (auto s = writeFileAtomic(*env, options.dir, kLogFile, formatLogMeta(meta)); !s.ok()) {
    if (s.code() == absl::StatusCode::kDataLoss) failStop("fsync of LOG", s);
    return s;
  }
  std::unique_ptr<Log> log(new Log(options, meta, std::move(*lock)));
  if (auto s = log->recover(); !s.ok()) return s;
  return log;
}

absl::StatusOr<std::unique_ptr<Log>> Log::open(const LogOptions& options) {
  Env* env = options.env ? options.env : Env::posix();
  if (!env->exists(options.dir + "/" + kLogFile)) {
    return absl::NotFoundError(absl::StrCat("no evidence log in ", options.dir, " (no LOG file)"));
  }
  auto lock = env->lockFile(options.dir + "/" + kLockFile);
  if (!lock.ok()) return lock.status();
  auto text = env->readFile(options.dir + "/" + kLogFile);
  if (!text.ok()) return text.status();
  auto meta = parseLogMeta(*text);
  if (!meta.ok()) return meta.status();
  if (!options.origin.empty() && options.origin != meta->origin) {
    return absl::InvalidArgumentError(
        absl::StrCat("log origin is '", meta->origin, "', not '", options.origin, "'"));
  }
  std::unique_ptr<Log> log(new Log(options, *meta, std::move(*lock)));
  if (auto s = log->recover(); !s.ok()) return s;
  return log;
}

void Log::raiseAlarm(std::string why) {
  if (state_ != LogState::kIntegrityAlarm) {
    state_ = LogState::kIntegrityAlarm;
    alarm_ = std::move(why);
    std::fprintf(stderr, "xborder evidence: INTEGRITY ALARM in %s: %s\n", options_.dir.c_str(),
                 alarm_.c_str());
  }
}

absl::Status Log::loadCheckpoints() {
  auto parseNote = [&](const std::string& note, const std::string& where) -> std::optional<Checkpoint> {
    std::string body;
    if (options_.checkpoint_verifier) {
      auto b = options_.checkpoint_verifier(note);
      if (!b.ok()) {
        raiseAlarm(absl::StrCat(where, " does not verify with the log key: ", b.status().message()));
        return std::nullopt;
      }
      body = *b;
    } else {
      auto b = noteBody(note);
      if (!b.ok()) {
        raiseAlarm(absl::StrCat(where, ": ", b.status().message()));
        return std::nullopt;
      }
      body = std::string(*b);
    }
    auto parsed = parseCheckpointBody(body);
    if (!parsed.ok() || parsed->origin != meta_.origin) {
      raiseAlarm(absl::StrCat(where, " is not a checkpoint of this log"));
      return std::nullopt;
    }
    return Checkpoint{parsed->size, parsed->root, note};
  };

  std::map<uint64_t, Checkpoint> bySize;
  auto add = [&](const Checkpoint& c) {
    auto [it, inserted] = bySize.emplace(c.size, c);
    if (!inserted && it->second.root != c.root) {
      raiseAlarm(absl::StrCat("two stored checkpoints of size ", c.size, " differ"));
    }
  };
  auto current = env_->readFile(path(kCheckpointFile));
  if (current.ok()) {
    seenCheckpointFile_ = *current;
    if (auto c = parseNote(*current, kCheckpointFile)) add(*c);
  } else if (current.status().code() != absl::StatusCode::kNotFound) {
    return current.status();
  }
  auto names = env_->listDir(path(kCheckpointDir));
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    if (name.size() != 25 || name.substr(20) != ".note") continue;  // skips *.tmp leftovers
    auto text = env_->readFile(path(kCheckpointDir) + "/" + name);
    if (!text.ok()) return text.status();
    if (auto c = parseNote(*text, absl::StrCat(kCheckpointDir, "/", name))) add(*c);
  }
  // Every stored checkpoint is checked against the records; the largest is the floor
  // (the history file is written before the CAS file, so a crash can leave either ahead).
  for (auto& [size, c] : bySize) history_.push_back(c);
  if (!history_.empty()) latest_ = history_.back();
  return absl::OkStatus();
}

absl::Status Log::recover() {
  auto names = env_->listDir(options_.dir);
  if (!names.ok()) return names.status();
  for (const char* sub : {kQuarantineDir, kCheckpointDir}) {
    if (auto s = env_->createDir(path(sub)); !s.ok()) return s;
  }
  std::map<uint64_t, std::string> segFiles;
  bool removedTmp = false;
  for (const auto& name : *names) {
    if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
      // Never renamed into place, so never committed.
      if (auto s = env_->remove(path(name)); !s.ok()) return s;
      removedTmp = true;
    } else if (auto first = parseSegmentFileName(name)) {
      segFiles.emplace(*first, name);
    }
  }
  if (removedTmp) {
    if (auto s = env_->syncDir(options_.dir); !s.ok()) failStop("fsync of the log directory", s);
  }
  if (auto s = loadCheckpoints(); !s.ok()) return s;
  const uint64_t signedSize = latest_ ? latest_->size : 0;

  const Hash originHash = originDigest(meta_.origin);
  uint64_t expected = 0;
  uint64_t lastEnd = Segment::kSegmentStart;
  size_t k = 0;
  for (const auto& [first, name] : segFiles) {
    const bool last = ++k == segFiles.size();
    auto data = env_->readFile(path(name));
    if (!data.ok()) return data.status();
    auto header = decodeSegmentHeader(*data);
    if (!header.ok()) {
      raiseAlarm(absl::StrCat(name, ": ", header.status().message()));
      break;
    }
    if (header->hash != meta_.hash || header->originSha256 != originHash ||
        header->firstIndex != first || first != expected) {
      raiseAlarm(absl::StrCat(name, ": header (first index ", header->firstIndex,
                              ") does not continue the log at leaf ", expected));
      break;
    }
    const std::string_view bytes(*data);
    FrameScan scan = scanFrames(bytes.substr(kSegmentHeaderSize), kSegmentHeaderSize);
    Segment seg{first, name, {}, kSegmentHeaderSize};
    bool bad = false;
    for (const Frame& frame : scan.frames) {
      auto record = checkRecord(frame.payload, {.index = expected, .origin = meta_.origin});
      if (!record.ok()) {
        raiseAlarm(absl::StrCat(name, " offset ", frame.offset, " (leaf ", expected,
                                "): ", record.status().message()));
        bad = true;
        break;
      }
      tree_.append(writeHasher_.leafHash(frame.payload));
      seg.offsets.push_back(frame.offset);
      seg.end = frame.offset + frameSize(frame.payload.size());
      ++expected;
    }
    segments_.push_back(std::move(seg));
    if (bad) break;
    const uint64_t goodEnd = scan.endOffset;
    lastEnd = goodEnd;
    const bool clean = scan.stop == FrameStop::kEof ||
                       (scan.stop == FrameStop::kEndMarker && allZero(bytes, goodEnd, bytes.size()));
    if (clean) continue;
    if (!last) {
      raiseAlarm(absl::StrCat(name, " offset ", goodEnd, " (leaf ", expected, "): ",
                              std::string(frameStopName(scan.stop)), " in a sealed segment"));
      break;
    }
    const bool stale = scan.stop == FrameStop::kEndMarker;
    if (!stale && scan.stop != FrameStop::kTruncated && !looksTorn(bytes, goodEnd, scan.stop)) {
      raiseAlarm(absl::StrCat(name, " offset ", goodEnd, " (leaf ", expected, "): ",
                              std::string(frameStopName(scan.stop)),
                              " followed by data: mid-log damage, not a torn write"));
      break;
    }
    if (expected < signedSize) {
      raiseAlarm(absl::StrCat(name, " offset ", goodEnd, ": torn at leaf ", expected,
                              ", below the signed checkpoint size ", signedSize));
      break;
    }
    // Torn tail: keep a copy, cut back to the last good frame, restore preallocation.
    const std::string qname = absl::StrCat(name, ".", env_->nowUnixNanos(), ".broken");
    if (auto s = writeFileAtomic(*env_, path(kQuarantineDir), qname, bytes); !s.ok()) {
      if (s.code() == absl::StatusCode::kDataLoss) failStop("fsync of the quarantine copy", s);
      return s;
    }
    auto file = env_->openFile(path(name), false);
    if (!file.ok()) return file.status();
    if (auto s = (*file)->truncate(goodEnd); !s.ok()) return s;
    if (auto s = (*file)->allocate(goodEnd, meta_.segmentBytes - goodEnd);
        !s.ok() && s.code() != absl::StatusCode::kUnimplemented &&
        s.code() != absl::StatusCode::kResourceExhausted) {
      return s;
    }
    if (auto s = (*file)->sync(); !s.ok()) failStop("fdatasync after truncation", s);
    recovery_ = RecoveryInfo{true, stale ? "stale-tail" : "torn-tail", name, goodEnd,
                             countNonZero(bytes, goodEnd), qname, expected, std::nullopt};
  }

  // Never below the last signed checkpoint, and never a different history.
  if (state_ != LogState::kIntegrityAlarm) {
    for (const Checkpoint& c : history_) {
      if (c.size > tree_.size()) {
        raiseAlarm(absl::StrCat("checkpoint of size ", c.size, " signed, but only ", tree_.size(),
                                " leaves are in the log"));
        break;
      }
      if (*tree_.root(c.size) != c.root) {
        raiseAlarm(absl::StrCat("root of the first ", c.size,
                                " leaves differs from the signed checkpoint"));
        break;
      }
    }
  }
  durable_ = nextIndex_ = tree_.size();
  if (latest_) {
    lastCheckpointSize_ = latest_->size;
    lastCheckpointNanos_ = env_->nowUnixNanos();
  }
  if (state_ == LogState::kIntegrityAlarm) return absl::OkStatus();

  if (segments_.empty()) {
    if (auto s = roll(0); !s.ok()) return s;
    segments_.push_back(Segment{0, currentName_, {}, Segment::kSegmentStart});
  } else {
    const Segment& seg = segments_.back();
    auto file = env_->openFile(path(seg.name), false);
    if (!file.ok()) return file.status();
    current_ = std::move(*file);
    currentFirst_ = seg.first;
    currentName_ = seg.name;
    currentOffset_ = lastEnd;
  }

  if (recovery_.truncated) {
    v1::EvidenceRecord rec;
    rec.set_type(v1::RECOVERY);
    auto* body = rec.mutable_recovery();
    body->set_reason(recovery_.reason);
    body->set_segment(recovery_.segment);
    body->set_truncated_at_offset(recovery_.offset);
    body->set_truncated_bytes(recovery_.removedBytes);
    body->set_quarantine_file(std::string(kQuarantineDir) + "/" + recovery_.quarantineFile);
    body->set_recovered_size(recovery_.recoveredSize);
    auto index = appendRecord(std::move(rec));
    if (!index.ok()) return index.status();
    recovery_.recordIndex = *index;
  }
  return absl::OkStatus();
}

absl::Status Log::roll(uint64_t firstIndex) {
  if (options_.min_free_bytes > 0) {
    auto free = env_->freeBytes(options_.dir);
    if (free.ok() && *free < meta_.segmentBytes + options_.min_free_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "free space ", *free, " bytes: a new segment would go below the watermark of ",
          options_.min_free_bytes, " bytes"));
    }
  }
  const std::string name = segmentFileName(firstIndex);
  const std::string tmp = path(name + ".tmp");
  auto file = env_->openFile(tmp, true);
  if (!file.ok()) return file.status();
  auto cleanup = [&](absl::Status s) {
    file->reset();
    (void)env_->remove(tmp);
    return s;
  };
  if (auto s = (*file)->truncate(0); !s.ok()) return cleanup(s);
  if (auto s = (*file)->allocate(0, meta_.segmentBytes);
      !s.ok() && s.code() != absl::StatusCode::kUnimplemented) {
    return cleanup(s);
  }
  SegmentHeader header{meta_.hash, firstIndex, originDigest(meta_.origin)};
  if (auto s = (*file)->writeAt(0, encodeSegmentHeader(header)); !s.ok()) return cleanup(s);
  if (auto s = (*file)->sync(); !s.ok()) failStop("fdatasync of a new segment", s);
  if (auto s = env_->rename(tmp, path(name)); !s.ok()) return cleanup(s);
  if (auto s = env_->syncDir(options_.dir); !s.ok()) failStop("fsync of the log directory", s);
  current_ = std::move(*file);
  currentFirst_ = firstIndex;
  currentName_ = name;
  currentOffset_ = kSegmentHeaderSize;
  return absl::OkStatus();
}

absl::Status Log::writeAndSync(std::string& buf, size_t records, std::vector<Written>& staged,
                               BatchResult& result) {
  if (buf.empty()) return absl::OkStatus();
  if (auto s = current_->writeAt(currentOffset_, buf); !s.ok()) {
    // Disk full or a write error: cut back to the last complete frame, stop intake.
    if (auto t = current_->truncate(currentOffset_); !t.ok()) failStop("truncate after a failed write", t);
    if (auto t = current_->sync(); !t.ok()) failStop("fdatasync after a failed write", t);
    return s;
  }
  if (auto s = current_->sync(); !s.ok()) failStop("fdatasync", s);
  currentOffset_ += buf.size();
  buf.clear();
  for (auto& w : staged) result.written.push_back(std::move(w));
  staged.clear();
  (void)records;
  return absl::OkStatus();
}

Log::BatchResult Log::writeBatch(std::vector<std::string>& batch, uint64_t first) {
  BatchResult result;
  std::string buf;
  std::vector<Written> staged;
  for (size_t i = 0; i < batch.size(); ++i) {
    const uint64_t fs = frameSize(batch[i].size());
    if (currentOffset_ + buf.size() + fs > meta_.segmentBytes) {
      if (auto s = writeAndSync(buf, staged.size(), staged, result); !s.ok()) {
        result.status = s;
        return result;
      }
      if (auto s = roll(first + i); !s.ok()) {
        result.status = s;
        return result;
      }
    }
    const uint64_t offset = currentOffset_ + buf.size();
    appendFrame(buf, batch[i]);
    staged.push_back(Written{currentFirst_, offset, offset + fs,
                             writeHasher_.leafHash(batch[i])});
  }
  result.status = writeAndSync(buf, staged.size(), staged, result);
  return result;
}

absl::Status Log::intakeCheckLocked() const {
  switch (state_) {
    case LogState::kOpen:
      return absl::OkStatus();
    case LogState::kIntegrityAlarm:
      return absl::DataLossError("integrity alarm, appends refused: " + alarm_);
    case LogState::kIntakeStopped:
      return absl::ResourceExhaustedError(
          absl::StrCat("intake stopped: ", stopReason_.message(), " (reopen the log once space is back)"));
  }
  return absl::InternalError("bad state");
}

absl::Status Log::checkRecordSize(size_t size) const {
  if (size == 0 || size > kMaxFramePayload || frameSize(size) > meta_.segmentBytes - kSegmentHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("record of ", size, " bytes does not fit a frame"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Log::enqueueAndWait(const RecordMaker& make) {
  std::unique_lock lk(mu_);
  if (auto s = intakeCheckLocked(); !s.ok()) return s;
  const uint64_t first = nextIndex_;
  auto records = make(first);
  if (!records.ok()) return records.status();
  if (records->empty()) return absl::InvalidArgumentError("no records");
  const uint64_t last = first + records->size() - 1;
  nextIndex_ += records->size();
  for (auto& r : *records) pending_.push_back(std::move(r));
  if (committing_ && pending_.size() >= options_.group_commit_records) cv_.notify_all();

  bool ledCommit = false;
  while (durable_ <= last) {
    if (committing_) {
      cv_.wait(lk);
      continue;
    }
    if (pending_.empty() || state_ != LogState::kOpen) {
      // A failed batch dropped ours.
      return state_ == LogState::kOpen ? absl::InternalError("records lost from the queue")
                                       : intakeCheckLocked();
    }
    committing_ = true;
    ledCommit = true;
    if (options_.group_commit_interval.count() > 0 && pending_.size() < options_.group_commit_records) {
      cv_.wait_for(lk, options_.group_commit_interval,
                   [&] { return pending_.size() >= options_.group_commit_records; });
    }
    std::vector<std::string> batch;
    batch.swap(pending_);
    const uint64_t batchFirst = durable_;
    lk.unlock();
    BatchResult result = writeBatch(batch, batchFirst);
    lk.lock();
    for (const Written& w : result.written) {
      if (segments_.empty() || segments_.back().first != w.segFirst) {
        segments_.push_back(Segment{w.segFirst, segmentFileName(w.segFirst), {}, Segment::kSegmentStart});
      }
      segments_.back().offsets.push_back(w.offset);
      segments_.back().end = w.end;
      tree_.append(w.leaf);
    }
    durable_ += result.written.size();
    if (!result.status.ok()) {
      state_ = LogState::kIntakeStopped;
      stopReason_ = result.status;
      nextIndex_ = durable_;
      pending_.clear();
      std::fprintf(stderr, "xborder evidence: intake stopped in %s: %s\n", options_.dir.c_str(),
                   std::string(result.status.message()).c_str());
    }
    committing_ = false;
    cv_.notify_all();
  }
  lk.unlock();
  if (ledCommit) maybeAutoCheckpoint();
  return first;
}

absl::StatusOr<uint64_t> Log::append(std::string_view recordBytes) {
  if (auto s = checkRecordSize(recordBytes.size()); !s.ok()) return s;
  auto record = checkRecord(recordBytes, {.origin = meta_.origin});
  if (!record.ok()) return absl::InvalidArgumentError(record.status().message());
  const uint64_t index = record->index;
  return enqueueAndWait([&](uint64_t first) -> absl::StatusOr<std::vector<std::string>> {
    if (index != first) {
      return absl::FailedPreconditionError(
          absl::StrCat("record index ", index, " but the next leaf is ", first));
    }
    return std::vector<std::string>{std::string(recordBytes)};
  });
}

absl::StatusOr<uint64_t> Log::appendBatch(std::span<const std::string> records) {
  if (records.empty()) return absl::InvalidArgumentError("empty batch");
  std::vector<uint64_t> indexes;
  for (const auto& bytes : records) {
    if (auto s = checkRecordSize(bytes.size()); !s.ok()) return s;
    auto record = checkRecord(bytes, {.origin = meta_.origin});
    if (!record.ok()) return absl::InvalidArgumentError(record.status().message());
    indexes.push_back(record->index);
  }
  return enqueueAndWait([&](uint64_t first) -> absl::StatusOr<std::vector<std::string>> {
    for (size_t i = 0; i < indexes.size(); ++i) {
      if (indexes[i] != first + i) {
        return absl::FailedPreconditionError(absl::StrCat(
            "batch record ", i, " has index ", indexes[i], " but its leaf would be ", first + i));
      }
    }
    return std::vector<std::string>(records.begin(), records.end());
  });
}

absl::StatusOr<uint64_t> Log::appendRecord(v1::EvidenceRecord record) {
  record.set_format_version(kRecordFormatVersion);
  record.set_origin(meta_.origin);
  if (record.observed_unix_nanos() == 0) record.set_observed_unix_nanos(env_->nowUnixNanos());
  // The index is known only under the lock, so the record is serialised there.
  return enqueueAndWait([&](uint64_t first) -> absl::StatusOr<std::vector<std::string>> {
    record.set_index(first);
    std::string bytes;
    record.SerializeToString(&bytes);
    if (auto s = checkRecordSize(bytes.size()); !s.ok()) return s;
    return std::vector<std::string>{std::move(bytes)};
  });
}

uint64_t Log::size() const {
  std::lock_guard lk(mu_);
  return durable_;
}

absl::StatusOr<Hash> Log::root(uint64_t size) const {
  std::lock_guard lk(mu_);
  return tree_.root(size);
}

absl::StatusOr<std::vector<Hash>> Log::inclusionProof(uint64_t index, uint64_t size) const {
  std::lock_guard lk(mu_);
  return tree_.inclusionProof(index, size);
}

absl::StatusOr<std::vector<Hash>> Log::consistencyProof(uint64_t size1, uint64_t size2) const {
  std::lock_guard lk(mu_);
  return tree_.consistencyProof(size1, size2);
}

absl::StatusOr<CompactRange> Log::compactRange(uint64_t size) const {
  std::lock_guard lk(mu_);
  if (size > tree_.size()) return absl::OutOfRangeError("compact range beyond the log");
  return tree_.compactRange(size);
}

absl::StatusOr<std::string> Log::readFrames(uint64_t from, uint64_t to) const {
  struct Piece {
    std::string name;
    uint64_t begin, end;
  };
  std::vector<Piece> pieces;
  {
    std::lock_guard lk(mu_);
    if (from > to || to > durable_) {
      return absl::OutOfRangeError(absl::StrCat("range [", from, ", ", to, ") outside the log of ", durable_));
    }
    for (const Segment& seg : segments_) {
      const uint64_t segEnd = seg.first + seg.offsets.size();
      const uint64_t a = std::max(from, seg.first), b = std::min(to, segEnd);
      if (a >= b) continue;
      pieces.push_back(Piece{seg.name, seg.offsets[a - seg.first],
                             b < segEnd ? seg.offsets[b - seg.first] : seg.end});
    }
  }
  std::string out;
  for (const Piece& p : pieces) {
    auto bytes = readRange(p.name, p.begin, p.end);
    if (!bytes.ok()) return bytes.status();
    out += *bytes;
  }
  return out;
}

absl::StatusOr<std::string> Log::readRange(const std::string& name, uint64_t begin, uint64_t end) const {
  std::shared_ptr<File> file;
  {
    std::lock_guard lk(readMu_);
    auto it = readers_.find(name);
    if (it != readers_.end()) {
      file = it->second;
    } else {
      auto opened = env_->openFile(path(name), false);
      if (!opened.ok()) return opened.status();
      if (readers_.size() >= 16) readers_.clear();  // bounded: a few segments at a time
      file = std::shared_ptr<File>(std::move(*opened));
      readers_.emplace(name, file);
    }
  }
  auto bytes = file->readAt(begin, end - begin);  // pread: safe to share between threads
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != end - begin) return absl::DataLossError(name + " is shorter than its index");
  return bytes;
}

absl::StatusOr<std::string> Log::readRecord(uint64_t index) const {
  auto frames = readFrames(index, index + 1);
  if (!frames.ok()) return frames.status();
  auto parsed = parseFrames(*frames);
  if (!parsed.ok() || parsed->size() != 1) {
    return absl::DataLossError(absl::StrCat("record ", index, " is damaged on disk"));
  }
  return std::string((*parsed)[0].payload);
}

absl::StatusOr<Checkpoint> Log::publishCheckpoint(const NoteSigner& sign) {
  std::lock_guard ck(checkpointMu_);
  uint64_t size;
  Hash root;
  {
    std::lock_guard lk(mu_);
    if (state_ != LogState::kOpen) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to sign a checkpoint in state ", std::string(logStateName(state_)),
          state_ == LogState::kIntegrityAlarm ? ": " + alarm_ : std::string()));
    }
    size = durable_;  // only synced records: never sign unsynced data
    root = *tree_.root(size);
    if (latest_ && latest_->size == size) return *latest_;
  }
  const std::string body = formatCheckpointBody({meta_.origin, size, root});
  auto note = sign(body);
  if (!note.ok()) return note.status();
  if (options_.checkpoint_verifier) {
    auto verified = options_.checkpoint_verifier(*note);
    if (!verified.ok() || *verified != body) {
      return absl::InternalError("the signed checkpoint does not verify with the log key");
    }
  } else {
    auto b = noteBody(*note);
    if (!b.ok() || *b != body) return absl::InternalError("the signer returned a note over another body");
  }

  // Compare-and-swap on <dir>/checkpoint: the stored note must still be the one this
  // writer last saw, so a second writer (say, the lock was broken) cannot fork the log.
  std::unique_ptr<FileLock> cas;
  for (int attempt = 0;; ++attempt) {
    auto l = env_->lockFile(path(kCasLockFile));
    if (l.ok()) {
      cas = std::move(*l);
      break;
    }
    if (l.status().code() != absl::StatusCode::kFailedPrecondition || attempt == 200) return l.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string stored;
  if (auto cur = env_->readFile(path(kCheckpointFile)); cur.ok()) {
    stored = *cur;
  } else if (cur.status().code() != absl::StatusCode::kNotFound) {
    return cur.status();
  }
  if (stored != seenCheckpointFile_) {
    return absl::AbortedError(
        "checkpoint compare-and-swap failed: the stored checkpoint changed since this writer "
        "last saw it (another writer?)");
  }
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.note", static_cast<unsigned long long>(size));
  for (auto [dir, file] : {std::pair<std::string, std::string>{path(kCheckpointDir), name},
                           std::pair<std::string, std::string>{options_.dir, kCheckpointFile}}) {
    if (auto s = writeFileAtomic(*env_, dir, file, *note); !s.ok()) {
      if (s.code() == absl::StatusCode::kDataLoss) failStop("fsync of a checkpoint", s);
      return s;
    }
  }
  Checkpoint c{size, root, *note};
  {
    std::lock_guard lk(mu_);
    seenCheckpointFile_ = *note;
    latest_ = c;
    history_.push_back(c);
  }
  lastCheckpointSize_ = size;
  lastCheckpointNanos_ = env_->nowUnixNanos();
  return c;
}

void Log::maybeAutoCheckpoint() {
  if (!options_.checkpoint_signer) return;
  uint64_t size = this->size();
  bool due;
  {
    std::lock_guard ck(checkpointMu_);
    const bool byCount = options_.checkpoint_every_records > 0 &&
                         size - lastCheckpointSize_ >= options_.checkpoint_every_records;
    const bool byTime = options_.checkpoint_every.count() > 0 && size > lastCheckpointSize_ &&
                        env_->nowUnixNanos() - lastCheckpointNanos_ >=
                            std::chrono::duration_cast<std::chrono::nanoseconds>(options_.checkpoint_every).count();
    due = byCount || byTime;
  }
  if (!due) return;
  auto c = publishCheckpoint(options_.checkpoint_signer);
  std::lock_guard ck(checkpointMu_);
  autoCheckpointError_ = c.status();
}

absl::Status Log::lastAutoCheckpointError() const {
  std::lock_guard ck(checkpointMu_);
  return autoCheckpointError_;
}

std::optional<Checkpoint> Log::latestCheckpoint() const {
  std::lock_guard lk(mu_);
  return latest_;
}

std::vector<Checkpoint> Log::checkpoints() const {
  std::lock_guard lk(mu_);
  return history_;
}

LogState Log::state() const {
  std::lock_guard lk(mu_);
  return state_;
}

std::string Log::alarm() const {
  std::lock_guard lk(mu_);
  return alarm_;
}

absl::Status Log::intakeStopReason() const {
  std::lock_guard lk(mu_);
  return stopReason_;
}

}  // namespace xborder::evidence
