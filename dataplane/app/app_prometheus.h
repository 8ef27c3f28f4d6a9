// A tiny single-threaded HTTP/1.0 responder for Prometheus scrapes, run by the main
// lcore between its other chores (control path; poll(), no thread). GET /metrics (or /)
// answers with the text exposition; anything else is 404. One request per connection.
// Why not a library: Debian has no small embeddable HTTP server we already link
// (gRPC's is HTTP/2 only), and Prometheus needs a dozen lines of HTTP/1.0.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace xborder::dp::app {

class PrometheusServer {
 public:
  PrometheusServer() = default;
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // Binds addr:port (port 0 picks a free port; see port()).
  absl::Status start(const std::string& addr, uint16_t port);
  uint16_t port() const { return port_; }
  bool running() const { return listen_fd_ >= 0; }

  // Waits up to timeout_ms for activity and serves what is ready.
  void poll(int timeout_ms, const std::function<std::string()>& render);

 private:
  struct Conn {
    int fd = -1;
    std::string in;
    uint64_t deadline_ms = 0;
  };
  void serve(Conn& c, const std::function<std::string()>& render);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<Conn> conns_;
};

// Builds a text exposition: one # TYPE line per metric name, then its samples.
class PrometheusText {
 public:
  void add(std::string_view name, std::string_view labels, uint64_t value,
           std::string_view type = "counter");
  std::string str() const;

 private:
  struct Metric {
    std::string name, type;
    std::vector<std::string> samples;
  };
  std::vector<Metric> metrics_;
};

}  // namespace xborder::dp::app
