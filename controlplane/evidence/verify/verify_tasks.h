#pragma once
// A small task pool for the verifier: a few threads take queued tasks in order, and
// the thread that waits for a group of tasks runs queued ones meanwhile, so n cores
// need n - 1 extra threads. Tasks are a few dozen per verification (file digests,
// record chunks of 16384 records), so one mutex is all the synchronisation needed.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xborder::evidence::verify {

class TaskPool {
 public:
  // Starts up to `extra_threads` threads (fewer if the system has none to give).
  explicit TaskPool(unsigned extra_threads);
  ~TaskPool();  // drops tasks not yet started, waits for running ones
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void add(int group, std::function<void()> task);
  // Returns when every task of `group` added so far has run; runs queued tasks on
  // this thread while it waits (that group's first, then any).
  void wait(int group);
  // Drops queued tasks (and any added from now on) and waits for running ones (after
  // a failed step).
  void cancel();

 private:
  struct Task {
    int group;
    std::function<void()> fn;
  };
  void runOne(std::unique_lock<std::mutex>& lock, size_t at);
  size_t pending(int group) const;

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Task> queue_;
  std::vector<size_t> outstanding_;  // per group: queued or running
  bool stop_ = false;
  bool cancelled_ = false;
  std::vector<std::jthread> threads_;
};

}  // namespace xborder::evidence::verify
