// The local control endpoint of xborder-dataplane: a unix stream socket on which one
// request line gets one reply line (docs/deployment.md section 13). Served from the
// main lcore's chore loop (non-blocking accept), never from a worker. No DPDK include.
//
//   reload [PATH]  -> "OK version <sha256> switch_ms <ms> workers <n>" | "ERROR <reason>"
//   status         -> "OK version <sha256> swaps <n> failed <n>"
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xborder::dp::app {

class ControlServer {
 public:
  ControlServer() = default;
  ~ControlServer() { stop(); }
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the parent directory if needed. A socket file nobody answers on (left by a
  // crash) is replaced; one a live process answers on is refused.
  absl::Status start(const std::string& path);
  // Serves the connections waiting now (bounded: a client gets 1 s to send its line).
  // handler(request line without newline) -> reply line without newline.
  void poll(const std::function<std::string(std::string_view)>& handler);
  void stop();
  bool running() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Client side (xborder-dataplane-ctl, tests): sends one line, returns the reply line.
absl::StatusOr<std::string> controlRequest(const std::string& path, std::string_view line,
                                           int timeout_ms);

}  // namespace xborder::dp::app
