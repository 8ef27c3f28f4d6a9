// The verifier's task pool: a waiter sees every task of its group done, helps run
// queued tasks (so no threads at all still works), tasks may add tasks, and cancel()
// drops what has not started.
#include "controlplane/evidence/verify/verify_tasks.h"

#include <atomic>

#include "gtest/gtest.h"

namespace xborder::evidence::verify {
namespace {

TEST(TaskPoolTest, WaitSeesEveryTaskOfItsGroupOnAnyThreadCount) {
  for (unsigned extra : {0u, 1u, 3u}) {
    TaskPool pool(extra);
    std::atomic<int> a{0}, b{0};
    for (int i = 0; i < 50; ++i) {
      pool.add(0, [&] { a.fetch_add(1); });
      pool.add(1, [&] { b.fetch_add(1); });
    }
    pool.wait(0);
    EXPECT_EQ(a.load(), 50) << extra << " extra threads";
    pool.wait(1);
    EXPECT_EQ(b.load(), 50) << extra << " extra threads";
  }
}

TEST(TaskPoolTest, TasksMayAddTasks) {
  TaskPool pool(1);
  std::atomic<int> leaves{0};
  pool.add(0, [&] {
    for (int i = 0; i < 10; ++i) pool.add(1, [&] { leaves.fetch_add(1); });
  });
  pool.wait(0);  // the adder is done, so all ten are counted in group 1
  pool.wait(1);
  EXPECT_EQ(leaves.load(), 10);
}

TEST(TaskPoolTest, CancelDropsQueuedAndLaterTasks) {
  TaskPool pool(0);  // nothing runs until someone waits
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) pool.add(0, [&] { ran.fetch_add(1); });
  pool.cancel();
  pool.add(0, [&] { ran.fetch_add(1); });
  pool.wait(0);  // returns at once: nothing outstanding
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace xborder::evidence::verify
