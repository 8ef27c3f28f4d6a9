#pragma once
// The evidence log: one append-only Merkle log in a directory (EVIDENCE.md §4).
//
//   <dir>/LOG                   identity: origin, hash, segment size (written once)
//   <dir>/LOCK                  flock: one writer process at a time
//   <dir>/seg-<first index>.log segments of CRC32C frames, preallocated
//   <dir>/checkpoint            latest signed checkpoint note (compare-and-swap)
//   <dir>/checkpoint.lock       flock held only during the compare-and-swap
//   <dir>/checkpoints/<size>.note every checkpoint ever published (export reads them)
//   <dir>/quarantine/           copies of segments taken before recovery truncated them
//
// Writes: group commit (one fdatasync for every record queued meanwhile), and a record
// is acknowledged (append returns its index) only after the sync. A sync error aborts
// the process (fail-stop: after a failed fsync Linux may have dropped the pages, so a
// retry proves nothing); recovery on the next open sorts it out. A write error
// (ENOSPC) stops intake cleanly: the file is cut back to the last complete frame and
// nothing more is accepted or signed until the log is reopened.
//
// Recovery runs on every open: a torn tail of the last segment is copied to
// quarantine/, truncated and recorded as a RECOVERY record; damage anywhere else, a
// record out of place, or fewer leaves than (or a root different from) the last
// signed checkpoint puts the log in the integrity-alarm state, which refuses appends
// and signing and repairs nothing.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/record/record.pb.h"
#include "controlplane/evidence/store/store_checkpoint.h"
#include "controlplane/evidence/store/store_env.h"

namespace xborder::evidence {

// Signs a checkpoint body, returning the whole signed note (evidence/crypto signNote).
using NoteSigner = std::function<absl::StatusOr<std::string>(std::string_view body)>;
// Verifies a signed note with the log's own public keys, returning its body.
using NoteVerifier = std::function<absl::StatusOr<std::string>(std::string_view note)>;

struct LogOptions {
  std::string dir;
  std::string origin;                                // create: required; open: checked if set
  HashAlg hash = HashAlg::kSha256;                   // create only (open reads LOG)
  uint64_t segment_bytes = uint64_t{64} << 20;       // create only
  std::chrono::microseconds group_commit_interval{0};  // leader waits this long for company
  size_t group_commit_records = 1024;                // ...or until this many are queued
  NoteVerifier checkpoint_verifier;                  // recovery checks stored checkpoints with it
  NoteSigner checkpoint_signer;                      // enables automatic checkpoints
  uint64_t checkpoint_every_records = 0;             // automatic: after this many new records
  std::chrono::milliseconds checkpoint_every{0};     // automatic: or after this long
  // Free-space watermark (EVIDENCE.md §4.2 "degrade early"): a new segment is not
  // started if it would leave less than this free, and intake stops instead, keeping
  // room for the control plane's alarm and anchor state. 0 disables.
  uint64_t min_free_bytes = 0;
  Env* env = nullptr;                                // Env::posix() if null
};

enum class LogState { kOpen, kIntakeStopped, kIntegrityAlarm };
std::string_view logStateName(LogState state);

struct Checkpoint {
  uint64_t size = 0;
  Hash root{};
  std::string note;  // the signed note, verbatim
};

struct RecoveryInfo {
  bool truncated = false;
  std::string reason;           // "torn-tail" or "stale-tail"
  std::string segment;
  uint64_t offset = 0;          // truncated at
  uint64_t removedBytes = 0;    // non-zero bytes cut
  std::string quarantineFile;   // under <dir>/quarantine/
  uint64_t recoveredSize = 0;
  std::optional<uint64_t> recordIndex;  // the RECOVERY record written for it
};

class Log {
 public:
  static absl::StatusOr<std::unique_ptr<Log>> create(const LogOptions& options);
  static absl::StatusOr<std::unique_ptr<Log>> open(const LogOptions& options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends serialized EvidenceRecord bytes whose index must be the next leaf and whose
  // origin must be this log's. Returns the index once the record is synced.
  absl::StatusOr<uint64_t> append(std::string_view recordBytes);
  // Sets format_version, index, origin (and observed time if 0), then appends.
  absl::StatusOr<uint64_t> appendRecord(v1::EvidenceRecord record);
  // Several records, one sync; returns the first index.
  absl::StatusOr<uint64_t> appendBatch(std::span<const std::string> records);

  uint64_t size() const;  // synced (acknowledged) leaves
  absl::StatusOr<Hash> root(uint64_t size) const;
  absl::StatusOr<std::vector<Hash>> inclusionProof(uint64_t index, uint64_t size) const;
  absl::StatusOr<std::vector<Hash>> consistencyProof(uint64_t size1, uint64_t size2) const;
  absl::StatusOr<CompactRange> compactRange(uint64_t size) const;
  absl::StatusOr<std::string> readRecord(uint64_t index) const;
  // The exact frames of [from, to), as a bundle's records/<from>-<to>.frames holds them.
  absl::StatusOr<std::string> readFrames(uint64_t from, uint64_t to) const;

  // Signs the body over every synced record via `sign`, checks the note, and stores it
  // under compare-and-swap. Refused in the alarm and intake-stopped states. If nothing
  // was added since the last checkpoint it returns that one.
  absl::StatusOr<Checkpoint> publishCheckpoint(const NoteSigner& sign);
  std::optional<Checkpoint> latestCheckpoint() const;
  std::vector<Checkpoint> checkpoints() const;  // every published one, by size

  LogState state() const;
  std::string alarm() const;            // why the integrity alarm is raised ("" if not)
  absl::Status intakeStopReason() const;
  const RecoveryInfo& recovery() const { return recovery_; }
  absl::Status lastAutoCheckpointError() const;

  const std::string& origin() const { return meta_.origin; }
  HashAlg hashAlg() const { return meta_.hash; }
  const std::string& dir() const { return options_.dir; }

 private:
  struct Segment {
    uint64_t first = 0;
    std::string name;
    std::vector<uint64_t> offsets;  // frame offsets in the file
    uint64_t end = kSegmentStart;   // end of the last frame
    static constexpr uint64_t kSegmentStart = 64;
  };
  struct Written {
    uint64_t segFirst;
    uint64_t offset;
    uint64_t end;
    Hash leaf;
  };
  struct BatchResult {
    std::vector<Written> written;  // synced, in order
    absl::Status status;
  };

  Log(LogOptions options, LogMeta meta, std::unique_ptr<FileLock> lock);
  absl::Status recover();
  void raiseAlarm(std::string why);
  absl::Status loadCheckpoints();
  absl::Status intakeCheckLocked() const;
  // `make` runs under the lock with the first index the records will get.
  using RecordMaker = std::function<absl::StatusOr<std::vector<std::string>>(uint64_t first)>;
  absl::StatusOr<uint64_t> enqueueAndWait(const RecordMaker& make);
  BatchResult writeBatch(std::vector<std::string>& batch, uint64_t first);
  absl::Status writeAndSync(std::string& buf, size_t records, std::vector<Written>& staged,
                            BatchResult& result);
  absl::Status roll(uint64_t firstIndex);
  void maybeAutoCheckpoint();
  std::string path(std::string_view name) const { return options_.dir + "/" + std::string(name); }
  absl::Status checkRecordSize(size_t size) const;

  LogOptions options_;
  LogMeta meta_;
  Env* env_;
  std::unique_ptr<FileLock> lock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  MerkleTree tree_;                 // guarded by mu_, synced leaves only
  std::vector<Segment> segments_;   // guarded by mu_
  std::vector<std::string> pending_;
  uint64_t nextIndex_ = 0;          // next index to hand out
  uint64_t durable_ = 0;            // synced leaves
  bool committing_ = false;
  LogState state_ = LogState::kOpen;
  std::string alarm_;
  absl::Status stopReason_;
  std::optional<Checkpoint> latest_;
  std::vector<Checkpoint> history_;
  std::string seenCheckpointFile_;  // content of <dir>/checkpoint as this writer last saw it
  RecoveryInfo recovery_;

  // Leader-only (one committing_ thread at a time).
  Hasher writeHasher_;
  std::unique_ptr<File> current_;
  uint64_t currentFirst_ = 0;
  std::string currentName_;
  uint64_t currentOffset_ = 0;

  // Read handles per segment, so readRecord in a loop (export) costs one pread each.
  absl::StatusOr<std::string> readRange(const std::string& name, uint64_t begin, uint64_t end) const;
  mutable std::mutex readMu_;
  mutable std::map<std::string, std::shared_ptr<File>> readers_;

  mutable std::mutex checkpointMu_;  // serialises publishCheckpoint
  uint64_t lastCheckpointSize_ = 0;
  int64_t lastCheckpointNanos_ = 0;
  absl::Status autoCheckpointError_;
};

}  // namespace xborder::evidence
