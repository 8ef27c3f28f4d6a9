// The dataplane's packet logic behind one per-worker object: decode -> flow table ->
// classify (nDPI) -> verdict -> flow log. No DPDK include: the DPDK application,
// the dry run, the benchmarks and the tests all drive the same code with bytes.
//
// Threading: one Engine per worker, used only by that worker (no locks inside).
// visitCounters() may be called from another thread; counters are relaxed atomics.
//
// This header is the contract between dataplane/app (DPDK), rules/dryrun and
// the packet library; extend it, do not break it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/verdict/verdict_policy.h"

namespace xborder::dp {

// Which side of the gateway a packet arrived on. Inside = the zone (the exporting
// tenants), outside = the cross-border line.
enum class Side : uint8_t { kInside = 0, kOutside = 1 };

struct PacketIn {
  const uint8_t* data = nullptr;  // first byte of the Ethernet frame
  uint32_t caplen = 0;            // bytes readable at data
  uint32_t wirelen = 0;           // original frame length (>= caplen); larger means the
                                  // frame was cut (snaplen, first mbuf segment): what is
                                  // readable is still tracked, not called malformed
  uint64_t ts_ns = 0;             // receive time, ns since the Unix epoch
  Side side = Side::kInside;
};

enum class Verdict : uint8_t { kForward = 0, kDrop = 1 };

// What to do with a packet the decoder rejects (documented in docs/deployment.md).
enum class MalformedPolicy : uint8_t { kForward = 0, kDrop = 1 };
// How much of the pipeline runs. kClassify is the product; the other two exist so
// scripts/bench/dataplane.sh can price each stage: (a) forward only, (b) + decode and
// flow table, (c) + nDPI.
enum class Stages : uint8_t { kClassify = 0, kTrack = 1, kForward = 2 };
// What to do with a new flow when the table is full.
enum class TableFullPolicy : uint8_t { kEvictOldestIdle = 0, kForwardUntracked = 1, kDrop = 2 };

struct EngineConfig {
  uint32_t worker_id = 0;
  uint32_t flow_capacity = 1u << 20;  // per worker; rounded up to a power of two
  // Idle timeouts, seconds.
  uint32_t timeout_tcp_established = 3600;
  uint32_t timeout_tcp_transitory = 120;  // handshake not completed
  uint32_t timeout_tcp_closed = 10;       // after FIN both ways or RST
  uint32_t timeout_udp = 180;
  uint32_t timeout_icmp = 30;
  uint32_t timeout_other = 60;
  // nDPI packet budget per flow before giving up (ndpiReader 4.2 uses 80 / 24).
  uint16_t ndpi_max_packets_tcp = 80;
  uint16_t ndpi_max_packets_udp = 24;
  MalformedPolicy malformed = MalformedPolicy::kForward;
  TableFullPolicy table_full = TableFullPolicy::kEvictOldestIdle;
  bool decap_tunnels = true;  // GRE, VXLAN, GTP-U, IP-in-IP: track the inner flow
  Stages stages = Stages::kClassify;  // benchmarks only: see Stages
  // Flows being classified at once (each holds ~688 B of nDPI state until done);
  // 0 = min(flow_capacity, 65536). Also sizes the extracted-metadata pool.
  uint32_t ndpi_pool_size = 0;
  // Work units per advanceTime() call (flows visited + wheel seconds advanced).
  uint32_t expire_budget = 4096;
  // Verdict stage (dataplane/verdict): called at every packet of a tracked flow and at
  // flow end; nullptr = forward everything (no list loaded). Not owned.
  FlowPolicy* policy = nullptr;
  // Inline: block/hold drop the flow's later packets both ways. Tap: never drop (the
  // policy reports every verdict as an alert).
  bool inline_mode = true;
  // Issue 5: RST to both ends when a flow is blocked inline; nullptr = none. Not owned.
  RstInjector* rst = nullptr;
  // Decided-flow fast path: once the policy says a flow is settled (FlowPolicy::settled),
  // its later packets skip the policy call (decode, flow lookup, counting and the cached
  // drop/forward only) until the policy's epoch() changes. false = call the policy on
  // every packet (benchmarks compare both; results are the same).
  bool settle_flows = true;
  // Known-flow fast path (engine.cc, dataplane/parse/parse_fast.h): a plain
  // Ethernet/IP/TCP-or-UDP packet of a known flow that needs neither nDPI nor the
  // policy (no policy, or settled) is counted without the general decoder. false =
  // every packet takes the general decoder (tests compare both; results are the same).
  bool fast_path = true;
};

// Receives each finished flow as one JSON line (Suricata EVE "flow" field names,
// no trailing newline; fields in docs/architecture.md). Called on the worker
// thread; must not block for long.
class FlowLogSink {
 public:
  virtual ~FlowLogSink() = default;
  virtual void onFlowRecord(std::string_view json_line) noexcept = 0;
};

// Prometheus-style exposition of every counter: name, one label, value.
class CounterVisitor {
 public:
  virtual ~CounterVisitor() = default;
  virtual void counter(std::string_view name, std::string_view label_key,
                       std::string_view label_value, uint64_t value) = 0;
};

class Engine {
 public:
  // Control path. Returns nullptr and fills *error on failure (e.g. nDPI init).
  static std::unique_ptr<Engine> create(const EngineConfig& config, FlowLogSink* sink,
                                        std::string* error);
  virtual ~Engine() = default;

  // Hot path: decode, track, classify and judge n packets; verdicts[i] for pkts[i].
  virtual void processBurst(const PacketIn* pkts, uint16_t n, Verdict* verdicts) noexcept = 0;
  // Expire idle flows up to now_ns (bounded work per call; call once per loop).
  virtual void advanceTime(uint64_t now_ns) noexcept = 0;
  // Shutdown: log every open flow with reason "shutdown" and empty the table.
  virtual void flushAll(uint64_t now_ns) noexcept = 0;

  virtual void visitCounters(CounterVisitor& v) const = 0;
  virtual uint64_t activeFlows() const noexcept = 0;
};

}  // namespace xborder::dp
