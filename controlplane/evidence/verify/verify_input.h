#pragma once
// Reading a bundle file for the verifier without copying it: a regular file is mapped
// read-only (the page cache's own pages: no copy and no zeroing, which on a 3 GB
// bundle is most of the kernel time a read() costs). Because a mapping is not a
// snapshot, unchanged() tells whether the file was modified, replaced or truncated
// while it was being verified; the caller then refuses the result. Anything that is
// not a regular file (a pipe) is read into memory instead.
#include <sys/stat.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xborder::evidence::verify {

class BundleBytes {
 public:
  BundleBytes() = default;
  BundleBytes(BundleBytes&& other) noexcept;
  BundleBytes& operator=(BundleBytes&&) = delete;
  ~BundleBytes();
  std::string_view view() const { return std::string_view(data_, size_); }
  // OK if the file still has the identity, size and times it had when it was opened.
  absl::Status unchanged() const;

 private:
  friend absl::StatusOr<BundleBytes> readBundleFile(const std::string& path);
  bool reserve(size_t cap);  // for non-regular files; keeps the bytes read so far

  std::string path_;
  struct stat st_ {};
  bool mapped_file_ = false;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  char* data_ = nullptr;
  size_t cap_ = 0, size_ = 0;
};

absl::StatusOr<BundleBytes> readBundleFile(const std::string& path);

}  // namespace xborder::evidence::verify
