#pragma once
// An in-memory Env that simulates a disk with a volatile write cache, for crash tests
// (after LevelDB's fault_injection_test and RocksDB's FaultInjectionTestFS):
// - file data written since the file's last sync, and directory entries changed since
//   the directory's last sync, are volatile;
// - crashAfterOps(n) freezes the disk after n more mutating operations: later
//   operations "succeed" without effect, as if the process kept running unaware;
// - powerCut(mode) then decides what of the volatile state survives: nothing, an
//   in-order prefix torn at a random byte or 512-byte sector boundary, or every dirty
//   sector independently (sector reordering, a lost sector reverts to its old bytes);
// - setCapacity() makes writes and preallocation beyond it fail with ENOSPC (after a
//   short write); failSyncAfter(n) makes the n-th next sync fail with EIO.
// Directories are assumed durable once created.
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "controlplane/evidence/store/store_env.h"

namespace xborder::evidence::testing {

class FaultEnv : public Env {
 public:
  enum class CutMode { kDropAll, kTornByte, kTornSector, kSectorReorder, kKeepAll };

  explicit FaultEnv(uint64_t seed) : rng_(seed) {}

  void setCapacity(uint64_t bytes) { capacity_ = bytes; }
  void setSupportsAllocate(bool on) { supportsAllocate_ = on; }
  void failSyncAfter(int n) { failSyncIn_ = n; }
  void crashAfterOps(int64_t n) { crashIn_ = n; }
  bool crashed() const { return crashed_; }
  // Applies the fault model, clears the freeze, and invalidates every open handle.
  void powerCut(CutMode mode);
  uint64_t usedBytes() const;
  std::string contents(const std::string& path) const;  // live view; "" if absent
  void overwrite(const std::string& path, const std::string& data);  // durable, for damage tests

  absl::StatusOr<std::unique_ptr<File>> openFile(const std::string& path, bool create) override;
  absl::StatusOr<std::string> readFile(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> listDir(const std::string& dir) override;
  absl::Status createDir(const std::string& dir) override;
  absl::Status rename(const std::string& from, const std::string& to) override;
  absl::Status remove(const std::string& path) override;
  absl::Status syncDir(const std::string& dir) override;
  bool exists(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileLock>> lockFile(const std::string& path) override;
  int64_t nowUnixNanos() override { return ++clock_; }
  absl::StatusOr<uint64_t> freeBytes(const std::string&) override {
    return capacity_ == UINT64_MAX ? UINT64_MAX : capacity_ - std::min(capacity_, usedBytes());
  }

 private:
  friend class FaultFile;
  friend class FaultLock;
  struct Op {
    enum Kind { kWrite, kTruncate } kind;
    uint64_t offset;
    std::string data;  // kWrite
    uint64_t size;     // kTruncate (new size)
  };
  struct Inode {
    std::string durable;
    std::string live;
    std::vector<Op> pending;
  };
  struct NsOp {
    enum Kind { kLink, kUnlink } kind;
    std::string path;
    std::shared_ptr<Inode> inode;
  };
  // True if this mutating operation should take effect (counts down to the freeze).
  bool mutate();
  void logNs(NsOp op);

  std::mt19937_64 rng_;
  std::map<std::string, std::shared_ptr<Inode>> live_;
  std::map<std::string, std::shared_ptr<Inode>> durable_;
  std::vector<NsOp> pendingNs_;
  std::set<std::string> dirs_{"/"};
  std::set<std::string> locks_;
  uint64_t capacity_ = UINT64_MAX;
  bool supportsAllocate_ = true;
  int failSyncIn_ = -1;
  int64_t crashIn_ = -1;
  bool crashed_ = false;
  uint64_t epoch_ = 0;
  int64_t clock_ = 1'700'000'000'000'000'000;
};

}  // namespace xborder::evidence::testing
