#include "dataplane/evidence_sink/evidence_sink_ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controlplane/evidence/store/store_crc32c.h"

namespace xborder::dp::evidence_sink {
namespace {

// (absl here is built with its own string_view: std::string at its calls.)
const std::string kMagic = "xborder-loss-ledger v1\n";

absl::Status errnoError(const char* what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

absl::Status writeAll(int fd, const std::string& path, const char* data, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::pwrite(fd, data + off, n - off, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return errnoError("write", path, w < 0 ? errno : EIO);
    off += static_cast<size_t>(w);
  }
  if (::fdatasync(fd) != 0) return errnoError("fdatasync", path, errno);
  return absl::OkStatus();
}

std::string gapLine(const evidence::v1::GapEvent& g) {
  return absl::StrCat("gap ", absl::BytesToHexString(g.SerializeAsString()), "\n");
}

evidence::v1::EvidenceRecord gapRecord(const evidence::v1::GapEvent& g) {
  evidence::v1::EvidenceRecord r;
  r.set_type(evidence::v1::GAP);
  *r.mutable_gap() = g;
  return r;
}

}  // namespace

absl::StatusOr<LossLedger> LossLedger::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // Created through a temporary name so a crash never leaves a short file.
    const std::string tmp = path + ".new";
    fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return errnoError("create", tmp, errno);
    const std::string zeros(kBytes, '\0');
    if (absl::Status s = writeAll(fd, tmp, zeros.data(), zeros.size()); !s.ok()) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errnoError("rename", tmp, err);
    }
  } else if (fd < 0) {
    return errnoError("open", path, errno);
  }
  return LossLedger(fd, path);
}

LossLedger::LossLedger(LossLedger&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }

LossLedger& LossLedger::operator=(LossLedger&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

LossLedger::~LossLedger() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::vector<evidence::v1::EvidenceRecord>> LossLedger::read() const {
  std::string buf(kBytes, '\0');
  ssize_t n = ::pread(fd_, buf.data(), buf.size(), 0);
  if (n < 0) return errnoError("read", path_, errno);
  buf.resize(static_cast<size_t>(n));
  buf.resize(std::min(buf.size(), buf.find('\0')));
  std::vector<evidence::v1::EvidenceRecord> out;
  if (buf.empty()) return out;  // clean
  auto torn = [&](const char* why) {
    evidence::v1::GapEvent g;
    g.set_source(absl::StrCat("disk-full previous run: loss ledger ", path_, " unreadable (", why,
                              "): events were lost, their number is unknown"));
    out.assign(1, gapRecord(g));
    return out;
  };
  if (buf.compare(0, kMagic.size(), kMagic) != 0) return torn("no header");
  const size_t end = buf.rfind("end ");
  if (end == std::string::npos || end < kMagic.size() || buf.back() != '\n') return torn("no end line");
  const std::string body = buf.substr(0, end);
  const std::string want = absl::StrCat("end ", absl::Hex(evidence::crc32c(body), absl::kZeroPad8), "\n");
  if (buf.substr(end) != want) return torn("checksum");
  for (const absl::string_view piece : absl::StrSplit(body.substr(kMagic.size()), '\n', absl::SkipEmpty())) {
    const std::string line(piece);
    evidence::v1::GapEvent g;
    if (line.compare(0, 4, "gap ") != 0 || !g.ParseFromString(absl::HexStringToBytes(line.substr(4)))) {
      return torn("bad line");
    }
    out.push_back(gapRecord(g));
  }
  return out;
}

absl::Status LossLedger::write(const std::vector<evidence::v1::EvidenceRecord>& gaps) {
  constexpr size_t kEndLine = 4 + 8 + 1;
  std::string text;
  if (!gaps.empty()) {
    text = std::string(kMagic);
    for (const auto& r : gaps) text += gapLine(r.gap());
    if (text.size() + kEndLine > kBytes) {
      // More records than fit (many workers): one record for all, counts summed and
      // spans joined, so no loss goes uncounted.
      evidence::v1::GapEvent sum;
      sum.set_source(absl::StrCat("disk-full (", gaps.size(), " GAP records folded into one by the loss ledger)"));
      for (const auto& r : gaps) {
        const auto& g = r.gap();
        sum.set_lost_count(sum.lost_count() + g.lost_count());
        if (g.from_unix_nanos() != 0 && (sum.from_unix_nanos() == 0 || g.from_unix_nanos() < sum.from_unix_nanos())) {
          sum.set_from_unix_nanos(g.from_unix_nanos());
        }
        sum.set_to_unix_nanos(std::max(sum.to_unix_nanos(), g.to_unix_nanos()));
      }
      text = absl::StrCat(kMagic, gapLine(sum));
    }
    text += absl::StrCat("end ", absl::Hex(evidence::crc32c(text), absl::kZeroPad8), "\n");
  }
  text.resize(kBytes, '\0');
  return writeAll(fd_, path_, text.data(), text.size());
}

}  // namespace xborder::dp::evidence_sink
