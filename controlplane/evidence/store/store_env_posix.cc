#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/store/store_env.h"

namespace xborder::evidence {
namespace {

absl::Status errnoStatus(std::string_view what, const std::string& path, int err) {
  const std::string msg = absl::StrCat(std::string(what), " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case ENOENT:
      return absl::NotFoundError(msg);
    case EOPNOTSUPP:
      return absl::UnimplementedError(msg);
    case EIO:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

class PosixFile : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  absl::Status writeAt(uint64_t offset, std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errnoStatus("write", path_, errno);
      }
      if (n == 0) return errnoStatus("write", path_, ENOSPC);
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> readAt(uint64_t offset, size_t size) override {
    std::string out(size, '\0');
    size_t got = 0;
    while (got < size) {
      const ssize_t n = ::pread(fd_, out.data() + got, size - got, static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errnoStatus("read", path_, errno);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
  }

  absl::Status sync() override {
    if (::fdatasync(fd_) != 0) return errnoStatus("fdatasync", path_, errno);
    return absl::OkStatus();
  }

  absl::Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return errnoStatus("ftruncate", path_, errno);
    return absl::OkStatus();
  }

  absl::Status allocate(uint64_t offset, uint64_t size) override {
    const int rc = ::posix_fallocate(fd_, static_cast<off_t>(offset), static_cast<off_t>(size));
    if (rc == EINVAL || rc == EOPNOTSUPP) return errnoStatus("fallocate", path_, EOPNOTSUPP);
    if (rc != 0) return errnoStatus("fallocate", path_, rc);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return errnoStatus("stat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixLock : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class PosixEnv : public Env {
 public:
  absl::StatusOr<std::unique_ptr<File>> openFile(const std::string& path, bool create) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0640);
    if (fd < 0) return errnoStatus("open", path, errno);
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  absl::StatusOr<std::string> readFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errnoStatus("open", path, errno);
    PosixFile f(fd, path);
    auto size = f.size();
    if (!size.ok()) return size.status();
    return f.readAt(0, *size);
  }

  absl::StatusOr<std::vector<std::string>> listDir(const std::string& dir) override {
    std::error_code ec;
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      out.push_back(e.path().filename().string());
    }
    if (ec) return errnoStatus("list", dir, ec.value());
    return out;
  }

  absl::Status createDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return errnoStatus("mkdir", dir, errno);
    return absl::OkStatus();
  }

  absl::Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return errnoStatus("rename", from, errno);
    return absl::OkStatus();
  }

  absl::Status remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errnoStatus("unlink", path, errno);
    return absl::OkStatus();
  }

  absl::Status syncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errnoStatus("open", dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return errnoStatus("fsync", dir, err);
    return absl::OkStatus();
  }

  bool exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  absl::StatusOr<std::unique_ptr<FileLock>> lockFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return errnoStatus("open", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(path, " is locked by another writer"));
      }
      return errnoStatus("flock", path, err);
    }
    return std::unique_ptr<FileLock>(new PosixLock(fd));
  }

  absl::StatusOr<uint64_t> freeBytes(const std::string& dir) override {
    struct statvfs st;
    if (::statvfs(dir.c_str(), &st) != 0) return errnoStatus("statvfs", dir, errno);
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }

  int64_t nowUnixNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Env* Env::posix() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

absl::Status writeFileAtomic(Env& env, const std::string& dir, const std::string& name,
                             std::string_view data) {
  const std::string tmp = dir + "/" + name + ".tmp";
  {
    auto f = env.openFile(tmp, true);
    if (!f.ok()) return f.status();
    if (auto s = (*f)->truncate(0); !s.ok()) return s;
    if (auto s = (*f)->writeAt(0, data); !s.ok()) return s;
    if (auto s = (*f)->sync(); !s.ok()) return s;
  }
  if (auto s = env.rename(tmp, dir + "/" + name); !s.ok()) return s;
  return env.syncDir(dir);
}

}  // namespace xborder::evidence
