#include "controlplane/evidence/verify/verify_tasks.h"

#include <system_error>

namespace xborder::evidence::verify {

TaskPool::TaskPool(unsigned extra_threads) {
  for (unsigned i = 0; i < extra_threads; ++i) {
    try {
      threads_.emplace_back([this] {
        std::unique_lock lock(mu_);
        while (true) {
          work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
          if (stop_) return;
          runOne(lock, 0);
        }
      });
    } catch (const std::system_error&) {
      break;  // no thread to be had: the waiting thread runs every task itself
    }
  }
}

TaskPool::~TaskPool() {
  cancel();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  threads_.clear();  // joins
}

void TaskPool::add(int group, std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;  // a running task adding more after cancel()
    if (outstanding_.size() <= static_cast<size_t>(group)) outstanding_.resize(group + 1, 0);
    ++outstanding_[group];
    queue_.push_back({group, std::move(task)});
  }
  work_cv_.notify_one();
}

// Called with the lock held and a task queued; runs it unlocked.
void TaskPool::runOne(std::unique_lock<std::mutex>& lock, size_t at) {
  Task t = std::move(queue_[at]);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(at));
  lock.unlock();
  t.fn();
  lock.lock();
  --outstanding_[t.group];
  done_cv_.notify_all();
}

size_t TaskPool::pending(int group) const {
  return static_cast<size_t>(group) < outstanding_.size() ? outstanding_[group] : 0;
}

void TaskPool::wait(int group) {
  std::unique_lock lock(mu_);
  while (pending(group) > 0) {
    if (!queue_.empty()) {
      // This group's own tasks first: a long task of another group (SM3 of a big
      // file) is better left to a pool thread.
      size_t at = 0;
      while (at < queue_.size() && queue_[at].group != group) ++at;
      runOne(lock, at == queue_.size() ? 0 : at);
    } else {
      done_cv_.wait(lock);
    }
  }
}

void TaskPool::cancel() {
  std::unique_lock lock(mu_);
  cancelled_ = true;
  for (const Task& t : queue_) --outstanding_[t.group];
  queue_.clear();
  done_cv_.wait(lock, [this] {
    for (size_t n : outstanding_) {
      if (n > 0) return false;
    }
    return true;
  });
}

}  // namespace xborder::evidence::verify
