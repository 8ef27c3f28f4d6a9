#include "dataplane/app/app_config.h"

// yaml-cpp 0.7's node/impl.h trips GCC 12's -Wdangling-pointer (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include <yaml-cpp/yaml.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace xborder::dp::app {
namespace {

#define XB_RETURN_IF_ERROR(expr)            \
  do {                                      \
    if (absl::Status s_ = (expr); !s_.ok()) \
      return s_;                            \
  } while (0)

ConfigLocation locate(const std::string& file, const YAML::Node& n, std::string key) {
  ConfigLocation l;
  l.file = file;
  const YAML::Mark m = n.Mark();
  if (m.line >= 0) {
    l.line = m.line + 1;
    l.column = m.column + 1;
  }
  l.key = std::move(key);
  return l;
}

// Walks the document; every error carries file:line:col and the key path.
class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  absl::Status parse(const YAML::Node& root, AppConfig& c) {
    c.source_file = file_;
    if (!root || root.IsNull()) {
      return absl::OkStatus();  // an empty file means "all defaults"
    }
    if (!root.IsMap()) {
      return error(root, "(top level)", "expected a mapping of sections");
    }
    XB_RETURN_IF_ERROR(checkKeys(root, "", {"mode", "ports", "workers", "mempool", "queues",
                                            "flows", "policy", "log", "mtu", "ruleset",
                                            "hmac_key", "evidence", "counters", "inspect",
                                            "anomaly", "control"}));
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string k = it->first.Scalar();
      const YAML::Node& v = it->second;
      if (k == "mode") {
        XB_RETURN_IF_ERROR(parseMode(v, "mode", c.mode));
      } else if (k == "mtu") {
        XB_RETURN_IF_ERROR(toUint(v, "mtu", 68, 16000, c.mtu));
        c.mtu_where = locate(file_, v, "mtu");
      } else if (k == "ports") {
        XB_RETURN_IF_ERROR(parsePorts(v, c));
      } else if (k == "workers") {
        XB_RETURN_IF_ERROR(parseWorkers(v, c));
      } else if (k == "mempool") {
        XB_RETURN_IF_ERROR(expectMap(v, "mempool"));
        XB_RETURN_IF_ERROR(checkKeys(v, "mempool", {"size", "cache", "data_room"}));
        XB_RETURN_IF_ERROR(optUint(v, "mempool", "size", 0, 1u << 26, c.mempool_size));
        XB_RETURN_IF_ERROR(optUint(v, "mempool", "cache", 0, 512, c.mempool_cache));
        XB_RETURN_IF_ERROR(optUint(v, "mempool", "data_room", 0, 65000, c.mbuf_data_room));
      } else if (k == "queues") {
        XB_RETURN_IF_ERROR(parseQueues(v, c));
      } else if (k == "flows") {
        XB_RETURN_IF_ERROR(parseFlows(v, c));
      } else if (k == "policy") {
        XB_RETURN_IF_ERROR(parsePolicy(v, c));
      } else if (k == "log") {
        XB_RETURN_IF_ERROR(parseLog(v, c));
      } else if (k == "ruleset") {
        XB_RETURN_IF_ERROR(path(v, "ruleset", c.enforce.ruleset, c.enforce.ruleset_where));
      } else if (k == "hmac_key") {
        XB_RETURN_IF_ERROR(path(v, "hmac_key", c.enforce.hmac_key, c.enforce.hmac_key_where));
      } else if (k == "evidence") {
        XB_RETURN_IF_ERROR(parseEvidence(v, c.enforce));
      } else if (k == "counters") {
        XB_RETURN_IF_ERROR(parseCounters(v, c.enforce));
      } else if (k == "inspect") {
        XB_RETURN_IF_ERROR(expectMap(v, "inspect"));
        XB_RETURN_IF_ERROR(checkKeys(v, "inspect", {"flows", "budget"}));
        XB_RETURN_IF_ERROR(optUint(v, "inspect", "flows", 1, 1u << 24, c.enforce.inspect_flows));
        XB_RETURN_IF_ERROR(
            optUint(v, "inspect", "budget", 64, 1u << 30, c.enforce.inspect_budget));
      } else if (k == "anomaly") {
        XB_RETURN_IF_ERROR(parseAnomaly(v, c.enforce));
      } else if (k == "control") {
        XB_RETURN_IF_ERROR(expectMap(v, "control"));
        XB_RETURN_IF_ERROR(checkKeys(v, "control", {"socket"}));
        XB_RETURN_IF_ERROR(optString(v, "control", "socket", c.enforce.control_socket));
        if (c.enforce.control_socket == "none") c.enforce.control_socket.clear();
      }
    }
    return crossCheck(root, c);
  }

 private:
  absl::Status error(const YAML::Node& n, std::string_view key, std::string_view msg) const {
    return absl::InvalidArgumentError(
        absl::StrCat(locate(file_, n, std::string(key)).prefix(), std::string(msg)));
  }

  static std::string join(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : absl::StrCat(std::string(path), ".", std::string(key));
  }

  absl::Status expectMap(const YAML::Node& n, std::string_view path) const {
    if (!n.IsMap()) {
      return error(n, path, "expected a mapping");
    }
    return absl::OkStatus();
  }

  absl::Status checkKeys(const YAML::Node& map, std::string_view path,
                         const std::set<std::string>& allowed) const {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) {
        return error(it->first, path.empty() ? "(top level)" : path, "keys must be plain names");
      }
      const std::string k = it->first.Scalar();
      if (!allowed.count(k)) {
        return error(it->first, join(path, k),
                     absl::StrCat("unknown key (expected one of: ", absl::StrJoin(allowed, ", "),
                                  ")"));
      }
      if (!seen.insert(k).second) {
        return error(it->first, join(path, k), "duplicate key");
      }
    }
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status toUint(const YAML::Node& v, const std::string& key, uint64_t lo, uint64_t hi,
                      T& out) const {
    uint64_t x = 0;
    if (!v.IsScalar() || !absl::SimpleAtoi(v.Scalar(), &x)) {
      return error(v, key, "expected a non-negative integer");
    }
    if (x < lo || x > hi) {
      return error(v, key, absl::StrCat("value ", x, " out of range [", lo, ", ", hi, "]"));
    }
    out = static_cast<T>(x);
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status optUint(const YAML::Node& map, std::string_view path, const char* key,
                       uint64_t lo, uint64_t hi, T& out) const {
    const YAML::Node v = map[key];
    if (!v) {
      return absl::OkStatus();
    }
    return toUint(v, join(path, key), lo, hi, out);
  }

  absl::Status optBool(const YAML::Node& map, std::string_view path, const char* key,
                       bool& out) const {
    const YAML::Node v = map[key];
    if (!v) {
      return absl::OkStatus();
    }
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    if (s == "true" || s == "yes" || s == "on") {
      out = true;
    } else if (s == "false" || s == "no" || s == "off") {
      out = false;
    } else {
      return error(v, join(path, key), "expected true or false");
    }
    return absl::OkStatus();
  }

  absl::Status optString(const YAML::Node& map, std::string_view path, const char* key,
                         std::string& out) const {
    const YAML::Node v = map[key];
    if (!v) {
      return absl::OkStatus();
    }
    if (!v.IsScalar() || v.Scalar().empty()) {
      return error(v, join(path, key), "expected a non-empty string");
    }
    out = v.Scalar();
    return absl::OkStatus();
  }

  absl::Status parseMode(const YAML::Node& v, const std::string& key, Mode& out) const {
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    if (s == "inline") {
      out = Mode::kInline;
    } else if (s == "tap") {
      out = Mode::kTap;
    } else {
      return error(v, key, absl::StrCat("unknown mode '", s, "' (expected inline or tap)"));
    }
    return absl::OkStatus();
  }

  absl::Status portRef(const YAML::Node& v, const std::string& key, PortRef& out) const {
    if (!v.IsScalar() || v.Scalar().empty()) {
      return error(v, key, "expected a port id or a device name");
    }
    out.text = v.Scalar();
    out.where = locate(file_, v, key);
    uint32_t id = 0;
    if (absl::SimpleAtoi(out.text, &id)) {
      if (id >= 1024) {  // RTE_MAX_ETHPORTS is far below this on every build
        return error(v, key, absl::StrCat("port id ", id, " out of range"));
      }
      out.id = static_cast<uint16_t>(id);
    }
    return absl::OkStatus();
  }

  absl::Status parsePorts(const YAML::Node& v, AppConfig& c) const {
    if (!v.IsSequence() || v.size() == 0) {
      return error(v, "ports", "expected a non-empty list of {inside, outside} pairs");
    }
    for (size_t i = 0; i < v.size(); ++i) {
      const YAML::Node p = v[i];
      const std::string path = absl::StrCat("ports[", i, "]");
      XB_RETURN_IF_ERROR(expectMap(p, path));
      XB_RETURN_IF_ERROR(checkKeys(p, path, {"inside", "outside"}));
      PortPairConfig pair;
      if (!p["inside"]) {
        return error(p, path + ".inside", "missing (every pair needs an inside port)");
      }
      XB_RETURN_IF_ERROR(portRef(p["inside"], path + ".inside", pair.inside));
      if (p["outside"]) {
        PortRef o;
        XB_RETURN_IF_ERROR(portRef(p["outside"], path + ".outside", o));
        pair.outside = o;
      }
      c.pairs.push_back(std::move(pair));
    }
    return absl::OkStatus();
  }

  absl::Status parseWorkers(const YAML::Node& v, AppConfig& c) const {
    XB_RETURN_IF_ERROR(expectMap(v, "workers"));
    XB_RETURN_IF_ERROR(checkKeys(v, "workers", {"lcores", "burst_size"}));
    if (const YAML::Node l = v["lcores"]) {
      if (!l.IsSequence() || l.size() == 0) {
        return error(l, "workers.lcores", "expected a non-empty list of lcore ids");
      }
      std::set<unsigned> seen;
      for (size_t i = 0; i < l.size(); ++i) {
        unsigned id = 0;
        const std::string key = absl::StrCat("workers.lcores[", i, "]");
        XB_RETURN_IF_ERROR(toUint(l[i], key, 0, 1023, id));
        if (!seen.insert(id).second) {
          return error(l[i], key, absl::StrCat("lcore ", id, " listed twice"));
        }
        c.worker_lcores.push_back(id);
        c.worker_lcores_where.push_back(locate(file_, l[i], key));
      }
    }
    return optUint(v, "workers", "burst_size", 1, 512, c.burst_size);
  }

  absl::Status parseQueues(const YAML::Node& v, AppConfig& c) const {
    XB_RETURN_IF_ERROR(expectMap(v, "queues"));
    XB_RETURN_IF_ERROR(checkKeys(
        v, "queues", {"rx_descriptors", "tx_descriptors", "handoff_ring", "tx_retries"}));
    XB_RETURN_IF_ERROR(optUint(v, "queues", "rx_descriptors", 32, 32768, c.rx_descriptors));
    XB_RETURN_IF_ERROR(optUint(v, "queues", "tx_descriptors", 32, 32768, c.tx_descriptors));
    XB_RETURN_IF_ERROR(optUint(v, "queues", "handoff_ring", 64, 1u << 20, c.handoff_ring));
    if (const YAML::Node h = v["handoff_ring"]; h && (c.handoff_ring & (c.handoff_ring - 1))) {
      return error(h, "queues.handoff_ring", "must be a power of two");
    }
    return optUint(v, "queues", "tx_retries", 0, 1000, c.tx_retries);
  }

  absl::Status parseFlows(const YAML::Node& v, AppConfig& c) const {
    XB_RETURN_IF_ERROR(expectMap(v, "flows"));
    XB_RETURN_IF_ERROR(checkKeys(v, "flows",
                                 {"capacity", "timeouts", "ndpi_max_packets_tcp",
                                  "ndpi_max_packets_udp", "decap_tunnels"}));
    EngineConfig& e = c.engine;
    XB_RETURN_IF_ERROR(optUint(v, "flows", "capacity", 1024, 1u << 26, e.flow_capacity));
    XB_RETURN_IF_ERROR(
        optUint(v, "flows", "ndpi_max_packets_tcp", 1, 1000, e.ndpi_max_packets_tcp));
    XB_RETURN_IF_ERROR(
        optUint(v, "flows", "ndpi_max_packets_udp", 1, 1000, e.ndpi_max_packets_udp));
    XB_RETURN_IF_ERROR(optBool(v, "flows", "decap_tunnels", e.decap_tunnels));
    if (const YAML::Node t = v["timeouts"]) {
      XB_RETURN_IF_ERROR(expectMap(t, "flows.timeouts"));
      XB_RETURN_IF_ERROR(checkKeys(t, "flows.timeouts",
                                   {"tcp_established", "tcp_transitory", "tcp_closed", "udp",
                                    "icmp", "other"}));
      constexpr uint64_t kMax = 7 * 24 * 3600;
      const char* p = "flows.timeouts";
      XB_RETURN_IF_ERROR(optUint(t, p, "tcp_established", 1, kMax, e.timeout_tcp_established));
      XB_RETURN_IF_ERROR(optUint(t, p, "tcp_transitory", 1, kMax, e.timeout_tcp_transitory));
      XB_RETURN_IF_ERROR(optUint(t, p, "tcp_closed", 1, kMax, e.timeout_tcp_closed));
      XB_RETURN_IF_ERROR(optUint(t, p, "udp", 1, kMax, e.timeout_udp));
      XB_RETURN_IF_ERROR(optUint(t, p, "icmp", 1, kMax, e.timeout_icmp));
      XB_RETURN_IF_ERROR(optUint(t, p, "other", 1, kMax, e.timeout_other));
    }
    return absl::OkStatus();
  }

  absl::Status parsePolicy(const YAML::Node& v, AppConfig& c) const {
    XB_RETURN_IF_ERROR(expectMap(v, "policy"));
    XB_RETURN_IF_ERROR(checkKeys(v, "policy", {"malformed", "table_full"}));
    if (const YAML::Node m = v["malformed"]) {
      const std::string s = m.IsScalar() ? m.Scalar() : "";
      if (s == "forward") {
        c.engine.malformed = MalformedPolicy::kForward;
      } else if (s == "drop") {
        c.engine.malformed = MalformedPolicy::kDrop;
      } else {
        return error(m, "policy.malformed",
                     absl::StrCat("unknown policy '", s, "' (expected forward or drop)"));
      }
    }
    if (const YAML::Node t = v["table_full"]) {
      const std::string s = t.IsScalar() ? t.Scalar() : "";
      if (s == "evict-oldest-idle") {
        c.engine.table_full = TableFullPolicy::kEvictOldestIdle;
      } else if (s == "forward-untracked") {
        c.engine.table_full = TableFullPolicy::kForwardUntracked;
      } else if (s == "drop") {
        c.engine.table_full = TableFullPolicy::kDrop;
      } else {
        return error(t, "policy.table_full",
                     absl::StrCat("unknown policy '", s,
                                  "' (expected evict-oldest-idle, forward-untracked or drop)"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status parseLog(const YAML::Node& v, AppConfig& c) const {
    XB_RETURN_IF_ERROR(expectMap(v, "log"));
    XB_RETURN_IF_ERROR(checkKeys(v, "log",
                                 {"flow_log", "flow_log_buffer_kib", "stats_interval",
                                  "prometheus_port", "prometheus_bind"}));
    XB_RETURN_IF_ERROR(optString(v, "log", "flow_log", c.flow_log));
    XB_RETURN_IF_ERROR(
        optUint(v, "log", "flow_log_buffer_kib", 64, 1u << 20, c.flow_log_buffer_kib));
    XB_RETURN_IF_ERROR(optUint(v, "log", "stats_interval", 0, 86400, c.stats_interval_s));
    XB_RETURN_IF_ERROR(optUint(v, "log", "prometheus_port", 0, 65535, c.prometheus_port));
    return optString(v, "log", "prometheus_bind", c.prometheus_bind);
  }

  absl::Status path(const YAML::Node& v, const std::string& key, std::string& out,
                    ConfigLocation& where) const {
    if (!v.IsScalar() || v.Scalar().empty()) {
      return error(v, key, "expected a file path");
    }
    out = v.Scalar();
    where = locate(file_, v, key);
    return absl::OkStatus();
  }

  absl::Status parseEvidence(const YAML::Node& v, EnforceConfig& e) const {
    XB_RETURN_IF_ERROR(expectMap(v, "evidence"));
    XB_RETURN_IF_ERROR(
        checkKeys(v, "evidence", {"log", "fail_policy", "ring_slots", "checkpoint_interval"}));
    if (const YAML::Node l = v["log"]) {
      XB_RETURN_IF_ERROR(path(l, "evidence.log", e.evidence_log, e.evidence_log_where));
    }
    if (const YAML::Node f = v["fail_policy"]) {
      const std::string s = f.IsScalar() ? f.Scalar() : "";
      if (s == "closed") {
        e.fail_closed = true;
      } else if (s == "open") {
        e.fail_closed = false;
      } else {
        return error(f, "evidence.fail_policy",
                     absl::StrCat("unknown policy '", s, "' (expected closed or open)"));
      }
    }
    XB_RETURN_IF_ERROR(optUint(v, "evidence", "ring_slots", 64, 1u << 20, e.evidence_ring));
    if (const YAML::Node r = v["ring_slots"]; r && (e.evidence_ring & (e.evidence_ring - 1))) {
      return error(r, "evidence.ring_slots", "must be a power of two");
    }
    return optUint(v, "evidence", "checkpoint_interval", 0, 86400, e.checkpoint_interval_s);
  }

  absl::Status parseCounters(const YAML::Node& v, EnforceConfig& e) const {
    XB_RETURN_IF_ERROR(expectMap(v, "counters"));
    XB_RETURN_IF_ERROR(checkKeys(v, "counters", {"snapshot", "merge_interval_ms", "capacity"}));
    XB_RETURN_IF_ERROR(optString(v, "counters", "snapshot", e.counters_snapshot));
    XB_RETURN_IF_ERROR(
        optUint(v, "counters", "merge_interval_ms", 10, 3600000, e.counters_merge_ms));
    return optUint(v, "counters", "capacity", 64, 1u << 24, e.counters_capacity);
  }

  absl::Status parseAnomaly(const YAML::Node& v, EnforceConfig& e) const {
    XB_RETURN_IF_ERROR(expectMap(v, "anomaly"));
    XB_RETURN_IF_ERROR(checkKeys(v, "anomaly",
                                 {"enabled", "interval", "warmup_intervals", "spike_multiple",
                                  "spike_min_bytes", "bulk_bytes", "inbound_response_bytes",
                                  "learning", "cooldown"}));
    const char* p = "anomaly";
    XB_RETURN_IF_ERROR(optBool(v, p, "enabled", e.anomaly));
    XB_RETURN_IF_ERROR(optUint(v, p, "interval", 1, 86400, e.anomaly_interval_s));
    XB_RETURN_IF_ERROR(optUint(v, p, "warmup_intervals", 0, 100000, e.anomaly_warmup_intervals));
    if (const YAML::Node m = v["spike_multiple"]) {
      double d = 0;
      if (!m.IsScalar() || !absl::SimpleAtod(m.Scalar(), &d) || !(d > 1.0) || d > 1e6) {
        return error(m, "anomaly.spike_multiple", "expected a number above 1");
      }
      e.anomaly_spike_multiple = d;
    }
    constexpr uint64_t kMaxBytes = uint64_t{1} << 50;
    XB_RETURN_IF_ERROR(optUint(v, p, "spike_min_bytes", 0, kMaxBytes, e.anomaly_spike_min_bytes));
    XB_RETURN_IF_ERROR(optUint(v, p, "bulk_bytes", 1, kMaxBytes, e.anomaly_bulk_bytes));
    XB_RETURN_IF_ERROR(optUint(v, p, "inbound_response_bytes", 1, kMaxBytes,
                               e.anomaly_inbound_response_bytes));
    XB_RETURN_IF_ERROR(optUint(v, p, "learning", 0, 366u * 86400, e.anomaly_learning_s));
    return optUint(v, p, "cooldown", 0, 86400, e.anomaly_cooldown_s);
  }

  // Rules that span keys: a port in one pair only, both sides of an inline pair.
  absl::Status crossCheck(const YAML::Node& root, const AppConfig& c) const {
    std::set<std::string> used;
    const YAML::Node ports = root["ports"];
    for (size_t i = 0; i < c.pairs.size(); ++i) {
      const PortPairConfig& p = c.pairs[i];
      if (!p.outside && c.mode == Mode::kInline) {
        return error(ports[i], absl::StrCat("ports[", i, "].outside"),
                     "missing (inline mode bridges two ports; only tap mode takes one)");
      }
      for (const PortRef* r : {&p.inside, p.outside ? &*p.outside : nullptr}) {
        if (r == nullptr) {
          continue;
        }
        if (!used.insert(r->text).second) {
          return absl::InvalidArgumentError(absl::StrCat(
              r->where.prefix(), "port '", r->text, "' is already used by another pair"));
        }
      }
    }
    if (c.burst_size > c.rx_descriptors) {
      return error(root["workers"], "workers.burst_size",
                   absl::StrCat("burst size ", c.burst_size, " exceeds queues.rx_descriptors ",
                                c.rx_descriptors));
    }
    return absl::OkStatus();
  }

  std::string file_;
};

bool parseUintArg(const std::string& s, uint32_t max, uint32_t& out) {
  uint32_t x = 0;
  if (!absl::SimpleAtoi(s, &x) || x > max) {
    return false;
  }
  out = x;
  return true;
}

}  // namespace

std::string ConfigLocation::prefix() const {
  std::string p;
  if (!file.empty()) {
    p = file;
    if (line > 0) {
      absl::StrAppend(&p, ":", line, ":", column);
    }
    p += ": ";
  }
  if (!key.empty()) {
    absl::StrAppend(&p, key, ": ");
  }
  return p;
}

absl::StatusOr<AppConfig> parseConfig(std::string_view yaml_text, const std::string& file) {
  AppConfig c;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws; we stop its exceptions here and report file:line:col.
    return absl::InvalidArgumentError(absl::StrCat(file, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": ", e.msg));
  }
  try {
    Parser p(file);
    if (absl::Status s = p.parse(root, c); !s.ok()) {
      return s;
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": ", e.msg));
  }
  return c;
}

absl::StatusOr<AppConfig> loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parseConfig(ss.str(), path);
}

std::string appUsage(std::string_view argv0) {
  return absl::StrCat(
      "Usage: ", std::string(argv0), " [EAL options] -- [options]\n",
      R"(
The xborder dataplane: bridges port pairs (inline) or watches them (tap), decodes,
tracks and classifies every flow with nDPI, and writes one JSON line per finished flow.
EAL options come first (DPDK convention), then `--`, then ours.

Options:
  --config FILE          YAML configuration (docs/deployment.md lists every key)
  --flow-log FILE        flow log path (default flows.json; overrides log.flow_log)
  --mode inline|tap      inline bridges each pair; tap forwards nothing
  --exit-on-idle MS      flush every flow and exit 0 once no port received a packet
                         for MS milliseconds (capture replay ends by itself)
  --duration S           stop after S seconds (benchmark runs) and report packets/s
  --stage STAGE          classify (default), track (decode + flow table, no nDPI) or
                         forward (no decode): for benchmarks only
  --ruleset FILE         enforce this compiled negative list (xborder-rulec output;
                         overrides `ruleset:`); needs an evidence log
  --evidence-log DIR     evidence log made by `xborder-evidence init` (evidence.log)
  --control-socket PATH  unix socket for `xborder-dataplane-ctl reload [FILE]`
                         (control.socket; default /run/xborder/dataplane.sock; none = off)
  --stats-interval S     print counters every S seconds (0 = only at exit)
  --prometheus PORT      serve counters in Prometheus text format on 127.0.0.1:PORT
                         (0 = off; log.prometheus_bind changes the address)
  --help                 this text

Without --config: ports 0 (inside) and 1 (outside) are one inline pair, one worker
per lcore after the main one, flow log to flows.json. Without a ruleset every flow is
forwarded and classified; with one, block/hold drop the flow (inline) and send TCP
RST to both ends, every decision goes to the evidence log, SIGHUP reloads the ruleset. Without free hugepages, and
unless --no-huge, -m or --socket-mem is given, --no-huge is added.

Example:
  xborder-dataplane -l 0-1 --no-huge --no-pci \
    --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=to-inside.pcap \
    --vdev net_pcap1,rx_pcap=empty.pcap,tx_pcap=to-outside.pcap \
    -- --flow-log flows.json --exit-on-idle 500

Exit status: 0 done (signal, idle, duration), 1 runtime failure (EAL, ports, files),
2 usage or configuration error.
)");
}

absl::StatusOr<CliResult> parseAppArgs(const std::vector<std::string>& args) {
  CliResult r;
  // --config first, so command-line options override the file whatever the order.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      r.help = true;
      return r;
    }
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError("--config needs a file");
      }
      absl::StatusOr<AppConfig> c = loadConfigFile(args[i + 1]);
      if (!c.ok()) {
        return c.status();
      }
      r.config = *std::move(c);
    }
  }
  AppConfig& c = r.config;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    auto need = [&](const char* what) {
      return absl::InvalidArgumentError(absl::StrCat(a, " needs ", what));
    };
    if (a == "--config") {
      ++i;
    } else if (a == "--flow-log") {
      if (!has_value || args[i + 1].empty()) {
        return need("a file");
      }
      c.flow_log = args[++i];
    } else if (a == "--mode") {
      if (!has_value) {
        return need("inline or tap");
      }
      const std::string& m = args[++i];
      if (m == "inline") {
        c.mode = Mode::kInline;
      } else if (m == "tap") {
        c.mode = Mode::kTap;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("--mode: unknown mode '", m, "' (expected inline or tap)"));
      }
    } else if (a == "--exit-on-idle") {
      if (!has_value || !parseUintArg(args[i + 1], 86400000, c.exit_on_idle_ms) ||
          c.exit_on_idle_ms == 0) {
        return need("a number of milliseconds (1..86400000)");
      }
      ++i;
    } else if (a == "--duration") {
      double d = 0;
      if (!has_value || !absl::SimpleAtod(args[i + 1], &d) || !(d > 0) || d > 1e7) {
        return need("a positive number of seconds");
      }
      c.duration_s = d;
      ++i;
    } else if (a == "--stage") {
      if (!has_value) {
        return need("classify, track or forward");
      }
      const std::string& s = args[i + 1];
      if (s == "classify") {
        c.engine.stages = Stages::kClassify;
      } else if (s == "track") {
        c.engine.stages = Stages::kTrack;
      } else if (s == "forward") {
        c.engine.stages = Stages::kForward;
      } else {
        return need("classify, track or forward");
      }
      ++i;
    } else if (a == "--ruleset") {
      if (!has_value || args[i + 1].empty()) {
        return need("a compiled ruleset file");
      }
      c.enforce.ruleset = args[++i];
      c.enforce.ruleset_where = ConfigLocation{"", 0, 0, "--ruleset"};
    } else if (a == "--evidence-log") {
      if (!has_value || args[i + 1].empty()) {
        return need("an evidence log directory");
      }
      c.enforce.evidence_log = args[++i];
      c.enforce.evidence_log_where = ConfigLocation{"", 0, 0, "--evidence-log"};
    } else if (a == "--control-socket") {
      if (!has_value || args[i + 1].empty()) {
        return need("a socket path (or none)");
      }
      c.enforce.control_socket = args[++i] == "none" ? "" : args[i];
    } else if (a == "--stats-interval") {
      if (!has_value || !parseUintArg(args[i + 1], 86400, c.stats_interval_s)) {
        return need("a number of seconds (0..86400)");
      }
      ++i;
    } else if (a == "--prometheus") {
      uint32_t port = 0;
      if (!has_value || !parseUintArg(args[i + 1], 65535, port)) {
        return need("a TCP port (0..65535)");
      }
      c.prometheus_port = static_cast<uint16_t>(port);
      ++i;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", a, "' (try --help)"));
    }
  }
  if (!c.enforce.ruleset.empty() && c.enforce.evidence_log.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.enforce.ruleset_where.prefix(),
                     "needs evidence.log or --evidence-log (every decision is recorded; "
                     "create one with xborder-evidence init --log DIR)"));
  }
  // A tap-mode file with single-port pairs cannot be switched to inline by --mode.
  if (c.mode == Mode::kInline) {
    for (size_t i = 0; i < c.pairs.size(); ++i) {
      if (!c.pairs[i].outside) {
        return absl::InvalidArgumentError(
            absl::StrCat(c.pairs[i].inside.where.prefix(),
                         "inline mode needs an outside port for this pair"));
      }
    }
  }
  return r;
}

SplitArgs splitArgs(int argc, const char* const* argv) {
  SplitArgs s;
  int i = 0;
  for (; i < argc; ++i) {
    if (i > 0 && std::string_view(argv[i]) == "--") {
      ++i;
      break;
    }
    s.eal.emplace_back(argv[i]);
  }
  for (; i < argc; ++i) {
    s.app.emplace_back(argv[i]);
  }
  return s;
}

bool needsNoHugeFallback(const std::vector<std::string>& eal_args, std::string_view meminfo) {
  for (size_t i = 1; i < eal_args.size(); ++i) {
    const std::string& a = eal_args[i];
    // "-m 512", "-m512" and "--socket-mem=..." all mean the user chose the memory.
    if (a == "--no-huge" || a.rfind("-m", 0) == 0 || a.rfind("--socket-mem", 0) == 0) {
      return false;
    }
  }
  const size_t pos = meminfo.find("HugePages_Free:");
  if (pos == std::string_view::npos) {
    return true;  // kernel without hugetlb: nothing to map
  }
  std::string_view rest = meminfo.substr(pos + 15);
  const std::string line(rest.substr(0, rest.find('\n')));
  uint64_t free_pages = 0;
  if (!absl::SimpleAtoi(line, &free_pages)) {
    return true;
  }
  return free_pages == 0;
}

absl::StatusOr<std::vector<ResolvedPair>> resolvePorts(
    const AppConfig& config,
    const std::function<std::optional<uint16_t>(const std::string&)>& lookup,
    const std::function<bool(uint16_t)>& valid) {
  std::vector<ResolvedPair> out;
  if (config.pairs.empty()) {
    if (!valid(0) || !valid(1)) {
      return absl::InvalidArgumentError(
          "default configuration needs DPDK ports 0 and 1 (give two --vdev or bind two NICs, "
          "or use --config)");
    }
    out.push_back({0, 1});
    return out;
  }
  auto one = [&](const PortRef& r) -> absl::StatusOr<uint16_t> {
    if (r.id) {
      if (!valid(*r.id)) {
        return absl::InvalidArgumentError(
            absl::StrCat(r.where.prefix(), "unknown port id ", *r.id));
      }
      return *r.id;
    }
    std::optional<uint16_t> id = lookup(r.text);
    if (!id) {
      return absl::InvalidArgumentError(absl::StrCat(r.where.prefix(), "unknown port '", r.text, "'"));
    }
    return *id;
  };
  std::set<uint16_t> used;
  for (const PortPairConfig& p : config.pairs) {
    ResolvedPair rp;
    absl::StatusOr<uint16_t> in = one(p.inside);
    if (!in.ok()) {
      return in.status();
    }
    rp.inside = *in;
    if (!used.insert(rp.inside).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          p.inside.where.prefix(), "port '", p.inside.text, "' is already used by another pair"));
    }
    if (p.outside) {
      absl::StatusOr<uint16_t> o = one(*p.outside);
      if (!o.ok()) {
        return o.status();
      }
      if (!used.insert(*o).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(p.outside->where.prefix(), "port '", p.outside->text,
                         "' is already used by another pair"));
      }
      rp.outside = *o;
    }
    out.push_back(rp);
  }
  return out;
}

absl::StatusOr<std::vector<unsigned>> resolveWorkers(const AppConfig& config,
                                                     const std::vector<unsigned>& enabled,
                                                     unsigned main_lcore) {
  std::vector<unsigned> out;
  if (config.worker_lcores.empty()) {
    for (unsigned l : enabled) {
      if (l != main_lcore) {
        out.push_back(l);
      }
    }
    if (out.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no worker lcore: EAL enabled only the main lcore ", main_lcore,
          " (give at least two lcores, e.g. -l 0-1)"));
    }
    return out;
  }
  for (size_t i = 0; i < config.worker_lcores.size(); ++i) {
    const unsigned l = config.worker_lcores[i];
    ConfigLocation w;
    if (i < config.worker_lcores_where.size()) {
      w = config.worker_lcores_where[i];
    }
    if (l == main_lcore) {
      return absl::InvalidArgumentError(absl::StrCat(
          w.prefix(), "lcore ", l, " is the main lcore (it runs logging and statistics)"));
    }
    if (std::find(enabled.begin(), enabled.end(), l) == enabled.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(w.prefix(), "lcore ", l, " is not enabled by the EAL -l/--lcores option"));
    }
    out.push_back(l);
  }
  return out;
}

std::string_view modeName(Mode m) { return m == Mode::kInline ? "inline" : "tap"; }

std::string_view malformedPolicyName(MalformedPolicy p) {
  return p == MalformedPolicy::kForward ? "forward" : "drop";
}

std::string_view tableFullPolicyName(TableFullPolicy p) {
  switch (p) {
    case TableFullPolicy::kEvictOldestIdle:
      return "evict-oldest-idle";
    case TableFullPolicy::kForwardUntracked:
      return "forward-untracked";
    case TableFullPolicy::kDrop:
      return "drop";
  }
  return "?";
}

}  // namespace xborder::dp::app
