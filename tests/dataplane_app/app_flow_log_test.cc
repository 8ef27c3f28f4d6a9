// WorkerFlowLog: lines stay whole across buffer hand-offs, a full set of buffers is a
// counted loss (never a wait) while running, and a waiting flush at shutdown loses
// nothing while another thread drains. Needs EAL for rte_ring (--no-huge, no devices).
#include "dataplane/app/app_flow_log.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace xborder::dp::app {
namespace {

class FlowLogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static bool done = false;
    if (done) {
      return;
    }
    done = true;
    std::string prefix = "--file-prefix=xbt-flowlog-" + std::to_string(getpid());
    std::vector<std::string> args = {"app_flow_log_test", "--no-huge", "-m", "64", "--no-pci",
                                     "--no-telemetry", "-l", "0", "--log-level=lib.eal:error",
                                     prefix};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0);
  }

  static std::vector<std::string> splitLines(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n') {
        out.push_back(s.substr(start, i - start));
        start = i + 1;
      }
    }
    EXPECT_EQ(start, s.size()) << "output does not end with a newline";
    return out;
  }
};

TEST_F(FlowLogTest, LinesSurviveHandOffsWhole) {
  std::string err;
  auto log = WorkerFlowLog::create(100, 4096, 4, ~0ull, &err);
  ASSERT_NE(log, nullptr) << err;
  std::string written;
  std::vector<std::string> sent;
  for (int i = 0; i < 500; ++i) {
    sent.push_back("{\"flow\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 97, 'x') +
                   "\"}");
    log->onFlowRecord(sent.back());
    // The "main lcore" drains between records, so buffers come back.
    log->drain([&](const char* p, size_t n) { written.append(p, n); });
  }
  log->flush();
  log->drain([&](const char* p, size_t n) { written.append(p, n); });
  EXPECT_EQ(splitLines(written), sent);
  EXPECT_EQ(log->lines(), 500u);
  EXPECT_EQ(log->lost(), 0u);
}

TEST_F(FlowLogTest, NoFreeBufferIsACountedLossNotAWait) {
  std::string err;
  auto log = WorkerFlowLog::create(200, 1024, 2, ~0ull, &err);
  ASSERT_NE(log, nullptr) << err;
  const std::string line(300, 'a');
  for (int i = 0; i < 20; ++i) {
    log->onFlowRecord(line);  // nobody drains: 2 buffers of 3 lines each, then losses
  }
  EXPECT_EQ(log->lines(), 6u);
  EXPECT_EQ(log->lost(), 14u);
  std::string written;
  log->flush();
  log->drain([&](const char* p, size_t n) { written.append(p, n); });
  EXPECT_EQ(splitLines(written).size(), 6u);
}

TEST_F(FlowLogTest, LineLargerThanABufferIsLost) {
  std::string err;
  auto log = WorkerFlowLog::create(300, 1024, 2, ~0ull, &err);
  ASSERT_NE(log, nullptr) << err;
  log->onFlowRecord(std::string(2000, 'b'));
  log->onFlowRecord("{}");
  EXPECT_EQ(log->lost(), 1u);
  EXPECT_EQ(log->lines(), 1u);
}

TEST_F(FlowLogTest, OldPartialBufferIsHandedOff) {
  std::string err;
  auto log = WorkerFlowLog::create(400, 4096, 2, /*max_age_tsc=*/0, &err);
  ASSERT_NE(log, nullptr) << err;
  log->onFlowRecord("{\"a\":1}");
  std::string written;
  log->drain([&](const char* p, size_t n) { written.append(p, n); });
  EXPECT_TRUE(written.empty());  // still in the worker's current buffer
  log->poll(~0ull);              // older than max age: handed off
  log->drain([&](const char* p, size_t n) { written.append(p, n); });
  EXPECT_EQ(written, "{\"a\":1}\n");
}

TEST_F(FlowLogTest, BlockingShutdownLosesNothingWhileMainDrains) {
  std::string err;
  auto log = WorkerFlowLog::create(500, 2048, 2, ~0ull, &err);
  ASSERT_NE(log, nullptr) << err;
  std::atomic<bool> stop{false};
  std::string written;
  std::thread main_lcore([&] {
    while (!stop.load()) {
      log->drain([&](const char* p, size_t n) { written.append(p, n); });
    }
  });
  log->setBlocking(true);
  for (int i = 0; i < 2000; ++i) {
    log->onFlowRecord("{\"shutdown\":" + std::to_string(i) + "}");
  }
  log->flush();
  stop = true;
  main_lcore.join();
  log->drain([&](const char* p, size_t n) { written.append(p, n); });  // the last buffer
  EXPECT_EQ(log->lost(), 0u);
  EXPECT_EQ(splitLines(written).size(), 2000u);
}

}  // namespace
}  // namespace xborder::dp::app
