// The Engine: decode -> flow table -> nDPI -> verdict -> flow log, one worker.
// Per-packet loop over the burst (no prefetch: not yet shown to pay off).
//
// Known-flow fast path (processOne): a packet decodeFast reads (plain Ethernet/IP/TCP
// or UDP, see parse_fast.h) is looked up first; when its flow is known, no longer
// classifying and, with a policy, settled under the current epoch, it is counted and
// judged in fastKnown() without decodePacket. It exists because the general decoder
// cost more than the rest of a decided packet (docs/benchmarks/enforce.md). It may
// never differ from the full path for such a packet: the same flow fields, TCP state,
// verdict and engine counters (dp_engine_settled_test runs the corpus both ways). Any
// other packet takes the full path, which reuses the lookup instead of hashing again.
#include "dataplane/engine/engine.h"

#include <array>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "dataplane/base/counters.h"
#include "dataplane/base/drop_reason.h"
#include "dataplane/classify/ndpi_adapter.h"
#include "dataplane/flow/frag_cache.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/flowlog/flow_record.h"
#include "dataplane/parse/parse.h"
#include "dataplane/parse/parse_fast.h"

namespace xborder::dp {
namespace {

constexpr uint32_t kFragCacheSize = 4096;

bool updateTcpState(FlowEntry* e, uint32_t dir, uint8_t flags);

// Updates the TCP state from one packet's flags; returns true if the flow just
// became closed (its idle timeout shrinks, so it must be re-filed in the wheel).
inline bool updateTcp(FlowEntry* e, uint32_t dir, uint8_t flags) {
  e->tcp_flags[dir] |= flags;
  // The common packet (no SYN, FIN or RST on an established flow) changes nothing in
  // updateTcpState: an established flow has not seen FIN both ways (that closes it for
  // good), and this packet adds no FIN.
  if ((flags & (kTcpSyn | kTcpFin | kTcpRst)) == 0 && e->tcp_state == TcpState::kEstablished) {
    return false;
  }
  return updateTcpState(e, dir, flags);
}

// The state machine proper (tcp_flags already updated).
[[gnu::noinline]] bool updateTcpState(FlowEntry* e, uint32_t dir, uint8_t flags) {
  const TcpState before = e->tcp_state;
  TcpState s = before;
  if (flags & kTcpRst) {
    s = TcpState::kClosed;
  } else if ((e->tcp_flags[0] & kTcpFin) && (e->tcp_flags[1] & kTcpFin)) {
    s = TcpState::kClosed;
  } else if (flags & kTcpFin) {
    if (s != TcpState::kClosed) {
      s = TcpState::kFinWait;
    }
  } else {
    const bool syn = flags & kTcpSyn;
    const bool ack = flags & kTcpAck;
    switch (s) {
      case TcpState::kNone:
        if (syn && !ack) {
          s = TcpState::kSynSent;
        } else if (syn && ack) {
          s = TcpState::kSynRecv;  // picked up after the SYN
        } else if (e->pkts[0] != 0 && e->pkts[1] != 0) {
          s = TcpState::kEstablished;  // mid-stream pickup, both sides talking
        }
        break;
      case TcpState::kSynSent:
        if (syn && ack && dir == 1) {
          s = TcpState::kSynRecv;
        }
        break;
      case TcpState::kSynRecv:
        if (ack && !syn && dir == 0) {
          s = TcpState::kEstablished;
        }
        break;
      default:
        break;
    }
  }
  e->tcp_state = s;
  return s == TcpState::kClosed && before != TcpState::kClosed;
}

// The TCP header ends where the payload starts; its own data-offset field must say
// so and its ports must be the flow's (IPv6 extension headers sit in between).
bool tcpSeq(const uint8_t* d, uint32_t caplen, const IpLayer& L, uint32_t* seq) {
  for (uint32_t hl = 20; hl <= 60 && hl <= L.payload_offset; hl += 4) {
    const uint32_t t = L.payload_offset - hl;
    if (t < L.l3_offset || t + 20 > caplen) continue;
    const uint16_t sp = static_cast<uint16_t>((d[t] << 8) | d[t + 1]);
    const uint16_t dp = static_cast<uint16_t>((d[t + 2] << 8) | d[t + 3]);
    if ((d[t + 12] >> 4) * 4u == hl && sp == L.sport && dp == L.dport) {
      *seq = (uint32_t{d[t + 4]} << 24) | (uint32_t{d[t + 5]} << 16) | (uint32_t{d[t + 6]} << 8) | d[t + 7];
      return true;
    }
  }
  return false;
}

// Appends the policy's JSON members to a flow record, before its closing brace.
class RecordFields final : public FlowLogFields {
 public:
  void reset(std::string_view line) noexcept {
    len_ = 0;
    put(line.substr(0, line.empty() ? 0 : line.size() - 1));  // drop the final '}'
  }
  void append(std::string_view members) noexcept override {
    if (members.empty()) return;
    put(",");
    put(members);
  }
  std::string_view finish() noexcept {
    put("}");
    return {buf_, len_};
  }

 private:
  void put(std::string_view s) noexcept {
    const size_t n = s.size() < sizeof(buf_) - 1 - len_ ? s.size() : sizeof(buf_) - 1 - len_;
    std::memcpy(buf_ + len_, s.data(), n);
    len_ += n;
  }
  char buf_[16384];
  size_t len_ = 0;
};

// A flow lookup done by the fast path, handed to track() for the outer IP layer
// (decodeFast accepted the packet, so decodePacket gives the same key). The key itself
// is not handed over: track() builds it again only to insert a new flow, so that the
// fast path's key words never have to be stored for the call.
struct Lookup {
  uint64_t hash;
  uint32_t idx;  // kNoFlow: not in the table
  bool src_is_lo;
};

class EngineImpl final : public Engine {
 public:
  EngineImpl(const EngineConfig& config, FlowLogSink* sink) : config_(config), sink_(sink) {
    decode_.decap_tunnels = config.decap_tunnels;
  }

  bool init(std::string* error) {
    FlowTimeouts t;
    t.tcp_established = config_.timeout_tcp_established;
    t.tcp_transitory = config_.timeout_tcp_transitory;
    t.tcp_closed = config_.timeout_tcp_closed;
    t.udp = config_.timeout_udp;
    t.icmp = config_.timeout_icmp;
    t.other = config_.timeout_other;
    if (config_.flow_capacity == 0) {
      if (error) *error = "flow_capacity must be > 0";
      return false;
    }
    table_.init(config_.flow_capacity, t);
    uint32_t pool = config_.ndpi_pool_size;
    if (pool == 0) {
      pool = table_.capacity() < 65536 ? table_.capacity() : 65536;
    }
    frags_.init(kFragCacheSize);
    judging_ = config_.policy != nullptr && config_.stages == Stages::kClassify;
    if (judging_ && config_.settle_flows) {
      settled_.reset(new (std::nothrow) uint8_t[table_.capacity()]());
      if (!settled_) {
        if (error) *error = "out of memory for the settled-flow marks";
        return false;
      }
    }
    // With a policy, only settled flows can skip it: without the marks (settle_flows
    // off) every packet goes to the policy, so the fast path would never apply.
    fast_path_ = config_.fast_path && config_.stages != Stages::kForward && (!judging_ || settled_);
    return ndpi_.init(pool, pool, error);
  }

  void processBurst(const PacketIn* pkts, uint16_t n, Verdict* verdicts) noexcept override {
    if (config_.stages == Stages::kForward) {
      forwardBurst(pkts, n, verdicts);
      return;
    }
    if (settled_) {
      syncEpoch();
    }
    if (fast_path_) {
      if (judging_) {
        fastBurst<true>(pkts, n, verdicts);
      } else {
        fastBurst<false>(pkts, n, verdicts);
      }
    } else {
      countRx(pkts, n);  // before the packets: processFull reads nothing of it
      for (uint16_t i = 0; i < n; ++i) {
        verdicts[i] = processFull(pkts[i], nullptr);
      }
    }
    flows_active_.set(table_.size());
    classifying_.set(ndpi_.classifying());
  }

  void advanceTime(uint64_t now_ns) noexcept override {
    table_.expire(now_ns, config_.expire_budget, [this](uint32_t idx) {
      FlowEntry& e = table_.at(idx);
      endFlow(&e, e.tcp_state == TcpState::kClosed ? EndReason::kTcpClosed : EndReason::kTimeout);
      flows_expired_.add();
    });
    flows_active_.set(table_.size());
    classifying_.set(ndpi_.classifying());
  }

  void flushAll(uint64_t now_ns) noexcept override {
    table_.drain([this](uint32_t idx) { endFlow(&table_.at(idx), EndReason::kShutdown); });
    flows_active_.set(table_.size());
    classifying_.set(ndpi_.classifying());
  }

  void visitCounters(CounterVisitor& v) const override;
  uint64_t activeFlows() const noexcept override { return flows_active_.get(); }

 private:
  // Benchmark stage (a): count and forward, no decode. The same totals as
  // processOne's counting, added once per burst per side instead of per packet.
  void forwardBurst(const PacketIn* pkts, uint16_t n, Verdict* verdicts) noexcept {
    static_assert(static_cast<uint8_t>(Verdict::kForward) == 0 && sizeof(Verdict) == 1);
    std::memset(verdicts, 0, n);  // all kForward
    countRx(pkts, n);
  }
  // A new policy epoch (ruleset swap) unsettles every flow: the mark's tag changes, and
  // when the 7-bit tag wraps the marks are cleared once (every 127 swaps).
  void syncEpoch() noexcept {
    const uint64_t ep = config_.policy->epoch();
    if (ep == epoch_) return;
    epoch_ = ep;
    if (++tag_ > kMaxTag) {
      tag_ = 1;
      std::memset(settled_.get(), 0, table_.capacity());
    }
  }
  // Adds a burst's received packets and bytes per side, given all its bytes and its
  // outside packets.
  void addRx(const PacketIn* pkts, uint16_t n, uint64_t all_bytes, uint64_t out_packets) noexcept {
    uint64_t out_bytes = out_packets == n ? all_bytes : 0;
    if (out_packets != 0 && out_packets != n) {
      for (uint16_t i = 0; i < n; ++i) {
        out_bytes += (static_cast<uint32_t>(pkts[i].side) & 1u) != 0 ? pkts[i].wirelen : 0;
      }
    }
    const uint64_t packets[2] = {n - out_packets, out_packets};
    const uint64_t bytes[2] = {all_bytes - out_bytes, out_bytes};
    for (uint32_t s = 0; s < 2; ++s) {
      if (packets[s] != 0) {
        rx_packets_[s].add(packets[s]);
        rx_bytes_[s].add(bytes[s]);
      }
    }
  }
  // Received packets and bytes per side, once per burst (the same totals as counting
  // each packet; readers on other threads may see them a burst early). Totals first; a
  // burst from one port is all one side, so the outside share of the bytes needs a
  // second pass only for a mixed burst (hand-off rings, replay).
  void countRx(const PacketIn* pkts, uint16_t n) noexcept {
    uint64_t all_bytes = 0, out_packets = 0;
    for (uint16_t i = 0; i < n; ++i) {
      all_bytes += pkts[i].wirelen;
      out_packets += static_cast<uint64_t>(pkts[i].side) & 1u;
    }
    addRx(pkts, n, all_bytes, out_packets);
  }
  // The fast path's loop. kJudging = judging_ (a policy with settled marks), fixed
  // for the burst so the settled checks compile away without a policy. The fast
  // path's engine counters are summed in registers and added once per burst (the
  // same totals; other threads may see them a burst late).
  // Received packets and bytes are summed in the same loop (processFull reads nothing
  // of them), as in forwardBurst: all bytes and the outside packets; the outside bytes
  // need a second walk only for a burst that mixes sides.
  template <bool kJudging>
  void fastBurst(const PacketIn* pkts, uint16_t n, Verdict* verdicts) noexcept {
    uint64_t fast = 0, drops = 0, all_bytes = 0, out_packets = 0;
    for (uint16_t i = 0; i < n; ++i) {
      all_bytes += pkts[i].wirelen;
      out_packets += static_cast<uint32_t>(pkts[i].side) & 1u;
      verdicts[i] = processOne<kJudging>(pkts[i], &fast, &drops);
    }
    addRx(pkts, n, all_bytes, out_packets);
    fast_packets_.add(fast);
    if (kJudging) {
      settled_packets_.add(fast);  // every fast packet of a judged flow is a settled one
      policy_drops_.add(drops);
    }
  }
  template <bool kJudging>
  Verdict processOne(const PacketIn& p, uint64_t* fast, uint64_t* drops) noexcept;
  [[gnu::noinline]] Verdict processMiss(const PacketIn& p, uint64_t hash, uint32_t idx,
                                        bool src_is_lo) noexcept;
  [[gnu::noinline]] Verdict processFull(const PacketIn& p, const Lookup* hint) noexcept;
  template <bool kJudging>
  bool fastKnown(const PacketIn& p, uint32_t idx, bool src_is_lo, uint8_t proto, uint8_t tcp_flags,
                 Verdict* v) noexcept;
  Verdict track(const PacketIn& p, const PacketMeta& m, const IpLayer& L, bool inner,
                const Lookup* hint) noexcept;
  void endFlow(FlowEntry* e, EndReason r) noexcept;
  void fillView(const FlowEntry& e, uint32_t idx, FlowView* v) noexcept;
  Verdict judge(FlowEntry& e, uint32_t idx, uint32_t dir, const PacketIn& p,
                const IpLayer& L) noexcept;

  EngineConfig config_;
  FlowLogSink* sink_;
  DecodeOptions decode_;
  FlowTable table_;
  FragCache frags_;
  NdpiAdapter ndpi_;
  JsonWriter json_;
  PacketMeta meta_;
  char app_buf_[64];
  char eve_buf_[32];

  std::array<RelaxedCounter, 2> rx_packets_;
  std::array<RelaxedCounter, 2> rx_bytes_;
  std::array<RelaxedCounter, kReasonCount> malformed_;
  std::array<RelaxedCounter, kReasonCount> anomalies_;
  std::array<RelaxedCounter, kReasonCount> drops_;
  std::array<RelaxedCounter, kTunnelCount> tunnel_packets_;
  RelaxedCounter non_ip_;
  RelaxedCounter frag_first_;
  RelaxedCounter frag_later_;
  RelaxedCounter frag_unattributed_;
  RelaxedCounter truncated_;
  RelaxedCounter flows_active_;
  RelaxedCounter classifying_;  // gauge: flows holding nDPI state
  RelaxedCounter flows_created_;
  RelaxedCounter flows_expired_;
  RelaxedCounter flows_evicted_;
  RelaxedCounter flows_closed_tcp_;
  RelaxedCounter table_full_;
  RelaxedCounter untracked_packets_;
  RelaxedCounter flow_records_;
  RelaxedCounter flow_records_truncated_;
  RelaxedCounter policy_drops_;
  RelaxedCounter policy_blocks_;  // flows newly blocked or held
  RecordFields record_fields_;
  RelaxedCounter settled_packets_;  // packets of settled flows (policy call skipped)
  RelaxedCounter settled_flows_;
  RelaxedCounter fast_packets_;  // packets handled by fastKnown (decodePacket skipped)
  // Per flow slot: (tag << 1) | drops, 0 = not settled. A mark counts only while its tag
  // is the current one, so an epoch change unsettles every flow without a sweep.
  static constexpr uint8_t kMaxTag = 127;
  std::unique_ptr<uint8_t[]> settled_;
  uint64_t epoch_ = 0;
  uint8_t tag_ = 1;
  bool judging_ = false;
  bool fast_path_ = false;
};

// With the fast path on (processBurst calls processFull directly otherwise).
template <bool kJudging>
[[gnu::always_inline]] inline Verdict EngineImpl::processOne(const PacketIn& p, uint64_t* fast,
                                                              uint64_t* drops) noexcept {
  FastPacket f;
  if (!decodeFast(p.data, p.caplen, &f)) [[unlikely]] {
    return processFull(p, nullptr);
  }
  bool src_is_lo;
  const KeyWords key = fastKeyWords(f, &src_is_lo);
  const uint64_t hash = hashKeyWords(key);
  const uint32_t idx = table_.find(key, hash);
  Verdict v;
  if (idx != kNoFlow && fastKnown<kJudging>(p, idx, src_is_lo, f.proto, f.tcp_flags, &v)) [[likely]] {
    ++*fast;
    *drops += static_cast<uint8_t>(v);  // kDrop is 1, kForward 0
    return v;
  }
  return processMiss(p, hash, idx, src_is_lo);
}

// The fast path's lookup did not settle it: the general path, reusing the lookup.
Verdict EngineImpl::processMiss(const PacketIn& p, uint64_t hash, uint32_t idx,
                                bool src_is_lo) noexcept {
  const Lookup hint{hash, idx, src_is_lo};
  return processFull(p, &hint);
}

// The general path: decodePacket, then track() each IP layer. Out of line, so that the
// fast path's loop keeps its registers.
Verdict EngineImpl::processFull(const PacketIn& p, const Lookup* hint) noexcept {
  PacketMeta& m = meta_;
  const Reason r = decodePacket(p.data, p.caplen, p.wirelen, decode_, &m);
  if (r != Reason::kNone) {
    malformed_[static_cast<uint32_t>(r)].add();
    if (config_.malformed == MalformedPolicy::kDrop) {
      drops_[static_cast<uint32_t>(r)].add();
      return Verdict::kDrop;
    }
    return Verdict::kForward;  // an L2 bridge passes what it does not understand
  }
  if (m.anomaly != Reason::kNone) {
    anomalies_[static_cast<uint32_t>(m.anomaly)].add();
  }
  if (m.ip_layers == 0) {
    non_ip_.add();
    return Verdict::kForward;
  }
  Verdict v = track(p, m, m.outer, false, hint);
  if (m.ip_layers == 2 && v == Verdict::kForward) {
    tunnel_packets_[static_cast<uint32_t>(m.tunnel)].add();
    v = track(p, m, m.inner, true, nullptr);
  }
  return v;
}

// What track() does for a packet of a known, classified (and, with a policy, settled)
// flow, and nothing else: the flow's counters and TCP state, the settled verdict.
// Returns false, having changed nothing, when the flow needs the full path.
template <bool kJudging>
[[gnu::always_inline]] inline bool EngineImpl::fastKnown(const PacketIn& p, uint32_t idx,
                                                          bool src_is_lo, uint8_t proto,
                                                          uint8_t tcp_flags, Verdict* v) noexcept {
  FlowEntry& e = table_.at(idx);
  if (e.classify == ClassifyState::kPending) [[unlikely]] {
    return false;  // nDPI still wants its packets
  }
  uint8_t mark = 0;
  if constexpr (kJudging) {
    mark = settled_[idx];
    if ((mark >> 1) != tag_) [[unlikely]] {
      return false;  // the policy still judges this flow
    }
  }
  // dir 0 = sent by the client (src_is_lo == client_is_lo); client_is_lo is 0 or 1.
  const uint32_t dir = static_cast<uint32_t>(src_is_lo) ^ e.client_is_lo;
  e.pkts[dir]++;
  e.bytes[dir] += p.caplen;
  if (p.ts_ns > e.last_ns) {
    e.last_ns = p.ts_ns;
  }
  if (proto == kIpProtoTcp && updateTcp(&e, dir, tcp_flags)) [[unlikely]] {
    flows_closed_tcp_.add();
    table_.reschedule(idx);
  }
  // Settled and drop marks: fastBurst counts them (settled_packets_, policy_drops_).
  *v = kJudging && (mark & 1u) != 0 ? Verdict::kDrop : Verdict::kForward;
  return true;
}

Verdict EngineImpl::track(const PacketIn& p, const PacketMeta& m, const IpLayer& L,
                          bool inner, const Lookup* hint) noexcept {
  if (L.truncated) {
    truncated_.add();
  }
  if (L.frag == Frag::kLater) {
    frag_later_.add();
    uint32_t gen = 0;
    const uint32_t idx = frags_.find(L, &gen);
    if (idx == kNoFlow || table_.at(idx).gen != gen) {
      frag_unattributed_.add();
      return Verdict::kForward;
    }
    FlowEntry& e = table_.at(idx);
    const bool src_is_lo = std::memcmp(L.src, e.key.lo_addr, 16) == 0;
    const uint32_t dir = src_is_lo == (e.client_is_lo != 0) ? 0 : 1;
    e.pkts[dir]++;
    e.bytes[dir] += p.caplen;
    e.frags++;
    if (p.ts_ns > e.last_ns) {
      e.last_ns = p.ts_ns;
    }
    // A later fragment carries no ports: it follows its flow's decision. Blocked or
    // held inline (the settled mark; without the fast path, the flow's strongest
    // action) means dropped, as the flow's other packets are.
    if (judging_ && config_.inline_mode) {
      bool drop = false;
      if (settled_) {
        const uint8_t mark = settled_[idx];
        drop = (mark >> 1) == tag_ && (mark & 1u) != 0;
      } else {
        drop = e.alerted >= static_cast<uint8_t>(PolicyAction::kHold);
      }
      if (drop) {
        policy_drops_.add();
        return Verdict::kDrop;
      }
    }
    return Verdict::kForward;
  }
  bool src_is_lo = false;
  FlowKey key;
  uint64_t h;
  uint32_t idx;
  if (hint != nullptr) {  // the fast path's lookup of this very key (see processOne)
    h = hint->hash;
    idx = hint->idx;
    src_is_lo = hint->src_is_lo;
#ifndef NDEBUG
    bool lo_check = false;
    assert(hashFlowKey(makeFlowKey(L, m.vlan_id, &lo_check)) == h && lo_check == src_is_lo);
#endif
  } else {
    key = makeFlowKey(L, m.vlan_id, &src_is_lo);
    h = hashFlowKey(key);
    idx = table_.find(key, h);
  }
  if (idx == kNoFlow) {
    if (table_.full()) {
      table_full_.add();
      switch (config_.table_full) {
        case TableFullPolicy::kEvictOldestIdle: {
          const uint32_t victim = table_.pickVictim();
          if (victim == kNoFlow) {
            untracked_packets_.add();
            return Verdict::kForward;
          }
          endFlow(&table_.at(victim), EndReason::kForced);
          table_.remove(victim);
          flows_evicted_.add();
          break;
        }
        case TableFullPolicy::kForwardUntracked:
          untracked_packets_.add();
          return Verdict::kForward;
        case TableFullPolicy::kDrop:
          drops_[static_cast<uint32_t>(Reason::kTableFull)].add();
          return Verdict::kDrop;
      }
    }
    if (hint != nullptr) {
      bool lo_again;  // the same as hint->src_is_lo
      key = makeFlowKey(L, m.vlan_id, &lo_again);
    }
    idx = table_.insert(key, h, p.ts_ns);
    flows_created_.add();
    if (settled_) settled_[idx] = 0;
    FlowEntry& e = table_.at(idx);
    // The client is the first sender, except when the first packet seen is a SYN-ACK:
    // then its receiver opened the connection. A tap's two mirror ports are polled in
    // turn, so the SYN-ACK copy can be handled before the SYN copy; without this the
    // flow would be logged and judged with client and server swapped.
    const bool syn_ack = L.proto == kIpProtoTcp && L.has_l4 &&
                         (L.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck);
    e.client_is_lo = (src_is_lo != syn_ack) ? 1 : 0;
    e.is_inner = inner ? 1 : 0;
    e.tunnel = inner ? static_cast<uint8_t>(m.tunnel) : 0;
    if (config_.stages == Stages::kClassify) {
      ndpi_.attach(&e);
    } else {
      e.classify = ClassifyState::kSkipped;  // benchmark stage (b): no nDPI
    }
  }
  FlowEntry& e = table_.at(idx);
  const uint32_t dir = src_is_lo == (e.client_is_lo != 0) ? 0 : 1;
  e.pkts[dir]++;
  e.bytes[dir] += p.caplen;  // frame bytes incl. Ethernet, as ndpiReader counts
  if (p.ts_ns > e.last_ns) {
    e.last_ns = p.ts_ns;
  }
  if (L.frag == Frag::kFirst) {
    frag_first_.add();
    e.frags++;
    frags_.insert(L, idx, e.gen);
  }
  if (L.proto == kIpProtoTcp && L.has_l4) {
    if (updateTcp(&e, dir, L.tcp_flags)) {
      flows_closed_tcp_.add();
      table_.reschedule(idx);
    }
  }
  // Half a packet misleads dissectors; ndpiReader skips cut frames as well.
  if (e.classify == ClassifyState::kPending && !L.truncated) {
    const uint64_t total = e.pkts[0] + e.pkts[1];
    const bool enough = (L.proto == kIpProtoTcp && total > config_.ndpi_max_packets_tcp) ||
                        (L.proto == kIpProtoUdp && total > config_.ndpi_max_packets_udp);
    ndpi_.feed(&e, p.data + L.l3_offset, p.caplen - L.l3_offset, p.ts_ns / 1000000u, enough);
  }
  if (judging_) {
    if (settled_) {
      // Decided-flow fast path: the cached action of a settled flow.
      const uint8_t mark = settled_[idx];
      if ((mark >> 1) == tag_) {
        settled_packets_.add();
        if ((mark & 1u) != 0) {
          policy_drops_.add();
          return Verdict::kDrop;
        }
        return Verdict::kForward;
      }
    }
    return judge(e, idx, dir, p, L);
  }
  return Verdict::kForward;
}

void EngineImpl::fillView(const FlowEntry& e, uint32_t idx, FlowView* v) noexcept {
  v->flow_index = idx;
  v->flow_gen = e.gen;
  const bool lo = e.client_is_lo != 0;
  v->client_ip = lo ? e.key.lo_addr : e.key.hi_addr;
  v->server_ip = lo ? e.key.hi_addr : e.key.lo_addr;
  v->client_port = lo ? e.key.lo_port : e.key.hi_port;
  v->server_port = lo ? e.key.hi_port : e.key.lo_port;
  v->ip_version = e.key.ip_version;
  v->proto = e.key.proto;
  v->vlan = e.key.vlan;
  v->classified = e.classify != ClassifyState::kPending;
  if (v->classified) {
    v->app = ndpi_.protocolLabel(e, app_buf_, sizeof(app_buf_));
    v->app_proto = ndpi_.eveAppProto(e, eve_buf_);
  }
  if (const FlowMeta* fm = ndpi_.meta(e)) {
    v->host = fm->get(MetaField::kHost);
    v->url = fm->get(MetaField::kUrl);
  }
  for (int d = 0; d < 2; ++d) {
    v->pkts[d] = e.pkts[d];
    v->bytes[d] = e.bytes[d];
  }
  v->first_ns = e.first_ns;
  v->now_ns = e.last_ns;
}

// The verdict stage: the policy sees every packet of the flow (payload for
// inspection) and returns the flow's action; block/hold drop it inline from here on.
Verdict EngineImpl::judge(FlowEntry& e, uint32_t idx, uint32_t dir, const PacketIn& p,
                          const IpLayer& L) noexcept {
  FlowView v;
  fillView(e, idx, &v);
  v.side = static_cast<uint8_t>(p.side);
  v.now_ns = p.ts_ns;
  PacketView pv;
  pv.dir = static_cast<uint8_t>(dir);
  if (L.has_l4 && L.payload_len > 0 && L.payload_offset < p.caplen) {
    pv.payload = p.data + L.payload_offset;
    const uint32_t avail = p.caplen - L.payload_offset;
    pv.payload_len = L.payload_len < avail ? L.payload_len : avail;
  }
  if (L.proto == kIpProtoTcp && L.has_l4) {
    pv.tcp = true;
    pv.tcp_flags = L.tcp_flags;
    pv.has_seq = tcpSeq(p.data, p.caplen, L, &pv.tcp_seq);
  }
  const PolicyAction a = config_.policy->onPacket(v, pv);
  if (settled_ && config_.policy->settled(v, a)) {
    const bool drops = dropsTraffic(a) && config_.inline_mode;
    settled_[idx] = static_cast<uint8_t>((tag_ << 1) | (drops ? 1u : 0u));
    settled_flows_.add();
  }
  const uint8_t before = e.alerted;
  // The flow log's "alerted": an alert or stronger was decided (level kept in the byte).
  if (a >= PolicyAction::kAlert && static_cast<uint8_t>(a) > before) {
    e.alerted = static_cast<uint8_t>(a);
  }
  if (!dropsTraffic(a) || !config_.inline_mode) {
    return Verdict::kForward;
  }
  if (before < static_cast<uint8_t>(PolicyAction::kHold)) {
    policy_blocks_.add();
    if (config_.rst != nullptr) config_.rst->resetBoth(v, pv);  // issue 5
  }
  policy_drops_.add();
  return Verdict::kDrop;
}

void EngineImpl::endFlow(FlowEntry* e, EndReason r) noexcept {
  ndpi_.finishAtEnd(e);
  const bool judged = judging_;
  FlowView v;
  if (judged) {
    fillView(*e, static_cast<uint32_t>(e - &table_.at(0)), &v);
  }
  if (sink_ != nullptr) {
    std::string_view line = formatFlowRecord(json_, *e, ndpi_, r, config_.worker_id);
    if (json_.truncated()) {
      flow_records_truncated_.add();
    }
    if (judged) {
      record_fields_.reset(line);
      config_.policy->onFlowEnd(v, &record_fields_);
      line = record_fields_.finish();
    }
    sink_->onFlowRecord(line);
  } else if (judged) {
    config_.policy->onFlowEnd(v, nullptr);
  }
  flow_records_.add();
  ndpi_.releaseMeta(e);
}

class WorkerLabel {
 public:
  explicit WorkerLabel(uint32_t id) { n_ = std::snprintf(buf_, sizeof(buf_), "%u", id); }
  std::string_view view() const { return std::string_view(buf_, static_cast<size_t>(n_)); }

 private:
  char buf_[16];
  int n_;
};

void EngineImpl::visitCounters(CounterVisitor& v) const {
  static constexpr std::string_view kSides[2] = {"inside", "outside"};
  for (int s = 0; s < 2; ++s) {
    v.counter("xborder_rx_packets_total", "side", kSides[s], rx_packets_[s].get());
    v.counter("xborder_rx_bytes_total", "side", kSides[s], rx_bytes_[s].get());
  }
  for (uint32_t i = 1; i < kReasonCount; ++i) {
    const std::string_view name = kReasonNames[i];
    if (isMalformed(static_cast<Reason>(i))) {
      v.counter("xborder_malformed_total", "reason", name, malformed_[i].get());
      v.counter("xborder_anomalies_total", "reason", name, anomalies_[i].get());
    }
    v.counter("xborder_drops_total", "reason", name, drops_[i].get());
  }
  for (uint32_t t = 1; t < kTunnelCount; ++t) {
    v.counter("xborder_tunnel_packets_total", "type", kTunnelNames[t], tunnel_packets_[t].get());
  }
  v.counter("xborder_fragments_total", "kind", "first", frag_first_.get());
  v.counter("xborder_fragments_total", "kind", "later", frag_later_.get());
  v.counter("xborder_fragments_total", "kind", "unattributed", frag_unattributed_.get());
  const WorkerLabel w(config_.worker_id);
  const std::string_view wl = w.view();
  v.counter("xborder_non_ip_packets_total", "worker", wl, non_ip_.get());
  v.counter("xborder_truncated_packets_total", "worker", wl, truncated_.get());
  v.counter("xborder_flows_active", "worker", wl, flows_active_.get());
  v.counter("xborder_flows_created_total", "worker", wl, flows_created_.get());
  v.counter("xborder_flows_expired_total", "worker", wl, flows_expired_.get());
  v.counter("xborder_flows_evicted_total", "worker", wl, flows_evicted_.get());
  v.counter("xborder_flows_tcp_closed_total", "worker", wl, flows_closed_tcp_.get());
  v.counter("xborder_flows_table_full_total", "worker", wl, table_full_.get());
  v.counter("xborder_untracked_packets_total", "worker", wl, untracked_packets_.get());
  v.counter("xborder_flow_records_total", "worker", wl, flow_records_.get());
  v.counter("xborder_flow_records_truncated_total", "worker", wl, flow_records_truncated_.get());
  v.counter("xborder_policy_dropped_packets_total", "worker", wl, policy_drops_.get());
  v.counter("xborder_policy_blocked_flows_total", "worker", wl, policy_blocks_.get());
  v.counter("xborder_policy_settled_flows_total", "worker", wl, settled_flows_.get());
  v.counter("xborder_policy_settled_packets_total", "worker", wl, settled_packets_.get());
  v.counter("xborder_fast_path_packets_total", "worker", wl, fast_packets_.get());
  v.counter("xborder_ndpi_detections_total", "worker", wl, ndpi_.detections());
  v.counter("xborder_ndpi_giveups_total", "worker", wl, ndpi_.giveups());
  v.counter("xborder_ndpi_packets_total", "worker", wl, ndpi_.packetsFed());
  v.counter("xborder_ndpi_pool_exhausted_total", "worker", wl, ndpi_.poolExhausted());
  v.counter("xborder_ndpi_flows_classifying", "worker", wl, classifying_.get());
  v.counter("xborder_ndpi_meta_truncated_total", "worker", wl, ndpi_.metaTruncated());
}

}  // namespace

std::unique_ptr<Engine> Engine::create(const EngineConfig& config, FlowLogSink* sink,
                                       std::string* error) {
  std::unique_ptr<EngineImpl> e(new (std::nothrow) EngineImpl(config, sink));
  if (!e) {
    if (error) *error = "out of memory creating the engine";
    return nullptr;
  }
  if (!e->init(error)) {
    return nullptr;
  }
  return e;
}

}  // namespace xborder::dp
