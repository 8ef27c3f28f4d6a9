// Runtime state of xborder-dataplane shared by the main lcore and the workers: the
// port table, the hand-off rings, the stop protocol and the per-worker counters.
// Built by the main lcore before the workers start; read-only afterwards, except the
// counters (one writer each) and the phase flags (atomics).
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/app/app_config.h"
#include "dataplane/app/app_enforce.h"
#include "dataplane/app/app_flow_log.h"
#include "dataplane/base/counters.h"
#include "dataplane/engine/engine.h"

namespace xborder::dp::app {

constexpr uint16_t kNoPort = 0xffff;

struct PortInfo {
  uint16_t id = 0;
  std::string name;  // device name, e.g. net_pcap0 or 0000:03:00.0
  Side side = Side::kInside;
  uint16_t peer = kNoPort;  // where forwarded packets leave; kNoPort in tap mode
  int socket = 0;
  uint16_t nb_rxq = 1;
  uint16_t nb_txq = 1;
  bool rss = false;      // hardware RSS spreads rx over one queue per worker
  bool handoff = false;  // one rx queue, polled by rx_owner, software hash hand-off
  unsigned rx_owner = 0;
  unsigned tx_owner = 0;  // worker that owns tx queue 0 when nb_txq < workers
};

// Stop protocol, driven by the main lcore. Each phase is acknowledged by every worker
// before the next starts, so no packet is in a ring when the flow table is flushed.
enum Phase : int {
  kRun = 0,
  kStopRx = 1,     // workers stop polling ports, keep draining rings
  kDrainRx = 2,    // workers empty their hand-off rings (no producer is left)
  kFinal = 3,      // workers empty their tx rings, flushAll(), hand off the flow log, exit
};

// Per (worker, port) counters: the worker polls one queue per port, so these are
// also the per-queue counters.
struct alignas(64) PortWorkerCounters {
  RelaxedCounter rx_packets, rx_bytes;       // received from the port by this worker
  RelaxedCounter tx_packets, tx_bytes;       // sent on this port by this worker
  RelaxedCounter tx_dropped;                 // tx ring full after bounded retries
  RelaxedCounter verdict_dropped;            // the Engine said drop
  RelaxedCounter tap_consumed;               // tap mode: processed, not forwarded
  RelaxedCounter handoff_out, handoff_dropped;  // to other workers; ring full
  RelaxedCounter multiseg;                   // chained mbufs copied for the Engine
};

struct alignas(64) WorkerCounters {
  RelaxedCounter loops, busy_loops;
  RelaxedCounter rst_sent;    // RST frames staged for tx (two per blocked TCP flow)
  RelaxedCounter rst_failed;  // blocked TCP flow without RST: frame not answerable, no mbuf
  RelaxedCounter handoff_in;
  RelaxedCounter tx_handoff_out, tx_handoff_dropped, tx_handoff_in;
  std::atomic<uint64_t> first_rx_tsc{0};  // 0 until the first packet
  std::atomic<uint64_t> last_rx_tsc{0};
};

struct WorkerStats {
  WorkerCounters w;
  std::array<PortWorkerCounters, RTE_MAX_ETHPORTS> port;
};

// TSC to Unix ns without a syscall. rte_get_tsc_hz() can be off by a few 0.1% on VMs,
// so the main lcore re-anchors the clock every second against CLOCK_REALTIME (with the
// TSC rate measured over the run) and publishes it under a seqlock; workers read it
// once per loop. Timestamps never go backwards across a re-anchor.
struct TscClock {
  uint64_t base_tsc = 0;
  uint64_t base_ns = 0;
  uint64_t hz = 1;
  uint64_t ns(uint64_t tsc) const {
    const unsigned __int128 d = static_cast<unsigned __int128>(tsc - base_tsc) * 1000000000u;
    return base_ns + static_cast<uint64_t>(d / hz);
  }
};

class SharedClock {
 public:
  // Main lcore only (single writer).
  void publish(const TscClock& c) {
    const uint32_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    base_tsc_.store(c.base_tsc, std::memory_order_relaxed);
    base_ns_.store(c.base_ns, std::memory_order_relaxed);
    hz_.store(c.hz, std::memory_order_relaxed);
    seq_.store(s + 2, std::memory_order_release);
  }
  // Any thread; retries only while a publish is in progress (nanoseconds, once a second).
  TscClock read() const {
    TscClock c;
    for (;;) {
      const uint32_t s1 = seq_.load(std::memory_order_acquire);
      c.base_tsc = base_tsc_.load(std::memory_order_relaxed);
      c.base_ns = base_ns_.load(std::memory_order_relaxed);
      c.hz = hz_.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if ((s1 & 1) == 0 && seq_.load(std::memory_order_relaxed) == s1) {
        return c;
      }
    }
  }
  uint64_t ns(uint64_t tsc) const { return read().ns(tsc); }

 private:
  std::atomic<uint32_t> seq_{0};
  std::atomic<uint64_t> base_tsc_{0}, base_ns_{0}, hz_{1};
};

// The engine's RstInjector for one worker; forwards to the worker loop, which knows
// the burst being judged and owns the tx buffers (bound when the worker starts).
class RstTarget {
 public:
  virtual ~RstTarget() = default;
  virtual void sendRst(const FlowView& flow, const PacketView& pkt) noexcept = 0;
};
class WorkerRst final : public RstInjector {
 public:
  void resetBoth(const FlowView& flow, const PacketView& pkt) noexcept override {
    if (target != nullptr) target->sendRst(flow, pkt);
  }
  RstTarget* target = nullptr;
};

struct Runtime {
  AppConfig cfg;
  unsigned nworkers = 0;
  std::vector<unsigned> worker_lcores;
  std::vector<PortInfo> ports;                         // in use, in config order
  std::array<int16_t, RTE_MAX_ETHPORTS> slot_of_port;  // port id -> index in ports, -1
  // handoff[src][dst], txring[src][dst]: SP/SC, nullptr on the diagonal.
  std::vector<std::vector<struct rte_ring*>> handoff, txring;
  std::vector<struct rte_mempool*> pools;  // by NUMA socket
  TscClock clock;           // the anchor at start (main lcore)
  SharedClock shared_clock;  // re-anchored every second; what workers read

  std::atomic<int> phase{kRun};
  std::vector<std::unique_ptr<std::atomic<int>>> ack;  // per worker: last phase done
  std::vector<std::unique_ptr<std::atomic<bool>>> done;

  // Issue 5 (null / empty without a ruleset).
  Enforcement* enforce = nullptr;
  std::vector<std::unique_ptr<WorkerRst>> rst;     // per worker (inline mode)
  std::vector<struct rte_mempool*> rst_pools;      // per worker: RST frames only

  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<std::unique_ptr<WorkerFlowLog>> flow_logs;
  std::vector<std::unique_ptr<WorkerStats>> stats;

  const PortInfo& port(uint16_t id) const { return ports[static_cast<size_t>(slot_of_port[id])]; }
};

// Ports and mempools (app_ports.cc). Fills rt.ports and rt.pools, starts the ports.
absl::Status setupPorts(Runtime& rt, const std::vector<ResolvedPair>& pairs);
void stopPorts(Runtime& rt);
absl::Status setupRings(Runtime& rt);

// Worker entry point (app_worker.cc), for rte_eal_remote_launch; arg is a WorkerArgs*.
struct WorkerArgs {
  Runtime* rt = nullptr;
  unsigned index = 0;
};
int workerMain(void* arg);

}  // namespace xborder::dp::app
