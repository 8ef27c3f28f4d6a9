// Config loader: every error names file:line:col and key; defaults and overrides.
#include "dataplane/app/app_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace xborder::dp::app {
namespace {

std::string errorOf(const std::string& yaml) {
  absl::StatusOr<AppConfig> c = parseConfig(yaml, "config.yaml");
  EXPECT_FALSE(c.ok()) << "expected an error for:\n" << yaml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(AppConfig, EmptyFileMeansDefaults) {
  absl::StatusOr<AppConfig> c = parseConfig("", "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mode, Mode::kInline);
  EXPECT_TRUE(c->pairs.empty());
  EXPECT_EQ(c->flow_log, "flows.json");
  EXPECT_EQ(c->burst_size, 32);
  EXPECT_EQ(c->prometheus_bind, "127.0.0.1");
}

TEST(AppConfig, FullFileParses) {
  const char* yaml = R"(mode: tap
mtu: 9000
ports:
  - inside: net_pcap0
    outside: 1
  - inside: "0000:03:00.0"
workers:
  lcores: [1, 3]
  burst_size: 64
mempool: {size: 65535, cache: 128, data_room: 16384}
queues: {rx_descriptors: 2048, tx_descriptors: 512, handoff_ring: 2048, tx_retries: 2}
flows:
  capacity: 65536
  timeouts: {tcp_established: 600, tcp_transitory: 30, tcp_closed: 5, udp: 60, icmp: 10, other: 20}
  ndpi_max_packets_tcp: 40
  ndpi_max_packets_udp: 12
  decap_tunnels: false
policy: {malformed: drop, table_full: forward-untracked}
log:
  flow_log: /var/log/xborder/flows.json
  flow_log_buffer_kib: 256
  stats_interval: 10
  prometheus_port: 9101
  prometheus_bind: 0.0.0.0
)";
  absl::StatusOr<AppConfig> c = parseConfig(yaml, "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mode, Mode::kTap);
  EXPECT_EQ(c->mtu, 9000);
  ASSERT_EQ(c->pairs.size(), 2u);
  EXPECT_EQ(c->pairs[0].inside.text, "net_pcap0");
  EXPECT_FALSE(c->pairs[0].inside.id.has_value());
  ASSERT_TRUE(c->pairs[0].outside.has_value());
  EXPECT_EQ(c->pairs[0].outside->id, std::optional<uint16_t>(1));
  EXPECT_EQ(c->pairs[1].inside.text, "0000:03:00.0");
  EXPECT_FALSE(c->pairs[1].outside.has_value());
  EXPECT_EQ(c->worker_lcores, (std::vector<unsigned>{1, 3}));
  EXPECT_EQ(c->burst_size, 64);
  EXPECT_EQ(c->mempool_size, 65535u);
  EXPECT_EQ(c->mempool_cache, 128u);
  EXPECT_EQ(c->mbuf_data_room, 16384u);
  EXPECT_EQ(c->rx_descriptors, 2048);
  EXPECT_EQ(c->tx_descriptors, 512);
  EXPECT_EQ(c->handoff_ring, 2048u);
  EXPECT_EQ(c->tx_retries, 2);
  EXPECT_EQ(c->engine.flow_capacity, 65536u);
  EXPECT_EQ(c->engine.timeout_tcp_established, 600u);
  EXPECT_EQ(c->engine.timeout_tcp_transitory, 30u);
  EXPECT_EQ(c->engine.timeout_tcp_closed, 5u);
  EXPECT_EQ(c->engine.timeout_udp, 60u);
  EXPECT_EQ(c->engine.timeout_icmp, 10u);
  EXPECT_EQ(c->engine.timeout_other, 20u);
  EXPECT_EQ(c->engine.ndpi_max_packets_tcp, 40);
  EXPECT_EQ(c->engine.ndpi_max_packets_udp, 12);
  EXPECT_FALSE(c->engine.decap_tunnels);
  EXPECT_EQ(c->engine.malformed, MalformedPolicy::kDrop);
  EXPECT_EQ(c->engine.table_full, TableFullPolicy::kForwardUntracked);
  EXPECT_EQ(c->flow_log, "/var/log/xborder/flows.json");
  EXPECT_EQ(c->flow_log_buffer_kib, 256u);
  EXPECT_EQ(c->stats_interval_s, 10u);
  EXPECT_EQ(c->prometheus_port, 9101);
  EXPECT_EQ(c->prometheus_bind, "0.0.0.0");
}

TEST(AppConfig, YamlSyntaxErrorHasPosition) {
  EXPECT_EQ(errorOf("mode: inline\nports: [\n"), "config.yaml:3:1: end of sequence flow not found");
}

TEST(AppConfig, TopLevelMustBeMapping) {
  EXPECT_EQ(errorOf("- 1\n- 2\n"), "config.yaml:1:1: (top level): expected a mapping of sections");
}

TEST(AppConfig, UnknownTopLevelKey) {
  EXPECT_EQ(errorOf("mode: inline\nport: []\n"),
            "config.yaml:2:1: port: unknown key (expected one of: anomaly, control, counters, "
            "evidence, flows, hmac_key, inspect, log, mempool, mode, mtu, policy, ports, "
            "queues, ruleset, workers)");
}

TEST(AppConfig, UnknownNestedKey) {
  EXPECT_EQ(errorOf("flows:\n  timeouts:\n    tcp: 5\n"),
            "config.yaml:3:5: flows.timeouts.tcp: unknown key (expected one of: icmp, other, "
            "tcp_closed, tcp_established, tcp_transitory, udp)");
}

TEST(AppConfig, UnknownKeyInPortPair) {
  EXPECT_EQ(errorOf("ports:\n  - inside: 0\n    outside: 1\n    speed: 10G\n"),
            "config.yaml:4:5: ports[0].speed: unknown key (expected one of: inside, outside)");
}

TEST(AppConfig, DuplicateKey) {
  EXPECT_EQ(errorOf("mode: inline\nmode: tap\n"), "config.yaml:2:1: mode: duplicate key");
}

TEST(AppConfig, BadMode) {
  EXPECT_EQ(errorOf("mode: bridge\n"),
            "config.yaml:1:7: mode: unknown mode 'bridge' (expected inline or tap)");
}

TEST(AppConfig, PortsMustBeNonEmptyList) {
  EXPECT_EQ(errorOf("ports: {}\n"),
            "config.yaml:1:8: ports: expected a non-empty list of {inside, outside} pairs");
}

TEST(AppConfig, PairNeedsInside) {
  EXPECT_EQ(errorOf("ports:\n  - outside: 1\n"),
            "config.yaml:2:5: ports[0].inside: missing (every pair needs an inside port)");
}

TEST(AppConfig, InlinePairNeedsOutside) {
  EXPECT_EQ(errorOf("ports:\n  - inside: 0\n"),
            "config.yaml:2:5: ports[0].outside: missing (inline mode bridges two ports; only tap "
            "mode takes one)");
}

TEST(AppConfig, PortUsedTwice) {
  EXPECT_EQ(errorOf("ports:\n  - inside: 0\n    outside: 1\n  - inside: 2\n    outside: 1\n"),
            "config.yaml:5:14: ports[1].outside: port '1' is already used by another pair");
}

TEST(AppConfig, PortRefMustBeScalar) {
  EXPECT_EQ(errorOf("ports:\n  - inside: [0]\n    outside: 1\n"),
            "config.yaml:2:13: ports[0].inside: expected a port id or a device name");
}

TEST(AppConfig, NumberExpected) {
  EXPECT_EQ(errorOf("workers:\n  burst_size: many\n"),
            "config.yaml:2:15: workers.burst_size: expected a non-negative integer");
}

TEST(AppConfig, NumberOutOfRange) {
  EXPECT_EQ(errorOf("workers:\n  burst_size: 0\n"),
            "config.yaml:2:15: workers.burst_size: value 0 out of range [1, 512]");
  EXPECT_EQ(errorOf("log:\n  prometheus_port: 70000\n"),
            "config.yaml:2:20: log.prometheus_port: value 70000 out of range [0, 65535]");
}

TEST(AppConfig, NegativeNumberRejected) {
  EXPECT_EQ(errorOf("mempool:\n  cache: -1\n"),
            "config.yaml:2:10: mempool.cache: expected a non-negative integer");
}

TEST(AppConfig, LcoreListedTwice) {
  EXPECT_EQ(errorOf("workers:\n  lcores: [1, 2, 1]\n"),
            "config.yaml:2:18: workers.lcores[2]: lcore 1 listed twice");
}

TEST(AppConfig, LcoresMustBeList) {
  EXPECT_EQ(errorOf("workers:\n  lcores: 1-3\n"),
            "config.yaml:2:11: workers.lcores: expected a non-empty list of lcore ids");
}

TEST(AppConfig, HandoffRingPowerOfTwo) {
  EXPECT_EQ(errorOf("queues:\n  handoff_ring: 1000\n"),
            "config.yaml:2:17: queues.handoff_ring: must be a power of two");
}

TEST(AppConfig, BurstLargerThanRing) {
  EXPECT_EQ(errorOf("workers:\n  burst_size: 256\nqueues:\n  rx_descriptors: 128\n"),
            "config.yaml:2:3: workers.burst_size: burst size 256 exceeds queues.rx_descriptors "
            "128");
}

TEST(AppConfig, MtuRange) {
  EXPECT_EQ(errorOf("mtu: 20000\n"), "config.yaml:1:6: mtu: value 20000 out of range [68, 16000]");
}

TEST(AppConfig, BadBool) {
  EXPECT_EQ(errorOf("flows:\n  decap_tunnels: maybe\n"),
            "config.yaml:2:18: flows.decap_tunnels: expected true or false");
}

TEST(AppConfig, BadPolicies) {
  EXPECT_EQ(errorOf("policy:\n  malformed: ignore\n"),
            "config.yaml:2:14: policy.malformed: unknown policy 'ignore' (expected forward or "
            "drop)");
  EXPECT_EQ(errorOf("policy:\n  table_full: evict\n"),
            "config.yaml:2:15: policy.table_full: unknown policy 'evict' (expected "
            "evict-oldest-idle, forward-untracked or drop)");
}

TEST(AppConfig, SectionMustBeMapping) {
  EXPECT_EQ(errorOf("log: flows.json\n"), "config.yaml:1:6: log: expected a mapping");
}

TEST(AppConfig, EmptyString) {
  EXPECT_EQ(errorOf("log:\n  flow_log: \"\"\n"),
            "config.yaml:2:13: log.flow_log: expected a non-empty string");
}

TEST(AppConfig, MissingFile) {
  absl::StatusOr<AppConfig> c = loadConfigFile("/nonexistent/x.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "/nonexistent/x.yaml: cannot open config file");
}

// --- resolution after EAL (resolvers injected) ---

std::optional<uint16_t> fakeLookup(const std::string& name) {
  if (name == "net_pcap0") return 0;
  if (name == "net_pcap1") return 1;
  return std::nullopt;
}
bool fakeValid(uint16_t id) { return id < 2; }

TEST(ResolvePorts, DefaultsArePorts0And1) {
  AppConfig c;
  auto r = resolvePorts(c, fakeLookup, fakeValid);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].inside, 0);
  EXPECT_EQ((*r)[0].outside, std::optional<uint16_t>(1));
}

TEST(ResolvePorts, DefaultsNeedTwoPorts) {
  AppConfig c;
  auto r = resolvePorts(c, fakeLookup, [](uint16_t id) { return id == 0; });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("needs DPDK ports 0 and 1"), std::string::npos);
}

TEST(ResolvePorts, ByNameAndId) {
  auto c = parseConfig("ports:\n  - inside: net_pcap1\n    outside: 0\n", "config.yaml");
  ASSERT_TRUE(c.ok());
  auto r = resolvePorts(*c, fakeLookup, fakeValid);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].inside, 1);
  EXPECT_EQ((*r)[0].outside, std::optional<uint16_t>(0));
}

TEST(ResolvePorts, UnknownName) {
  auto c = parseConfig(
      "mode: inline\nports:\n  - inside: net_pcap0\n    outside: net_pcap1\n"
      "  - inside: 2\n    outside: net_pcap7\n",
      "config.yaml");
  ASSERT_TRUE(c.ok());
  auto r = resolvePorts(*c, fakeLookup, [](uint16_t id) { return id < 8; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "config.yaml:6:14: ports[1].outside: unknown port 'net_pcap7'");
}

TEST(ResolvePorts, UnknownId) {
  auto c = parseConfig("ports:\n  - inside: 0\n    outside: 5\n", "config.yaml");
  ASSERT_TRUE(c.ok());
  auto r = resolvePorts(*c, fakeLookup, fakeValid);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "config.yaml:3:14: ports[0].outside: unknown port id 5");
}

TEST(ResolvePorts, SamePortByNameAndId) {
  auto c = parseConfig("ports:\n  - inside: 0\n    outside: net_pcap0\n", "config.yaml");
  ASSERT_TRUE(c.ok());
  auto r = resolvePorts(*c, fakeLookup, fakeValid);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "config.yaml:3:14: ports[0].outside: port 'net_pcap0' is already used by another pair");
}

TEST(ResolveWorkers, DefaultEveryLcoreButMain) {
  AppConfig c;
  auto r = resolveWorkers(c, {0, 1, 2}, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<unsigned>{1, 2}));
}

TEST(ResolveWorkers, OnlyMainLcore) {
  AppConfig c;
  auto r = resolveWorkers(c, {0}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no worker lcore"), std::string::npos);
}

TEST(ResolveWorkers, LcoreNotEnabled) {
  auto c = parseConfig("workers:\n  lcores: [1, 5]\n", "config.yaml");
  ASSERT_TRUE(c.ok());
  auto r = resolveWorkers(*c, {0, 1, 2}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "config.yaml:2:15: workers.lcores[1]: lcore 5 is not enabled by the EAL -l/--lcores "
            "option");
}

TEST(ResolveWorkers, MainLcoreRejected) {
  auto c = parseConfig("workers:\n  lcores: [0]\n", "config.yaml");
  ASSERT_TRUE(c.ok());
  auto r = resolveWorkers(*c, {0, 1}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "config.yaml:2:12: workers.lcores[0]: lcore 0 is the main lcore (it runs logging and "
            "statistics)");
}

// --- command line ---

TEST(AppArgs, Overrides) {
  auto r = parseAppArgs({"--flow-log", "x.json", "--mode", "tap", "--exit-on-idle", "500",
                         "--stats-interval", "2", "--prometheus", "9100", "--duration", "1.5"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->help);
  EXPECT_EQ(r->config.flow_log, "x.json");
  EXPECT_EQ(r->config.mode, Mode::kTap);
  EXPECT_EQ(r->config.exit_on_idle_ms, 500u);
  EXPECT_EQ(r->config.stats_interval_s, 2u);
  EXPECT_EQ(r->config.prometheus_port, 9100);
  EXPECT_DOUBLE_EQ(r->config.duration_s, 1.5);
}

TEST(AppArgs, CommandLineOverridesConfigWhateverTheOrder) {
  const std::string path = ::testing::TempDir() + "/app_args_config.yaml";
  {
    std::ofstream f(path);
    f << "log:\n  flow_log: from-file.json\n  stats_interval: 7\n";
  }
  auto r = parseAppArgs({"--flow-log", "from-cli.json", "--config", path});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->config.flow_log, "from-cli.json");
  EXPECT_EQ(r->config.stats_interval_s, 7u);
  std::remove(path.c_str());
}

TEST(AppArgs, ConfigErrorPropagates) {
  const std::string path = ::testing::TempDir() + "/app_args_bad.yaml";
  {
    std::ofstream f(path);
    f << "mode: inline\nbogus: 1\n";
  }
  auto r = parseAppArgs({"--config", path});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path + ":2:1: bogus: unknown key (expected one of: anomaly, control, counters, "
                   "evidence, flows, hmac_key, inspect, log, mempool, mode, mtu, policy, "
                   "ports, queues, ruleset, workers)");
  std::remove(path.c_str());
}

TEST(AppArgs, Errors) {
  EXPECT_EQ(parseAppArgs({"--mode", "bridge"}).status().message(),
            "--mode: unknown mode 'bridge' (expected inline or tap)");
  EXPECT_EQ(parseAppArgs({"--exit-on-idle", "soon"}).status().message(),
            "--exit-on-idle needs a number of milliseconds (1..86400000)");
  EXPECT_EQ(parseAppArgs({"--prometheus"}).status().message(),
            "--prometheus needs a TCP port (0..65535)");
  EXPECT_EQ(parseAppArgs({"--frobnicate"}).status().message(),
            "unknown option '--frobnicate' (try --help)");
  EXPECT_EQ(parseAppArgs({"--duration", "-1"}).status().message(),
            "--duration needs a positive number of seconds");
}

TEST(EnforceConfig, DefaultsMeanNoRuleset) {
  absl::StatusOr<AppConfig> c = parseConfig("", "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->enforce.ruleset.empty());
  EXPECT_TRUE(c->enforce.fail_closed);
  EXPECT_EQ(c->enforce.control_socket, "/run/xborder/dataplane.sock");
}

TEST(EnforceConfig, EveryKeyParses) {
  const char* yaml = R"(ruleset: /etc/xborder/list.pb
hmac_key: /etc/xborder/hmac.key
evidence: {log: /var/lib/xborder/evidence, fail_policy: open, ring_slots: 1024, checkpoint_interval: 5}
counters: {snapshot: /var/lib/xborder/counters.bin, merge_interval_ms: 250, capacity: 8192}
inspect: {flows: 100, budget: 65536}
anomaly: {enabled: false, interval: 10, warmup_intervals: 3, spike_multiple: 2.5, spike_min_bytes: 0,
          bulk_bytes: 1000, inbound_response_bytes: 2000, learning: 0, cooldown: 1}
control: {socket: none}
)";
  absl::StatusOr<AppConfig> c = parseConfig(yaml, "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const EnforceConfig& e = c->enforce;
  EXPECT_EQ(e.ruleset, "/etc/xborder/list.pb");
  EXPECT_EQ(e.ruleset_where.prefix(), "config.yaml:1:10: ruleset: ");
  EXPECT_EQ(e.hmac_key, "/etc/xborder/hmac.key");
  EXPECT_EQ(e.evidence_log, "/var/lib/xborder/evidence");
  EXPECT_FALSE(e.fail_closed);
  EXPECT_EQ(e.evidence_ring, 1024u);
  EXPECT_EQ(e.checkpoint_interval_s, 5u);
  EXPECT_EQ(e.counters_snapshot, "/var/lib/xborder/counters.bin");
  EXPECT_EQ(e.counters_merge_ms, 250u);
  EXPECT_EQ(e.counters_capacity, 8192u);
  EXPECT_EQ(e.inspect_flows, 100u);
  EXPECT_EQ(e.inspect_budget, 65536u);
  EXPECT_FALSE(e.anomaly);
  EXPECT_EQ(e.anomaly_interval_s, 10u);
  EXPECT_EQ(e.anomaly_warmup_intervals, 3u);
  EXPECT_DOUBLE_EQ(e.anomaly_spike_multiple, 2.5);
  EXPECT_EQ(e.anomaly_spike_min_bytes, 0u);
  EXPECT_EQ(e.anomaly_bulk_bytes, 1000u);
  EXPECT_EQ(e.anomaly_inbound_response_bytes, 2000u);
  EXPECT_EQ(e.anomaly_learning_s, 0u);
  EXPECT_EQ(e.anomaly_cooldown_s, 1u);
  EXPECT_TRUE(e.control_socket.empty());
}

TEST(EnforceConfig, ErrorsHavePositions) {
  EXPECT_EQ(errorOf("evidence: {log: /x, fail_policy: ajar}\n"),
            "config.yaml:1:34: evidence.fail_policy: unknown policy 'ajar' (expected closed or open)");
  EXPECT_EQ(errorOf("evidence:\n  ring_slots: 1000\n"),
            "config.yaml:2:15: evidence.ring_slots: must be a power of two");
  EXPECT_EQ(errorOf("anomaly: {spike_multiple: 0.5}\n"),
            "config.yaml:1:27: anomaly.spike_multiple: expected a number above 1");
  EXPECT_EQ(errorOf("ruleset: [a, b]\n"), "config.yaml:1:10: ruleset: expected a file path");
  EXPECT_EQ(errorOf("counters: {merge_interval_ms: 1}\n"),
            "config.yaml:1:31: counters.merge_interval_ms: value 1 out of range [10, 3600000]");
  EXPECT_EQ(errorOf("control: {path: /x}\n"),
            "config.yaml:1:11: control.path: unknown key (expected one of: socket)");
}

TEST(EnforceConfig, RulesetNeedsAnEvidenceLog) {
  const std::string path = ::testing::TempDir() + "/app_enforce.yaml";
  {
    std::ofstream f(path);
    f << "mode: inline\nruleset: list.pb\n";
  }
  auto r = parseAppArgs({"--config", path});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path + ":2:10: ruleset: needs evidence.log or --evidence-log (every decision is "
                   "recorded; create one with xborder-evidence init --log DIR)");
  auto ok = parseAppArgs({"--config", path, "--evidence-log", "/tmp/ev"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->config.enforce.evidence_log, "/tmp/ev");
  auto cli = parseAppArgs({"--ruleset", "other.pb", "--config", path, "--evidence-log", "/e",
                           "--control-socket", "/tmp/c.sock"});
  ASSERT_TRUE(cli.ok()) << cli.status();
  EXPECT_EQ(cli->config.enforce.ruleset, "other.pb");  // the flag overrides the file
  EXPECT_EQ(cli->config.enforce.control_socket, "/tmp/c.sock");
  EXPECT_EQ(parseAppArgs({"--ruleset"}).status().message(),
            "--ruleset needs a compiled ruleset file");
  std::remove(path.c_str());
}

TEST(AppArgs, Help) {
  auto r = parseAppArgs({"--mode", "tap", "--help"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->help);
  EXPECT_NE(appUsage("xborder-dataplane").find("--exit-on-idle MS"), std::string::npos);
}

TEST(SplitArgs, AtDoubleDash) {
  const char* argv[] = {"prog", "-l", "0-1", "--", "--flow-log", "f.json"};
  SplitArgs s = splitArgs(6, argv);
  EXPECT_EQ(s.eal, (std::vector<std::string>{"prog", "-l", "0-1"}));
  EXPECT_EQ(s.app, (std::vector<std::string>{"--flow-log", "f.json"}));
  const char* argv2[] = {"prog", "-l", "0-1"};
  SplitArgs s2 = splitArgs(3, argv2);
  EXPECT_EQ(s2.eal.size(), 3u);
  EXPECT_TRUE(s2.app.empty());
}

TEST(NoHugeFallback, Decisions) {
  const std::string none = "MemTotal: 1 kB\nHugePages_Total:       0\nHugePages_Free:        0\n";
  const std::string some = "HugePages_Total:     512\nHugePages_Free:      100\nHugepagesize: 2048 kB\n";
  EXPECT_TRUE(needsNoHugeFallback({"prog", "-l", "0-1"}, none));
  EXPECT_FALSE(needsNoHugeFallback({"prog", "-l", "0-1"}, some));
  EXPECT_FALSE(needsNoHugeFallback({"prog", "--no-huge"}, none));
  EXPECT_FALSE(needsNoHugeFallback({"prog", "-m", "512"}, none));
  EXPECT_FALSE(needsNoHugeFallback({"prog", "-m512"}, none));
  EXPECT_FALSE(needsNoHugeFallback({"prog", "--socket-mem=512"}, none));
  EXPECT_TRUE(needsNoHugeFallback({"prog"}, "MemTotal: 1 kB\n"));
}

}  // namespace
}  // namespace xborder::dp::app

namespace xborder::dp::app {
namespace {

// Every sample config under dataplane/examples/ stays valid as keys evolve.
TEST(AppConfigExamples, EveryExampleParses) {
  const char* src = std::getenv("XB_SOURCE_DIR");
  const std::string dir = std::string(src ? src : ".") + "/dataplane/examples";
  int n = 0;
  for (const char* f :
       {"demo.yaml", "inline-pci.yaml", "tap-mirror.yaml", "testbed.yaml", "enforce.yaml"}) {
    absl::StatusOr<AppConfig> c = loadConfigFile(dir + "/" + f);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_FALSE(c->pairs.empty()) << f;
    if (std::string(f) == "enforce.yaml") {
      EXPECT_EQ(c->enforce.ruleset, "/etc/xborder/ruleset.pb");
      EXPECT_EQ(c->enforce.evidence_log, "/var/lib/xborder/evidence");
      EXPECT_EQ(c->enforce.counters_snapshot, "/var/lib/xborder/counters.bin");
    }
    ++n;
  }
  EXPECT_EQ(n, 5);
}

}  // namespace
}  // namespace xborder::dp::app
