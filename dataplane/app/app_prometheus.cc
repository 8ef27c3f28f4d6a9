#include "dataplane/app/app_prometheus.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xborder::dp::app {
namespace {

uint64_t nowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void sendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // the scraper went away; nothing to recover
    }
    off += static_cast<size_t>(n);
  }
}

constexpr uint64_t kRequestTimeoutMs = 2000;
constexpr size_t kMaxConns = 16;
constexpr size_t kMaxRequest = 8192;

}  // namespace

PrometheusServer::~PrometheusServer() {
  for (Conn& c : conns_) {
    ::close(c.fd);
  }
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
  }
}

absl::Status PrometheusServer::start(const std::string& addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("prometheus: bad IPv4 address '", addr, "'"));
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("prometheus: socket: ", std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, 16) != 0) {
    const int e = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("prometheus: cannot listen on ", addr, ":", port, ": ", std::strerror(e)));
  }
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  listen_fd_ = fd;
  return absl::OkStatus();
}

void PrometheusServer::poll(int timeout_ms, const std::function<std::string()>& render) {
  if (listen_fd_ < 0) {
    return;
  }
  std::vector<pollfd> fds;
  fds.push_back({listen_fd_, POLLIN, 0});
  for (const Conn& c : conns_) {
    fds.push_back({c.fd, POLLIN, 0});
  }
  if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) {
    return;
  }
  const uint64_t now = nowMs();
  for (size_t i = 1; i < fds.size(); ++i) {
    Conn& c = conns_[i - 1];
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[2048];
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos ||
          c.in.size() > kMaxRequest) {
        serve(c, render);
      }
    } else if (now > c.deadline_ms) {
      ::close(c.fd);
      c.fd = -1;
    }
  }
  std::erase_if(conns_, [](const Conn& c) { return c.fd < 0; });
  if (fds[0].revents & POLLIN) {
    for (;;) {
      const int cfd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (cfd < 0) {
        break;
      }
      if (conns_.size() >= kMaxConns) {
        ::close(cfd);
        continue;
      }
      // Blocking socket with a send timeout: a scrape body is a few tens of KB.
      timeval tv{1, 0};
      ::setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      conns_.push_back({cfd, {}, now + kRequestTimeoutMs});
    }
  }
}

void PrometheusServer::serve(Conn& c, const std::function<std::string()>& render) {
  const size_t sp1 = c.in.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? sp1 : c.in.find(' ', sp1 + 1);
  const std::string method = c.in.substr(0, sp1);
  const std::string path =
      sp2 == std::string::npos ? std::string() : c.in.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string resp;
  if (method == "GET" && (path == "/metrics" || path == "/")) {
    const std::string body = render();
    resp = absl::StrCat("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n",
                        "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
  } else {
    const std::string body = "not found: try /metrics\n";
    resp = absl::StrCat("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: ",
                        body.size(), "\r\nConnection: close\r\n\r\n", body);
  }
  sendAll(c.fd, resp);
  ::close(c.fd);
  c.fd = -1;
}

void PrometheusText::add(std::string_view name, std::string_view labels, uint64_t value,
                         std::string_view type) {
  Metric* m = nullptr;
  for (Metric& x : metrics_) {
    if (x.name == name) {
      m = &x;
      break;
    }
  }
  if (m == nullptr) {
    metrics_.push_back({std::string(name), std::string(type), {}});
    m = &metrics_.back();
  }
  // Debian's Abseil has its own string_view type: pass std::string.
  const std::string n(name), l(labels);
  m->samples.push_back(l.empty() ? absl::StrCat(n, " ", value)
                                 : absl::StrCat(n, "{", l, "} ", value));
}

std::string PrometheusText::str() const {
  std::string out;
  for (const Metric& m : metrics_) {
    absl::StrAppend(&out, "# TYPE ", m.name, " ", m.type, "\n");
    for (const std::string& s : m.samples) {
      absl::StrAppend(&out, s, "\n");
    }
  }
  return out;
}

}  // namespace xborder::dp::app
