#include "dataplane/app/app_control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace xborder::dp::app {
namespace {

constexpr size_t kMaxLine = 4096;

bool fillAddr(const std::string& path, sockaddr_un* a) {
  std::memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  if (path.size() >= sizeof(a->sun_path)) return false;
  std::memcpy(a->sun_path, path.data(), path.size());
  return true;
}

int64_t msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
      .count();
}

// Reads up to the first newline within timeout_ms. false on timeout, EOF without a
// newline (a line without newline at EOF is accepted), or an error.
bool readLine(int fd, int timeout_ms, std::string* out) {
  const auto t0 = std::chrono::steady_clock::now();
  char buf[512];
  while (out->size() < kMaxLine) {
    const int64_t left = timeout_ms - msSince(t0);
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return false;
    if (n == 0) return !out->empty();
    out->append(buf, static_cast<size_t>(n));
    if (const size_t nl = out->find('\n'); nl != std::string::npos) {
      out->resize(nl);
      return true;
    }
  }
  return false;
}

void writeAll(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

absl::Status ControlServer::start(const std::string& path) {
  sockaddr_un a;
  if (!fillAddr(path, &a)) {
    return absl::InvalidArgumentError(absl::StrCat("control socket ", path, ": path too long"));
  }
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("control socket ", path, ": exists and is not a socket"));
    }
    if (controlRequest(path, "status", 200).ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "control socket ", path, ": another xborder-dataplane answers on it (control.socket)"));
    }
    ::unlink(path.c_str());  // left behind by a process that died
  }
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    return absl::InternalError(absl::StrCat("control socket: ", std::strerror(errno)));
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd_, 8) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    return absl::InternalError(absl::StrCat("control socket ", path, ": ", std::strerror(e)));
  }
  ::chmod(path.c_str(), 0600);  // root's command: reload changes what is enforced
  path_ = path;
  return absl::OkStatus();
}

void ControlServer::poll(const std::function<std::string(std::string_view)>& handler) {
  if (fd_ < 0) return;
  for (int served = 0; served < 8; ++served) {
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;  // EAGAIN: nobody waiting
    std::string line;
    if (readLine(c, 1000, &line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string reply = handler(line);
      reply.push_back('\n');
      writeAll(c, reply);
    } else {
      writeAll(c, "ERROR no request line within 1 s\n");
    }
    ::close(c);
  }
}

void ControlServer::stop() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
  }
}

absl::StatusOr<std::string> controlRequest(const std::string& path, std::string_view line,
                                           int timeout_ms) {
  sockaddr_un a;
  if (!fillAddr(path, &a)) return absl::InvalidArgumentError(absl::StrCat(path, ": path too long"));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    const int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", path, ": ", std::strerror(e)));
  }
  std::string req(line);
  req.push_back('\n');
  writeAll(fd, req);
  std::string reply;
  const bool ok = readLine(fd, timeout_ms, &reply);
  ::close(fd);
  if (!ok) {
    return absl::DeadlineExceededError(
        absl::StrCat("no reply from ", path, " within ", timeout_ms, " ms"));
  }
  return reply;
}

}  // namespace xborder::dp::app
