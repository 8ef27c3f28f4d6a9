#include "controlplane/evidence/bundle/bundle_tar_writer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"

namespace xborder::evidence::bundle {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kFileBuffer = size_t{1} << 20;
constexpr uint64_t kMaxUstarSize = uint64_t{1} << 33;

// The header layout below repeats writeTar's (bundle_tar.cc, another helper's file,
// kept as is): bundle_export_stream_test checks both give the same bytes.
void putOctal(char* field, size_t width, uint64_t value) {
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
}

const EVP_MD* md(StreamDigest::Alg alg) {
  // Fetched once: the implicit fetch per EVP_DigestInit is slow on OpenSSL 3.0.
  static EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* sm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
  return alg == StreamDigest::Alg::kSha256 ? sha : sm3;
}

std::string errnoText() { return std::strerror(errno); }

}  // namespace

StreamDigest::StreamDigest(Alg alg) : alg_(alg), ctx_(EVP_MD_CTX_new()) {
  // Without SHA-256/SM3 in the default provider finish() returns "", which fails the
  // manifest check downstream; nothing here can be trusted then anyway.
  if (ctx_ != nullptr && md(alg_) != nullptr) EVP_DigestInit_ex(ctx_, md(alg_), nullptr);
}

StreamDigest::~StreamDigest() { EVP_MD_CTX_free(ctx_); }

void StreamDigest::update(std::string_view bytes) {
  if (ctx_ != nullptr && !bytes.empty()) EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

std::string StreamDigest::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (ctx_ == nullptr || md(alg_) == nullptr || EVP_DigestFinal_ex(ctx_, out, &n) != 1) return std::string();
  EVP_DigestInit_ex(ctx_, md(alg_), nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

// ---- AtomicFileSink ----

absl::StatusOr<std::unique_ptr<AtomicFileSink>> AtomicFileSink::create(const std::string& path, int mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ", errnoText()));
  return std::unique_ptr<AtomicFileSink>(new AtomicFileSink(path, std::move(tmp), fd));
}

AtomicFileSink::AtomicFileSink(std::string path, std::string tmp, int fd)
    : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {
  buf_.reserve(kFileBuffer);
}

AtomicFileSink::~AtomicFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

absl::Status AtomicFileSink::flush() {
  size_t off = 0;
  while (off < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError(absl::StrCat("cannot write ", tmp_, ": ", errnoText()));
    off += static_cast<size_t>(n);
  }
  buf_.clear();
  return absl::OkStatus();
}

absl::Status AtomicFileSink::write(std::string_view bytes) {
  if (fd_ < 0) return absl::FailedPreconditionError("write after commit");
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kFileBuffer - buf_.size());
    buf_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (buf_.size() == kFileBuffer) {
      if (auto s = flush(); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status AtomicFileSink::commit() {
  if (fd_ < 0) return absl::FailedPreconditionError("commit twice");
  if (auto s = flush(); !s.ok()) return s;
  int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    std::string why = errnoText();
    ::close(fd);
    return absl::DataLossError(absl::StrCat("cannot sync ", tmp_, ": ", why));
  }
  if (::close(fd) != 0) return absl::DataLossError(absl::StrCat("cannot close ", tmp_, ": ", errnoText()));
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp_, " to ", path_, ": ", errnoText()));
  }
  committed_ = true;
  std::string dir = std::filesystem::path(path_).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return absl::InternalError(absl::StrCat("cannot open ", dir, ": ", errnoText()));
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return absl::DataLossError(absl::StrCat("cannot sync directory ", dir));
  return absl::OkStatus();
}

// ---- TarWriter ----

absl::Status TarWriter::emit(std::string_view bytes) {
  digest_.update(bytes);
  written_ += bytes.size();
  return sink_.write(bytes);
}

absl::Status TarWriter::header(std::string_view path, char type, uint64_t size) {
  if (finished_) return absl::FailedPreconditionError("tar: entry after the end of the archive");
  if (in_file_) return absl::FailedPreconditionError("tar: previous file not ended");
  if (any_ && !(last_path_ < path)) {
    return absl::InvalidArgumentError(absl::StrCat("tar: entries out of order: '", av(path), "' after '",
                                                   last_path_, "'"));
  }
  if (size >= kMaxUstarSize) {
    // 11 octal digits; readTar takes no GNU base-256 sizes, so a bigger file is refused.
    return absl::OutOfRangeError(absl::StrCat("tar: '", av(path), "' is ", size,
                                              " bytes, over the ustar limit of 8 GiB; export a smaller range"));
  }
  std::string_view name = path, prefix;
  if (name.size() > 100) {
    // Split at the last '/' so the name fits in 100 and the prefix in 155.
    size_t cut = name.rfind('/', name.size() - 1);
    if (cut != std::string_view::npos && name.size() - cut - 1 > 100) cut = std::string_view::npos;
    if (cut == std::string_view::npos || cut > 155) {
      return absl::InvalidArgumentError(absl::StrCat("tar: path too long: ", av(path)));
    }
    prefix = name.substr(0, cut);
    name = name.substr(cut + 1);
  }
  char h[kBlock];
  std::memset(h, 0, sizeof(h));
  std::memcpy(h, name.data(), name.size());
  putOctal(h + 100, 8, type == '5' ? 0755 : 0644);
  putOctal(h + 108, 8, 0);
  putOctal(h + 116, 8, 0);
  putOctal(h + 124, 12, size);
  putOctal(h + 136, 12, 0);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 265, "root", 4);
  std::memcpy(h + 297, "root", 4);
  std::memcpy(h + 345, prefix.data(), prefix.size());
  uint32_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  putOctal(h + 148, 7, sum);
  h[155] = ' ';
  last_path_.assign(path);
  any_ = true;
  return emit(std::string_view(h, kBlock));
}

absl::Status TarWriter::addDirectory(std::string_view path) { return header(path, '5', 0); }

absl::Status TarWriter::addFile(std::string_view path, std::string_view data) {
  if (auto s = beginFile(path, data.size()); !s.ok()) return s;
  if (auto s = append(data); !s.ok()) return s;
  return endFile();
}

absl::Status TarWriter::beginFile(std::string_view path, uint64_t size) {
  if (auto s = header(path, '0', size); !s.ok()) return s;
  in_file_ = true;
  file_size_ = size;
  file_done_ = 0;
  return absl::OkStatus();
}

absl::Status TarWriter::append(std::string_view bytes) {
  if (!in_file_) return absl::FailedPreconditionError("tar: append outside a file");
  if (bytes.size() > file_size_ - file_done_) {
    return absl::OutOfRangeError(absl::StrCat("tar: '", last_path_, "' is longer than its declared ", file_size_,
                                              " bytes"));
  }
  file_done_ += bytes.size();
  return emit(bytes);
}

absl::Status TarWriter::endFile() {
  if (!in_file_) return absl::FailedPreconditionError("tar: endFile outside a file");
  if (file_done_ != file_size_) {
    return absl::OutOfRangeError(absl::StrCat("tar: '", last_path_, "' has ", file_done_, " of its declared ",
                                              file_size_, " bytes"));
  }
  in_file_ = false;
  static constexpr char kZeros[kBlock] = {};
  return emit(std::string_view(kZeros, (kBlock - file_size_ % kBlock) % kBlock));
}

absl::Status TarWriter::finish() {
  if (in_file_) return absl::FailedPreconditionError("tar: finish inside a file");
  if (finished_) return absl::FailedPreconditionError("tar: finished twice");
  finished_ = true;
  static constexpr char kZeros[2 * kBlock] = {};
  return emit(std::string_view(kZeros, sizeof(kZeros)));
}

}  // namespace xborder::evidence::bundle
