#include "controlplane/evidence/verify/verify_input.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xborder::evidence::verify {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

bool sameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

BundleBytes::~BundleBytes() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

BundleBytes::BundleBytes(BundleBytes&& o) noexcept
    : path_(std::move(o.path_)), st_(o.st_), mapped_file_(o.mapped_file_), map_(o.map_), map_size_(o.map_size_),
      data_(o.data_), cap_(o.cap_), size_(o.size_) {
  o.map_ = nullptr;
  o.data_ = nullptr;
  o.map_size_ = o.cap_ = o.size_ = 0;
}

absl::Status BundleBytes::unchanged() const {
  if (!mapped_file_) return absl::OkStatus();  // read into memory: what was verified is what was read
  struct stat now {};
  if (::stat(path_.c_str(), &now) != 0 || !sameFile(now, st_)) {
    return absl::AbortedError(absl::StrCat(path_, " changed while it was being verified; verify a copy nobody writes to"));
  }
  return absl::OkStatus();
}

// Anonymous memory aligned to 2 MiB and marked for transparent huge pages.
bool BundleBytes::reserve(size_t cap) {
  const size_t len = (cap + kHugePage - 1) / kHugePage * kHugePage + kHugePage;
  void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return false;
  auto addr = reinterpret_cast<uintptr_t>(m);
  char* aligned = reinterpret_cast<char*>((addr + kHugePage - 1) / kHugePage * kHugePage);
  (void)::madvise(aligned, len - static_cast<size_t>(aligned - static_cast<char*>(m)), MADV_HUGEPAGE);
  if (size_ > 0) std::memcpy(aligned, data_, size_);
  if (map_ != nullptr) ::munmap(map_, map_size_);
  map_ = m;
  map_size_ = len;
  data_ = aligned;
  cap_ = cap;
  return true;
}

absl::StatusOr<BundleBytes> readBundleFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  BundleBytes out;
  out.path_ = path;
  if (::fstat(fd, &out.st_) == 0 && S_ISREG(out.st_.st_mode) && out.st_.st_size > 0) {
    const size_t size = static_cast<size_t>(out.st_.st_size);
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
      // Pages are faulted in by whichever task first reads them (several cores at
      // once), not up front on this thread; WILLNEED starts reading a cold file.
      (void)::madvise(m, size, MADV_WILLNEED);
      ::close(fd);
      out.mapped_file_ = true;
      out.map_ = m;
      out.map_size_ = size;
      out.data_ = static_cast<char*>(m);
      out.cap_ = out.size_ = size;
      return out;
    }
  }
  // Not mappable (a pipe, an empty or special file): read it to its end.
  absl::Status error;
  if (!out.reserve(size_t{1} << 20)) error = absl::ResourceExhaustedError(absl::StrCat("no memory to read ", path));
  while (error.ok()) {
    if (out.size_ == out.cap_ && !out.reserve(out.cap_ * 2)) {
      error = absl::ResourceExhaustedError(absl::StrCat("no memory to read ", path));
      break;
    }
    const ssize_t n = ::read(fd, out.data_ + out.size_, out.cap_ - out.size_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = absl::DataLossError(absl::StrCat("read error on ", path, ": ", std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    out.size_ += static_cast<size_t>(n);
  }
  ::close(fd);
  if (!error.ok()) return error;
  return out;
}

}  // namespace xborder::evidence::verify
