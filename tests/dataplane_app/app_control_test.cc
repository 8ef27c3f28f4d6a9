// Control socket: one request line, one reply line; a live socket is not stolen; a
// stale one (no server) is replaced.
#include "dataplane/app/app_control.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

namespace xborder::dp::app {
namespace {

std::string sockPath(const char* name) {
  return ::testing::TempDir() + "/xb-ctl-" + std::to_string(::getpid()) + "-" + name + ".sock";
}

TEST(ControlServer, RequestGetsTheHandlersReply) {
  const std::string path = sockPath("a");
  ControlServer server;
  ASSERT_TRUE(server.start(path).ok());
  std::atomic<bool> done{false};
  absl::StatusOr<std::string> reply;
  std::thread client([&] {
    reply = controlRequest(path, "reload /x/y.pb", 5000);
    done = true;
  });
  std::string seen;
  for (int i = 0; i < 500 && !done; ++i) {
    server.poll([&](std::string_view line) {
      seen = std::string(line);
      return std::string("OK version abc");
    });
    usleep(2000);
  }
  client.join();
  EXPECT_EQ(seen, "reload /x/y.pb");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "OK version abc");

  // A second server on the same live path is refused (its status probe is answered).
  std::thread answer([&] {
    for (int i = 0; i < 200; ++i) {
      server.poll([](std::string_view) { return std::string("OK"); });
      usleep(2000);
    }
  });
  ControlServer second;
  absl::Status s = second.start(path);
  answer.join();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("another xborder-dataplane answers on it"), std::string::npos)
      << s;
  server.stop();
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "stop() removes the socket file";
}

TEST(ControlServer, StaleSocketIsReplaced) {
  const std::string path = sockPath("b");
  {
    ControlServer dead;
    ASSERT_TRUE(dead.start(path).ok());
    // Simulate a crash: the file stays, nobody listens (close the fd, keep the file).
    const std::string keep = path + ".keep";
    ASSERT_EQ(::link(path.c_str(), keep.c_str()), 0);
    dead.stop();
    ASSERT_EQ(::rename(keep.c_str(), path.c_str()), 0);
  }
  ControlServer server;
  absl::Status s = server.start(path);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(ControlRequest, NoServerIsAnError) {
  auto r = controlRequest(sockPath("none"), "status", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("cannot connect"), std::string::npos);
}

}  // namespace
}  // namespace xborder::dp::app
