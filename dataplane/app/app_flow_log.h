// Flow log plumbing between workers and the main lcore.
//
// A worker never calls write(): its WorkerFlowLog appends each JSON line to a large
// buffer and, when the buffer is full (or older than kMaxAge), hands the buffer to the
// main lcore over an SP/SC rte_ring; the main lcore writes it to the file and returns
// the buffer on a second ring. No buffer free means the record is counted as lost,
// never waited for (except at shutdown, when the worker may wait: no packets flow).
// Lines of different workers interleave by buffer, each line stays whole.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/base/counters.h"
#include "dataplane/engine/engine.h"

struct rte_ring;

namespace xborder::dp::app {

struct LogBuffer {
  std::unique_ptr<char[]> data;
  uint32_t cap = 0;
  uint32_t len = 0;
  uint64_t opened_tsc = 0;  // when the first line went in
};

class WorkerFlowLog final : public FlowLogSink {
 public:
  // Control path: buffers and rings are allocated here, never on the packet path.
  static std::unique_ptr<WorkerFlowLog> create(unsigned worker, uint32_t buffer_bytes,
                                               unsigned buffers, uint64_t max_age_tsc,
                                               std::string* error);
  ~WorkerFlowLog() override;

  void onFlowRecord(std::string_view json_line) noexcept override;
  // Worker, once per loop: hands off a partial buffer that has waited too long.
  void poll(uint64_t now_tsc) noexcept;
  // Worker, at shutdown: from now on wait for a free buffer rather than drop.
  void setBlocking(bool b) noexcept { blocking_ = b; }
  // Worker: hands off the current buffer whatever its fill.
  void flush() noexcept;

  // Main lcore: takes every full buffer, calls write_fn(data, len), returns the buffer.
  template <typename F>
  unsigned drain(F&& write_fn);

  uint64_t lines() const { return lines_.get(); }
  uint64_t bytes() const { return bytes_.get(); }
  uint64_t lost() const { return lost_.get(); }

 private:
  WorkerFlowLog() = default;
  bool takeFree() noexcept;
  void handOff() noexcept;
  LogBuffer* dequeueFull() noexcept;
  void returnFree(LogBuffer* b) noexcept;

  std::vector<std::unique_ptr<LogBuffer>> owned_;
  rte_ring* full_ = nullptr;  // worker -> main
  rte_ring* free_ = nullptr;  // main -> worker
  LogBuffer* cur_ = nullptr;
  uint64_t max_age_tsc_ = 0;
  bool blocking_ = false;
  RelaxedCounter lines_, bytes_, lost_;
};

template <typename F>
unsigned WorkerFlowLog::drain(F&& write_fn) {
  unsigned n = 0;
  while (LogBuffer* b = dequeueFull()) {
    write_fn(b->data.get(), b->len);
    b->len = 0;
    returnFree(b);
    ++n;
  }
  return n;
}

}  // namespace xborder::dp::app
