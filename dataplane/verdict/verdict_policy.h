// The policy hook the Engine calls at every point where more becomes known about a
// flow (first packet, classification, each payload inspection step, flow end). The
// Engine stays policy-agnostic: it hands a read-only FlowView and the packet's L4
// payload to a FlowPolicy and obeys the action it returns (block/hold in inline mode
// drop every later packet of the flow, both ways). The rules-backed implementation
// (negative list + content detectors) is RulesPolicy (verdict_rules.h).
//
// Hot path: onPacket() is called per packet on the worker thread; implementations
// must not allocate, lock, throw or make syscalls there.
#pragma once

#include <cstdint>
#include <string_view>

namespace xborder::dp {

// Ordered by severity (a flow keeps its most severe decision once block/hold).
enum class PolicyAction : uint8_t { kAllow = 0, kLog = 1, kAlert = 2, kHold = 3, kBlock = 4 };
inline constexpr const char* kPolicyActionNames[] = {"allow", "log", "alert", "hold", "block"};
inline bool dropsTraffic(PolicyAction a) { return a == PolicyAction::kHold || a == PolicyAction::kBlock; }

// What the engine knows about a flow when it calls the policy. Views point into the
// engine's flow state and are valid only during the call.
struct FlowView {
  uint32_t flow_index = 0;  // flow-table slot: stable for the flow's lifetime
  uint32_t flow_gen = 0;    // slot generation: (index, gen) identifies the flow
  // Client = the first sender seen; addresses are 16 bytes (IPv4 in the first 4).
  const uint8_t* client_ip = nullptr;
  const uint8_t* server_ip = nullptr;
  uint8_t ip_version = 4;
  uint8_t proto = 0;  // IP protocol
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint16_t vlan = 0;
  uint8_t side = 0;          // Side of this packet (0 inside, 1 outside)
  bool classified = false;   // nDPI finished (detected or gave up)
  std::string_view app;      // nDPI protocol label, e.g. "TLS.Google" ("" while pending)
  std::string_view app_proto;  // EVE-style lower case: "http", "tls", ...
  std::string_view host;     // TLS SNI / HTTP Host from nDPI, may be empty
  std::string_view url;      // HTTP URL from nDPI, may be empty
  uint64_t pkts[2] = {0, 0};   // [0] client->server, [1] server->client
  uint64_t bytes[2] = {0, 0};  // frame bytes so far (incl. this packet)
  uint64_t first_ns = 0;
  uint64_t now_ns = 0;       // this packet's capture/receive time
};

// The packet being judged: its direction and L4 payload (empty for pure ACKs etc.).
struct PacketView {
  uint8_t dir = 0;  // 0 client->server, 1 server->client
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;
  bool tcp = false;
  bool has_seq = false;  // tcp_seq valid (TCP header fully readable)
  uint32_t tcp_seq = 0;
  uint8_t tcp_flags = 0;
};

// Where the engine appends the policy's fields to a flow log record.
class FlowLogFields {
 public:
  virtual ~FlowLogFields() = default;
  // Raw JSON members, e.g. R"("verdict":{...},"tenant":"T-1")" (no braces around).
  virtual void append(std::string_view json_members) noexcept = 0;
};

class FlowPolicy {
 public:
  virtual ~FlowPolicy() = default;
  // Every packet of a tracked flow, after decode, tracking and nDPI. Returns the
  // flow's current action; the engine drops the packet when dropsTraffic(action)
  // and it runs inline.
  virtual PolicyAction onPacket(const FlowView& flow, const PacketView& pkt) noexcept = 0;
  // The flow ends (before its flow log record is written): final decision; the
  // policy may add members to the record and must release its per-flow state.
  virtual void onFlowEnd(const FlowView& flow, FlowLogFields* log) noexcept = 0;

  // Decided-flow fast path (optional; the defaults keep every packet on onPacket).
  // Asked right after onPacket returned `action`: true when nothing in the flow's later
  // packets can change that action under the ruleset version in force (block/hold are
  // sticky; or the flow is classified, judged and no longer inspected). The engine then
  // stops calling onPacket for the flow -- it still tracks and counts its packets and,
  // inline, drops them when dropsTraffic(action) -- until epoch() changes; onFlowEnd is
  // called as usual. Worker thread, hot path: no allocation, lock or syscall.
  virtual bool settled(const FlowView& flow, PolicyAction action) const noexcept {
    (void)flow;
    (void)action;
    return false;
  }
  // Changes whenever the policy starts judging under another ruleset version (adopt).
  // The engine reads it once per burst; settled flows are judged again at their next
  // packet after a change.
  virtual uint64_t epoch() const noexcept { return 0; }
};

// Issue 5: sends TCP RST to both ends of a blocked flow (inline mode). The engine
// calls it once, at the moment of decision; nullptr = no RST (tap mode, dry run).
class RstInjector {
 public:
  virtual ~RstInjector() = default;
  virtual void resetBoth(const FlowView& flow, const PacketView& pkt) noexcept = 0;
};

}  // namespace xborder::dp
