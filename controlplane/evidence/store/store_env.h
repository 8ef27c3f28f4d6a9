#pragma once
// The file layer the store writes through. PosixEnv is the real one; tests put a
// fault-injecting Env underneath (lost unsynced writes, torn writes, ENOSPC, EIO),
// the approach of LevelDB's fault_injection_test and RocksDB's FaultInjectionTestFS.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xborder::evidence {

// Error mapping: ENOSPC -> kResourceExhausted, EIO on sync -> kDataLoss (the store
// treats any sync error as fatal), missing file -> kNotFound.
class File {
 public:
  virtual ~File() = default;
  // Writes all of `data` or returns an error; after an error part of it may be written.
  virtual absl::Status writeAt(uint64_t offset, std::string_view data) = 0;
  // Reads up to `size` bytes (fewer at end of file).
  virtual absl::StatusOr<std::string> readAt(uint64_t offset, size_t size) = 0;
  virtual absl::Status sync() = 0;  // fdatasync
  virtual absl::Status truncate(uint64_t size) = 0;
  // Reserves [offset, offset+size) with zeros (fallocate); kUnimplemented if the file
  // system cannot, in which case the caller goes on without preallocation.
  virtual absl::Status allocate(uint64_t offset, uint64_t size) = 0;
  virtual absl::StatusOr<uint64_t> size() = 0;
};

// An exclusive, advisory, non-blocking lock held while the object lives (flock).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  static Env* posix();  // process-wide

  virtual absl::StatusOr<std::unique_ptr<File>> openFile(const std::string& path, bool create) = 0;
  virtual absl::StatusOr<std::string> readFile(const std::string& path) = 0;
  virtual absl::StatusOr<std::vector<std::string>> listDir(const std::string& dir) = 0;
  virtual absl::Status createDir(const std::string& dir) = 0;  // ok if it exists
  virtual absl::Status rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status remove(const std::string& path) = 0;
  virtual absl::Status syncDir(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;
  // kFailedPrecondition if another holder has it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> lockFile(const std::string& path) = 0;
  virtual int64_t nowUnixNanos() = 0;
  // Bytes an unprivileged writer can still allocate on the file system holding `dir`
  // (statvfs f_bavail); environments that cannot tell return UINT64_MAX.
  virtual absl::StatusOr<uint64_t> freeBytes(const std::string& dir) { return UINT64_MAX; }
};

// tmp file, write, fsync, rename, fsync(dir): the file is either old or new after a crash.
absl::Status writeFileAtomic(Env& env, const std::string& dir, const std::string& name,
                             std::string_view data);

}  // namespace xborder::evidence
