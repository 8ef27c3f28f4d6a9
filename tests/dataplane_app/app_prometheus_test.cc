// The Prometheus responder answers a real HTTP client over loopback.
#include "dataplane/app/app_prometheus.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace xborder::dp::app {
namespace {

std::string get(uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(fd, req.data(), req.size(), 0);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(PrometheusText, GroupsSamplesUnderOneTypeLine) {
  PrometheusText t;
  t.add("xb_a_total", "port=\"p0\"", 1);
  t.add("xb_b", "", 7, "gauge");
  t.add("xb_a_total", "port=\"p1\"", 2);
  EXPECT_EQ(t.str(),
            "# TYPE xb_a_total counter\nxb_a_total{port=\"p0\"} 1\nxb_a_total{port=\"p1\"} 2\n"
            "# TYPE xb_b gauge\nxb_b 7\n");
}

TEST(PrometheusServer, ServesMetricsAnd404) {
  PrometheusServer s;
  ASSERT_TRUE(s.start("127.0.0.1", 0).ok());
  ASSERT_NE(s.port(), 0);
  std::atomic<bool> stop{false};
  int renders = 0;
  std::thread server([&] {
    while (!stop.load()) {
      s.poll(10, [&] {
        ++renders;
        return std::string("xb_up 1\n");
      });
    }
  });
  const std::string ok = get(s.port(), "/metrics");
  const std::string missing = get(s.port(), "/nope");
  stop = true;
  server.join();
  EXPECT_EQ(ok.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("\r\n\r\nxb_up 1\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("Content-Length: 8\r\n"), std::string::npos) << ok;
  EXPECT_EQ(missing.rfind("HTTP/1.0 404", 0), 0u) << missing;
  EXPECT_EQ(renders, 1);
}

TEST(PrometheusServer, BadAddressIsAnError) {
  PrometheusServer s;
  absl::Status st = s.start("localhost-ish", 0);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(s.running());
}

}  // namespace
}  // namespace xborder::dp::app
