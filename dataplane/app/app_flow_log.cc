#include "dataplane/app/app_flow_log.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <cstring>

namespace xborder::dp::app {

std::unique_ptr<WorkerFlowLog> WorkerFlowLog::create(unsigned worker, uint32_t buffer_bytes,
                                                     unsigned buffers, uint64_t max_age_tsc,
                                                     std::string* error) {
  std::unique_ptr<WorkerFlowLog> log(new WorkerFlowLog());
  log->max_age_tsc_ = max_age_tsc;
  unsigned ring_size = 2;
  while (ring_size <= buffers) {
    ring_size <<= 1;  // a ring holds size-1 entries
  }
  const std::string base = "xb_flog" + std::to_string(worker);
  log->full_ = rte_ring_create((base + "f").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
  log->free_ = rte_ring_create((base + "e").c_str(), ring_size, static_cast<int>(rte_socket_id()),
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (log->full_ == nullptr || log->free_ == nullptr) {
    *error = std::string("flow log ring: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  for (unsigned i = 0; i < buffers; ++i) {
    auto b = std::make_unique<LogBuffer>();
    b->data.reset(new char[buffer_bytes]);
    b->cap = buffer_bytes;
    log->returnFree(b.get());
    log->owned_.push_back(std::move(b));
  }
  return log;
}

WorkerFlowLog::~WorkerFlowLog() {
  rte_ring_free(full_);
  rte_ring_free(free_);
}

bool WorkerFlowLog::takeFree() noexcept {
  void* p = nullptr;
  while (rte_ring_sc_dequeue(free_, &p) != 0) {
    if (!blocking_) {
      return false;
    }
    rte_pause();  // shutdown only: the main lcore is draining
  }
  cur_ = static_cast<LogBuffer*>(p);
  cur_->len = 0;
  cur_->opened_tsc = 0;
  return true;
}

void WorkerFlowLog::handOff() noexcept {
  if (cur_ == nullptr || cur_->len == 0) {
    return;
  }
  // The full ring holds every buffer this worker owns, so the enqueue cannot fail.
  rte_ring_sp_enqueue(full_, cur_);
  cur_ = nullptr;
}

void WorkerFlowLog::onFlowRecord(std::string_view json_line) noexcept {
  const size_t need = json_line.size() + 1;
  if (cur_ != nullptr && cur_->cap - cur_->len < need) {
    handOff();
  }
  if (cur_ == nullptr && !takeFree()) {
    lost_.add();
    return;
  }
  if (cur_->cap - cur_->len < need) {
    lost_.add();  // a single line larger than a whole buffer
    return;
  }
  if (cur_->len == 0) {
    cur_->opened_tsc = rte_rdtsc();
  }
  std::memcpy(cur_->data.get() + cur_->len, json_line.data(), json_line.size());
  cur_->data[cur_->len + json_line.size()] = '\n';
  cur_->len += static_cast<uint32_t>(need);
  lines_.add();
  bytes_.add(need);
}

void WorkerFlowLog::poll(uint64_t now_tsc) noexcept {
  if (cur_ != nullptr && cur_->len > 0 && now_tsc - cur_->opened_tsc > max_age_tsc_) {
    handOff();
  }
}

void WorkerFlowLog::flush() noexcept { handOff(); }

LogBuffer* WorkerFlowLog::dequeueFull() noexcept {
  void* p = nullptr;
  if (rte_ring_sc_dequeue(full_, &p) != 0) {
    return nullptr;
  }
  return static_cast<LogBuffer*>(p);
}

void WorkerFlowLog::returnFree(LogBuffer* b) noexcept { rte_ring_sp_enqueue(free_, b); }

}  // namespace xborder::dp::app
