// Configuration of xborder-dataplane: the YAML file, the options after `--`, and the
// resolution of port names and lcores against what EAL found. No DPDK include, so
// unit tests drive every error without EAL; main.cc supplies the resolvers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/engine/engine.h"

namespace xborder::dp::app {

enum class Mode : uint8_t { kInline = 0, kTap = 1 };

// Where a value came from, so that errors found after EAL init (unknown port, lcore
// not enabled) still name file:line:col and key.
struct ConfigLocation {
  std::string file;  // empty for command-line / built-in defaults
  int line = 0;      // 1-based; 0 = no position
  int column = 0;
  std::string key;  // e.g. "ports[0].inside"

  // "file:line:col: key: " (or "key: " without a file).
  std::string prefix() const;
};

// A port named by DPDK port id ("0") or by device name ("net_pcap0", "0000:03:00.0").
struct PortRef {
  std::string text;
  std::optional<uint16_t> id;  // set when text is a number
  ConfigLocation where;
};

struct PortPairConfig {
  PortRef inside;
  std::optional<PortRef> outside;  // optional in tap mode only (a single mirror port)
};

// Issue 5: the negative list and everything that enforces it (docs/deployment.md
// section 12). Without `ruleset` none of it runs: forward + classify + flow log.
struct EnforceConfig {
  std::string ruleset;  // compiled ruleset (xborder-rulec output; geo is embedded)
  ConfigLocation ruleset_where;
  // Key for the keyed hashes of identifiers (distinct individuals). "" = <evidence.log>/
  // keys/hmac.key, created (32 random bytes, 0600) when absent; a named file must exist.
  std::string hmac_key;
  ConfigLocation hmac_key_where;
  // Evidence log directory, made by `xborder-evidence init`; required with a ruleset
  // (an absent directory is refused: the keys are the operator's to create).
  std::string evidence_log;
  ConfigLocation evidence_log_where;
  bool fail_closed = true;             // evidence.fail_policy: closed | open
  uint32_t evidence_ring = 4096;       // per-worker event ring slots (power of two)
  uint32_t checkpoint_interval_s = 60;  // signed checkpoint over synced records; 0 = off
  // Cumulative counters: "" = in memory only (a restart starts the year again).
  std::string counters_snapshot;
  uint32_t counters_merge_ms = 1000;  // merge shards + poll crossings + snapshot
  uint32_t counters_capacity = 4096;  // rows per shard and in the store
  // Payload inspection (content detectors): flows scanned at once per worker, and
  // bytes per flow and direction.
  uint32_t inspect_flows = 4096;
  uint32_t inspect_budget = 1u << 20;
  // Abnormal-flow monitor (dataplane/anomaly), seconds / bytes.
  bool anomaly = true;
  uint32_t anomaly_interval_s = 60;
  uint32_t anomaly_warmup_intervals = 30;
  double anomaly_spike_multiple = 5.0;
  uint64_t anomaly_spike_min_bytes = uint64_t{10} << 20;
  uint64_t anomaly_bulk_bytes = uint64_t{100} << 20;
  uint64_t anomaly_inbound_response_bytes = uint64_t{50} << 20;
  uint32_t anomaly_learning_s = 86400;
  uint32_t anomaly_cooldown_s = 600;
  // Unix socket for `reload [PATH]` (xborder-dataplane-ctl); "" = none.
  std::string control_socket = "/run/xborder/dataplane.sock";
};

struct AppConfig {
  std::string source_file;  // empty when running on defaults

  Mode mode = Mode::kInline;
  std::vector<PortPairConfig> pairs;  // empty: ports 0 (inside) and 1 (outside)

  // Workers. Empty: every enabled lcore except the main one.
  std::vector<unsigned> worker_lcores;
  std::vector<ConfigLocation> worker_lcores_where;  // one per entry
  uint16_t burst_size = 32;

  // mbuf pool, one per NUMA socket in use. 0 = sized from rings, queues and workers.
  uint32_t mempool_size = 0;
  uint32_t mempool_cache = 256;
  // mbuf data room after the headroom. Larger frames arrive as chained mbufs (fine,
  // except for net_pcap infinite_rx, which needs every frame in one mbuf).
  uint32_t mbuf_data_size = 2048;
  // Packet bytes per mbuf. 0 = DPDK's default (2048). Raise it so net_pcap's infinite_rx
  // (which keeps one segment per frame) can hold jumbo frames: benchmarks use 33000.
  uint32_t mbuf_data_room = 0;

  // Port MTU (L3 bytes); 0 keeps the driver's default (1500 on NICs). A bridge needs
  // the largest MTU of the links it joins, e.g. 9000 for jumbo frames.
  uint16_t mtu = 0;
  ConfigLocation mtu_where;

  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  uint32_t handoff_ring = 1024;  // per (producer, consumer) worker pair, power of two
  uint16_t tx_retries = 4;       // bounded retries of a partial tx burst, then counted drops

  EngineConfig engine;  // worker_id is set per worker

  std::string flow_log = "flows.json";
  uint32_t flow_log_buffer_kib = 1024;  // per-worker buffer handed to the main lcore
  uint32_t stats_interval_s = 0;        // 0: print only at exit
  uint16_t prometheus_port = 0;         // 0: off
  std::string prometheus_bind = "127.0.0.1";

  EnforceConfig enforce;

  // Command line only.
  uint32_t exit_on_idle_ms = 0;  // 0: run until a signal
  double duration_s = 0;         // 0: unlimited (benchmark runs)
};

// Parses YAML text; `file` is used in error messages. Unknown keys are errors.
absl::StatusOr<AppConfig> parseConfig(std::string_view yaml_text, const std::string& file);
absl::StatusOr<AppConfig> loadConfigFile(const std::string& path);

// Our options (everything after `--`). Applies them on top of `base` (defaults or the
// file named by --config, which is loaded first whatever its position).
struct CliResult {
  AppConfig config;
  bool help = false;
};
absl::StatusOr<CliResult> parseAppArgs(const std::vector<std::string>& args);
std::string appUsage(std::string_view argv0);

// Splits argv at the first "--": EAL arguments before, ours after.
struct SplitArgs {
  std::vector<std::string> eal;  // includes argv[0]
  std::vector<std::string> app;
};
SplitArgs splitArgs(int argc, const char* const* argv);

// True when no hugepage is free (per /proc/meminfo text) and the EAL arguments name
// neither --no-huge nor a memory amount, so --no-huge must be added.
bool needsNoHugeFallback(const std::vector<std::string>& eal_args, std::string_view meminfo);

// Post-EAL resolution. The resolvers are injected so tests need no EAL.
struct ResolvedPair {
  uint16_t inside = 0;
  std::optional<uint16_t> outside;
};
// lookup(name) -> port id for a device name; valid(id) -> the port id exists.
absl::StatusOr<std::vector<ResolvedPair>> resolvePorts(
    const AppConfig& config, const std::function<std::optional<uint16_t>(const std::string&)>& lookup,
    const std::function<bool(uint16_t)>& valid);
// enabled: every lcore EAL enabled (-l), main included.
absl::StatusOr<std::vector<unsigned>> resolveWorkers(const AppConfig& config,
                                                     const std::vector<unsigned>& enabled,
                                                     unsigned main_lcore);

std::string_view modeName(Mode m);
std::string_view malformedPolicyName(MalformedPolicy p);
std::string_view tableFullPolicyName(TableFullPolicy p);

}  // namespace xborder::dp::app
