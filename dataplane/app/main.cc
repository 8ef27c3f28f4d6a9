// xborder-dataplane: EAL options, then `--`, then ours (see --help and
// docs/deployment.md). The main lcore does the control work: flow log file writes,
// counters, Prometheus, signals, idle/duration stop. Workers only move packets.
#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/app/app_config.h"
#include "dataplane/app/app_control.h"
#include "dataplane/app/app_enforce.h"
#include "dataplane/app/app_metrics.h"
#include "dataplane/app/app_prometheus.h"
#include "dataplane/app/app_runtime.h"

namespace xborder::dp::app {
namespace {

constexpr const char* kProg = "xborder-dataplane";
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_reload = 0;
void onSignal(int sig) { g_signal = sig; }
void onHangup(int) { g_reload = 1; }

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "%s: %s\n", kProg, msg.c_str());
  return code;
}

std::string readFile(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t wallNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

class FlowLogFile {
 public:
  ~FlowLogFile() { close(); }
  bool open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return fd_ >= 0;
  }
  void write(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t k = ::write(fd_, p, n);
      if (k < 0 && errno == EINTR) {
        continue;
      }
      if (k <= 0) {
        ++errors_;
        return;
      }
      p += k;
      n -= static_cast<size_t>(k);
    }
  }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  uint64_t errors() const { return errors_; }

 private:
  int fd_ = -1;
  uint64_t errors_ = 0;
};

class App {
 public:
  int run(int argc, char** argv);

 private:
  void drainLogs() {
    for (auto& l : rt_.flow_logs) {
      l->drain([this](const char* p, size_t n) { file_.write(p, n); });
    }
  }
  // Once a second: re-anchor the workers' clock on CLOCK_REALTIME with the TSC rate
  // measured since start (rte_get_tsc_hz() is a few 0.1% off on some VMs: records would
  // drift seconds per hour). Never moves time backwards.
  void reanchorClock() {
    const uint64_t tsc = rte_rdtsc();
    if (tsc - last_anchor_tsc_ < rt_.clock.hz) {
      return;
    }
    last_anchor_tsc_ = tsc;
    const uint64_t wall = wallNs();
    const TscClock old = rt_.shared_clock.read();
    TscClock c;
    c.base_tsc = tsc;
    c.hz = old.hz;
    if (wall > rt_.clock.base_ns + 1000000000ull && tsc > rt_.clock.base_tsc) {
      const unsigned __int128 ticks = static_cast<unsigned __int128>(tsc - rt_.clock.base_tsc) * 1000000000u;
      const uint64_t measured = static_cast<uint64_t>(ticks / (wall - rt_.clock.base_ns));
      // A wall clock step (NTP) would make the measurement meaningless: keep within 1%.
      if (measured > rt_.clock.hz - rt_.clock.hz / 100 && measured < rt_.clock.hz + rt_.clock.hz / 100) {
        c.hz = measured;
      }
    }
    c.base_ns = std::max(wall, old.ns(tsc));
    rt_.shared_clock.publish(c);
  }

  // One round of main-lcore chores; sleeps up to 10 ms (in poll when Prometheus is on).
  void chores() {
    drainLogs();
    reanchorClock();
    if (enforce_) {
      enforce_->chores();
      if (g_reload != 0) {
        g_reload = 0;
        enforce_->reload("", "SIGHUP");
      }
      control_.poll([this](std::string_view line) { return enforce_->handleControl(line); });
    }
    if (prom_.running()) {
      prom_.poll(10, [this] { return renderPrometheus(rt_); });
    } else {
      rte_delay_us_sleep(10000);
    }
  }
  void advancePhase(int phase) {
    rt_.phase.store(phase, std::memory_order_release);
    for (;;) {
      bool all = true;
      for (unsigned w = 0; w < rt_.nworkers; ++w) {
        all &= rt_.ack[w]->load(std::memory_order_acquire) >= phase;
      }
      if (all) {
        return;
      }
      drainLogs();
      rte_delay_us_sleep(1000);
    }
  }

  Runtime rt_;
  FlowLogFile file_;
  PrometheusServer prom_;
  std::unique_ptr<Enforcement> enforce_;
  ControlServer control_;
  uint64_t last_anchor_tsc_ = 0;
};

int App::run(int argc, char** argv) {
  SplitArgs split = splitArgs(argc, argv);
  for (size_t i = 1; i < split.eal.size(); ++i) {
    if (split.eal[i] == "--help" || split.eal[i] == "-h") {
      std::fputs(appUsage(kProg).c_str(), stdout);
      return 0;
    }
  }
  absl::StatusOr<CliResult> cli = parseAppArgs(split.app);
  if (!cli.ok()) {
    return fail(kExitUsage, std::string(cli.status().message()));
  }
  if (cli->help) {
    std::fputs(appUsage(kProg).c_str(), stdout);
    return 0;
  }
  rt_.cfg = std::move(cli->config);
  const AppConfig& cfg = rt_.cfg;

  if (needsNoHugeFallback(split.eal, readFile("/proc/meminfo"))) {
    std::fprintf(stderr, "%s: no free hugepages: adding --no-huge (slower, same behaviour)\n",
                 kProg);
    split.eal.insert(split.eal.begin() + 1, "--no-huge");
  }
  std::vector<char*> eal_argv;
  for (std::string& s : split.eal) {
    eal_argv.push_back(s.data());
  }
  eal_argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(split.eal.size()), eal_argv.data()) < 0) {
    return fail(kExitRuntime,
                std::string("EAL initialisation failed: ") + rte_strerror(rte_errno) +
                    " (EAL options come before `--`; try --help)");
  }

  std::vector<unsigned> enabled;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH(lcore) { enabled.push_back(lcore); }
  absl::StatusOr<std::vector<unsigned>> workers =
      resolveWorkers(cfg, enabled, rte_get_main_lcore());
  if (!workers.ok()) {
    return fail(kExitUsage, std::string(workers.status().message()));
  }
  absl::StatusOr<std::vector<ResolvedPair>> pairs = resolvePorts(
      cfg,
      [](const std::string& name) -> std::optional<uint16_t> {
        uint16_t id = 0;
        if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
          return std::nullopt;
        }
        return id;
      },
      [](uint16_t id) { return rte_eth_dev_is_valid_port(id) != 0; });
  if (!pairs.ok()) {
    return fail(kExitUsage, std::string(pairs.status().message()));
  }

  rt_.worker_lcores = *workers;
  rt_.nworkers = static_cast<unsigned>(workers->size());
  rt_.clock.hz = rte_get_tsc_hz();
  rt_.clock.base_tsc = rte_rdtsc();
  rt_.clock.base_ns = wallNs();
  rt_.shared_clock.publish(rt_.clock);
  last_anchor_tsc_ = rt_.clock.base_tsc;

  // Issue 5: the ruleset, evidence log, counters and one policy per worker.
  if (!cfg.enforce.ruleset.empty()) {
    uint32_t cap = 1;  // the engine rounds up too; the policy indexes by flow slot
    while (cap < cfg.engine.flow_capacity) {
      cap <<= 1;
    }
    absl::StatusOr<std::unique_ptr<Enforcement>> en = Enforcement::create(cfg, rt_.nworkers, cap);
    if (!en.ok()) {
      return fail(en.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                            : kExitRuntime,
                  std::string(en.status().message()));
    }
    enforce_ = *std::move(en);
    rt_.enforce = enforce_.get();
    if (cfg.mode == Mode::kInline) {
      for (unsigned w = 0; w < rt_.nworkers; ++w) {
        rt_.rst.push_back(std::make_unique<WorkerRst>());
        const std::string name = "xb_rst_" + std::to_string(w);
        // Small: RSTs are 2 per blocked flow and leave at the next tx flush.
        rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), 1023, 32, 0,
                                                  RTE_PKTMBUF_HEADROOM + 128,
                                                  static_cast<int>(rte_lcore_to_socket_id(
                                                      rt_.worker_lcores[w])));
        if (mp == nullptr) {
          return fail(kExitRuntime, "cannot create the RST mbuf pool: " +
                                        std::string(rte_strerror(rte_errno)));
        }
        rt_.rst_pools.push_back(mp);
      }
    }
  }

  // Per worker: flow log sink, Engine, counters (control path allocations).
  for (unsigned w = 0; w < rt_.nworkers; ++w) {
    std::string err;
    auto log = WorkerFlowLog::create(w, cfg.flow_log_buffer_kib * 1024u, 8,
                                     rt_.clock.hz / 5 /* hand off partial buffers at 200 ms */,
                                     &err);
    if (!log) {
      return fail(kExitRuntime, err);
    }
    EngineConfig ec = cfg.engine;
    ec.worker_id = w;
    if (enforce_) {
      ec.policy = enforce_->policy(w);
      ec.inline_mode = cfg.mode == Mode::kInline;  // tap: every verdict is an alert
      ec.rst = w < rt_.rst.size() ? rt_.rst[w].get() : nullptr;
    }
    auto engine = Engine::create(ec, log.get(), &err);
    if (!engine) {
      return fail(kExitRuntime, "worker " + std::to_string(w) + ": engine: " + err);
    }
    rt_.flow_logs.push_back(std::move(log));
    rt_.engines.push_back(std::move(engine));
    rt_.stats.push_back(std::make_unique<WorkerStats>());
    rt_.stats.back()->w.last_rx_tsc.store(rt_.clock.base_tsc);
    rt_.ack.push_back(std::make_unique<std::atomic<int>>(kRun));
    rt_.done.push_back(std::make_unique<std::atomic<bool>>(false));
  }

  if (absl::Status s = setupPorts(rt_, *pairs); !s.ok()) {
    // A port that refuses a configured value (MTU) is a configuration error.
    return fail(s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitRuntime,
                std::string(s.message()));
  }
  if (absl::Status s = setupRings(rt_); !s.ok()) {
    return fail(kExitRuntime, std::string(s.message()));
  }
  if (!file_.open(cfg.flow_log)) {
    return fail(kExitRuntime, "flow log " + cfg.flow_log + ": " + std::strerror(errno));
  }
  if (cfg.prometheus_port != 0) {
    if (absl::Status s = prom_.start(cfg.prometheus_bind, cfg.prometheus_port); !s.ok()) {
      return fail(kExitRuntime, std::string(s.message()));
    }
  }
  if (enforce_ && !cfg.enforce.control_socket.empty()) {
    if (absl::Status s = control_.start(cfg.enforce.control_socket); !s.ok()) {
      return fail(kExitRuntime, std::string(s.message()));
    }
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  if (enforce_) {
    std::signal(SIGHUP, onHangup);
    enforce_->start();
  }

  std::fprintf(stderr, "%s: %s mode, %u worker(s), flow log %s\n", kProg,
               std::string(modeName(cfg.mode)).c_str(), rt_.nworkers, cfg.flow_log.c_str());
  for (const PortInfo& p : rt_.ports) {
    std::fprintf(stderr, "%s:   port %u %s (%s) -> %s, %u rx / %u tx queues, %s\n", kProg, p.id,
                 p.name.c_str(), p.side == Side::kInside ? "inside" : "outside",
                 p.peer == kNoPort ? "nothing (tap)" : rt_.port(p.peer).name.c_str(), p.nb_rxq,
                 p.nb_txq,
                 p.rss ? "symmetric RSS" : p.handoff ? "software hash hand-off" : "single queue");
  }
  if (control_.running()) {
    std::fprintf(stderr, "%s: control socket %s (xborder-dataplane-ctl reload [FILE]; SIGHUP)\n",
                 kProg, control_.path().c_str());
  }
  if (prom_.running()) {
    std::fprintf(stderr, "%s: prometheus on http://%s:%u/metrics\n", kProg,
                 cfg.prometheus_bind.c_str(), prom_.port());
  }

  // The idle clock starts now, not at EAL start: set-up can take longer than MS.
  const uint64_t start = rte_rdtsc();
  for (auto& st : rt_.stats) {
    st->w.last_rx_tsc.store(start, std::memory_order_relaxed);
  }
  std::vector<WorkerArgs> args(rt_.nworkers);
  for (unsigned w = 0; w < rt_.nworkers; ++w) {
    args[w] = {&rt_, w};
    if (int rc = rte_eal_remote_launch(workerMain, &args[w], rt_.worker_lcores[w]); rc != 0) {
      return fail(kExitRuntime, "cannot launch worker on lcore " +
                                    std::to_string(rt_.worker_lcores[w]) + ": " +
                                    rte_strerror(-rc));
    }
  }

  const uint64_t hz = rt_.clock.hz;
  uint64_t next_stats = start + cfg.stats_interval_s * hz;
  const char* why = "signal";
  for (;;) {
    chores();
    const uint64_t now = rte_rdtsc();
    if (g_signal != 0) {
      why = g_signal == SIGINT ? "SIGINT" : "SIGTERM";
      break;
    }
    if (cfg.duration_s > 0 && static_cast<double>(now - start) >= cfg.duration_s * hz) {
      why = "duration reached";
      break;
    }
    if (cfg.exit_on_idle_ms > 0) {
      uint64_t last = 0;
      for (const auto& st : rt_.stats) {
        last = std::max(last, st->w.last_rx_tsc.load(std::memory_order_relaxed));
      }
      if (now > last && now - last >= cfg.exit_on_idle_ms * hz / 1000) {
        why = "idle";
        break;
      }
    }
    if (cfg.stats_interval_s > 0 && now >= next_stats) {
      printStats(rt_, stdout, static_cast<double>(now - start) / hz);
      next_stats += cfg.stats_interval_s * hz;
    }
  }
  const double elapsed = static_cast<double>(rte_rdtsc() - start) / hz;

  // Stop in phases so that no packet is in flight when the flow tables are flushed.
  std::fprintf(stderr, "%s: stopping (%s): flushing every open flow\n", kProg, why);
  advancePhase(kStopRx);
  advancePhase(kDrainRx);
  if (enforce_) {
    enforce_->beforeFinalFlush(std::chrono::seconds(3));
  }
  advancePhase(kFinal);
  rte_eal_mp_wait_lcore();
  drainLogs();
  file_.close();
  control_.stop();
  if (enforce_) {
    enforce_->stop(why);  // APPLIANCE stop, last counters, writer drained, checkpoint
  }

  printStats(rt_, stdout, elapsed);
  const Totals t = totals(rt_);
  // Rate over the time packets actually arrived (a replay's idle tail excluded).
  uint64_t first = 0, last = 0;
  for (const auto& st : rt_.stats) {
    const uint64_t f = st->w.first_rx_tsc.load(std::memory_order_relaxed);
    if (f != 0 && (first == 0 || f < first)) {
      first = f;
    }
    last = std::max(last, st->w.last_rx_tsc.load(std::memory_order_relaxed));
  }
  const double active = first != 0 && last > first ? static_cast<double>(last - first) / hz : 0;
  // Injected RSTs leave on the ports too: forwarded counts only what was received.
  uint64_t resets = 0;
  for (const auto& st : rt_.stats) {
    resets += st->w.rst_sent.get();
  }
  std::printf("xborder-dataplane: received %lu, forwarded %lu, dropped %lu packets in %.3f s; "
              "injected %lu resets; %.0f packets/s over the %.3f s between first and last packet\n",
              t.rx, t.forwarded - std::min(resets, t.forwarded), t.dropped, elapsed, resets,
              active > 0 ? t.rx / active : 0.0, active);
  std::fflush(stdout);
  uint64_t lost = 0;
  for (const auto& l : rt_.flow_logs) {
    lost += l->lost();
  }
  stopPorts(rt_);
  rt_.engines.clear();
  rt_.flow_logs.clear();
  rt_.enforce = nullptr;
  enforce_.reset();
  rte_eal_cleanup();
  if (file_.errors() > 0) {
    return fail(kExitRuntime, "flow log " + cfg.flow_log + ": write errors, records lost");
  }
  if (lost > 0) {
    std::fprintf(stderr, "%s: warning: %lu flow records lost (flow log buffers full)\n", kProg,
                 lost);
  }
  return 0;
}

}  // namespace
}  // namespace xborder::dp::app

int main(int argc, char** argv) {
  xborder::dp::app::App app;
  return app.run(argc, argv);
}
