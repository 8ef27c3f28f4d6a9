// The worker loop: rx burst (or dequeue from hand-off rings) -> Engine::processBurst ->
// tx burst to the peer port. Hot path: no allocation, no lock, no syscall, no
// exception; every buffer below is sized once before the loop starts.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/app/app_flow_hash.h"
#include "dataplane/app/app_rst.h"
#include "dataplane/app/app_runtime.h"

namespace xborder::dp::app {
namespace {

// Bytes of a chained mbuf the Engine sees (a jumbo/TSO frame from a capture); the
// rest is beyond any header the Engine decodes and still forwarded whole.
constexpr uint32_t kScratchBytes = 16384;

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

class Worker final : public RstTarget {
 public:
  Worker(Runtime& rt, unsigned me)
      : rt_(rt),
        me_(me),
        w_(rt.nworkers),
        burst_(rt.cfg.burst_size),
        engine_(*rt.engines[me]),
        log_(*rt.flow_logs[me]),
        st_(*rt.stats[me]),
        enforce_(rt.enforce) {
    for (const PortInfo& p : rt.ports) {
      if (p.nb_rxq > 1) {
        rx_.push_back({p.id, static_cast<uint16_t>(me), false});  // RSS: our own queue
      } else if (p.rx_owner == me) {
        rx_.push_back({p.id, 0, p.handoff});  // the port's only queue is ours to poll
      }
    }
    rxbuf_.resize(burst_);
    local_.resize(burst_);
    pkts_.resize(burst_);
    verdicts_.resize(burst_);
    freebuf_.resize(burst_);
    scratch_.reset(new uint8_t[static_cast<size_t>(burst_) * kScratchBytes]);
    to_worker_.assign(w_, std::vector<rte_mbuf*>(burst_));
    to_worker_n_.assign(w_, 0);
    tx_cap_ = static_cast<uint16_t>(2 * burst_);
    tx_.assign(rt.ports.size(), std::vector<rte_mbuf*>(tx_cap_));
    tx_n_.assign(rt.ports.size(), 0);
    tx_bytes_.assign(rt.ports.size(), 0);
    for (const PortInfo& p : rt.ports) {
      TxRoute r;
      if (p.nb_txq == w_ && w_ > 1) {
        r = {true, static_cast<uint16_t>(me), 0};
      } else if (p.tx_owner == me || w_ == 1) {
        r = {true, 0, 0};
      } else {
        r = {false, 0, p.tx_owner};
      }
      route_.push_back(r);
    }
    if (me < rt.rst.size()) {
      rt.rst[me]->target = this;
      rst_pool_ = rt.rst_pools[me];
    }
  }
  ~Worker() override {
    if (me_ < rt_.rst.size()) rt_.rst[me_]->target = nullptr;
  }

  // The engine blocked a TCP flow inline at pkt (inside the burst being processed):
  // find that frame, build both RSTs, stage them for tx. Rare path: one rebuild per
  // candidate frame of the burst, no allocation beyond two mbufs.
  void sendRst(const FlowView& flow, const PacketView& pkt) noexcept override {
    if (!pkt.tcp) {
      return;  // a RST only ends TCP; other protocols are just dropped
    }
    if (!pkt.has_seq || rst_pool_ == nullptr) {
      st_.w.rst_failed.add();
      return;
    }
    const uint16_t sport = pkt.dir == 0 ? flow.client_port : flow.server_port;
    const uint16_t dport = pkt.dir == 0 ? flow.server_port : flow.client_port;
    for (uint16_t i = 0; i < cur_n_; ++i) {
      const PacketIn& p = pkts_[i];
      if (p.data == nullptr || !buildRstFrames(p.data, p.caplen, p.wirelen, &rstbuf_)) {
        continue;
      }
      // The frame toward the receiver keeps the judged packet's ports and sequence.
      const uint8_t* tcp = rstbuf_.to_receiver + rstbuf_.receiver_len - 20;
      if (rd16(tcp) != sport || rd16(tcp + 2) != dport || rd32(tcp + 4) != pkt.tcp_seq) {
        continue;
      }
      const uint16_t rx = cur_m_[i]->port;
      const uint16_t peer = rt_.port(rx).peer;
      if (peer == kNoPort) {
        return;  // tap: nothing is ever sent
      }
      rte_mbuf* back = makeFrame(rstbuf_.to_sender, rstbuf_.sender_len, peer);
      rte_mbuf* on = makeFrame(rstbuf_.to_receiver, rstbuf_.receiver_len, rx);
      if (back == nullptr || on == nullptr) {
        if (back != nullptr) rte_pktmbuf_free(back);
        if (on != nullptr) rte_pktmbuf_free(on);
        st_.w.rst_failed.add();
        return;
      }
      stageTx(rt_.slot_of_port[rx], back);   // back out where the judged packet came in
      stageTx(rt_.slot_of_port[peer], on);   // on toward its receiver
      st_.w.rst_sent.add(2);
      return;
    }
    st_.w.rst_failed.add();
  }

  int run() {
    int acked = kRun;
    if (enforce_ != nullptr) enforce_->workerOnline(me_);
    for (;;) {
      const uint64_t tsc = rte_rdtsc();
      const uint64_t now_ns = rt_.shared_clock.ns(tsc);  // one timestamp per loop, shared by the burst
      const int phase = rt_.phase.load(std::memory_order_acquire);
      bool busy = false;

      if (phase == kRun) {
        for (const RxQueue& q : rx_) {
          const uint16_t n = rte_eth_rx_burst(q.port, q.queue, rxbuf_.data(), burst_);
          if (n == 0) {
            continue;
          }
          busy = true;
          st_.w.last_rx_tsc.store(tsc, std::memory_order_relaxed);
          if (st_.w.first_rx_tsc.load(std::memory_order_relaxed) == 0) {
            st_.w.first_rx_tsc.store(tsc, std::memory_order_relaxed);
          }
          if (q.handoff) {
            countRx(q.port, rxbuf_.data(), n);
            distribute(q.port, rxbuf_.data(), n, now_ns);
          } else {
            processFromPort</*kCountRx=*/true>(q.port, rxbuf_.data(), n, now_ns);
          }
        }
      }
      busy |= drainHandoff(now_ns);
      flushAllTx();
      busy |= drainTxRings();

      engine_.advanceTime(now_ns);
      if (enforce_ != nullptr) enforce_->workerPoll(me_);  // ruleset swap + RCU quiescent
      log_.poll(tsc);
      st_.w.loops.add();
      if (busy) {
        st_.w.busy_loops.add();
      } else {
        rte_pause();
      }

      if (phase != acked) {
        if (phase == kDrainRx) {
          // Every worker stopped rx: the hand-off rings only shrink from here.
          while (drainHandoff(now_ns)) {
            flushAllTx();
          }
          flushAllTx();
        } else if (phase == kFinal) {
          while (drainTxRings()) {
          }
          engine_.flushAll(now_ns);
          log_.setBlocking(true);
          log_.flush();
          if (enforce_ != nullptr) enforce_->workerOffline(me_);
          rt_.ack[me_]->store(phase, std::memory_order_release);
          return 0;
        }
        acked = phase;
        rt_.ack[me_]->store(phase, std::memory_order_release);
      }
    }
  }

 private:
  struct RxQueue {
    uint16_t port;
    uint16_t queue;
    bool handoff;
  };
  struct TxRoute {
    bool direct;
    uint16_t queue;
    unsigned owner;  // when !direct: the worker that owns the port's only tx queue
  };

  void countRx(uint16_t port, rte_mbuf** m, uint16_t n) {
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) {
      m[i]->port = port;  // routing reads it after a hand-off; some PMDs leave it unset
      bytes += m[i]->pkt_len;
    }
    PortWorkerCounters& c = st_.port[port];
    c.rx_packets.add(n);
    c.rx_bytes.add(bytes);
  }

  // Rx lcore of a hand-off port: keep our share, enqueue the rest to its owners.
  void distribute(uint16_t port, rte_mbuf** m, uint16_t n, uint64_t now_ns) {
    uint16_t nlocal = 0;
    for (uint16_t i = 0; i < n; ++i) {
      const uint32_t h =
          symmetricFlowHash(rte_pktmbuf_mtod(m[i], const uint8_t*), m[i]->data_len);
      const unsigned dst = static_cast<unsigned>((static_cast<uint64_t>(h) * w_) >> 32);
      if (dst == me_) {
        local_[nlocal++] = m[i];
      } else {
        to_worker_[dst][to_worker_n_[dst]++] = m[i];
      }
    }
    for (unsigned d = 0; d < w_; ++d) {
      const uint16_t k = to_worker_n_[d];
      if (k == 0) {
        continue;
      }
      to_worker_n_[d] = 0;
      std::vector<rte_mbuf*>& v = to_worker_[d];
      const unsigned sent = rte_ring_sp_enqueue_burst(rt_.handoff[me_][d],
                                                      reinterpret_cast<void* const*>(v.data()), k,
                                                      nullptr);
      PortWorkerCounters& c = st_.port[port];  // the whole rx burst came from one port
      c.handoff_out.add(sent);
      if (sent < k) {
        c.handoff_dropped.add(k - sent);  // a full ring is a counted drop, never a wait
        rte_pktmbuf_free_bulk(v.data() + sent, k - sent);
      }
    }
    if (nlocal > 0) {
      processFromPort</*kCountRx=*/false>(port, local_.data(), nlocal, now_ns);
    }
  }

  bool drainHandoff(uint64_t now_ns) {
    bool any = false;
    for (unsigned s = 0; s < w_; ++s) {
      rte_ring* r = rt_.handoff[s][me_];
      if (r == nullptr) {
        continue;
      }
      const unsigned n = rte_ring_sc_dequeue_burst(
          r, reinterpret_cast<void**>(rxbuf_.data()), burst_, nullptr);
      if (n > 0) {
        any = true;
        st_.w.handoff_in.add(n);
        process(rxbuf_.data(), static_cast<uint16_t>(n), now_ns);
      }
    }
    return any;
  }

  // Fills pkts_[i] for m[i]; chained mbufs are copied into scratch for the Engine.
  void fillPacketIn(rte_mbuf* b, uint16_t i, uint64_t now_ns, Side side) {
    PacketIn& p = pkts_[i];
    if (b->nb_segs == 1) {
      p.data = rte_pktmbuf_mtod(b, const uint8_t*);
      p.caplen = b->data_len;
    } else {
      const uint32_t len = std::min<uint32_t>(b->pkt_len, kScratchBytes);
      p.data = static_cast<const uint8_t*>(
          rte_pktmbuf_read(b, 0, len, scratch_.get() + static_cast<size_t>(i) * kScratchBytes));
      p.caplen = p.data ? len : 0;
      st_.port[b->port].multiseg.add();
    }
    p.wirelen = b->pkt_len;
    p.ts_ns = now_ns;
    p.side = side;
  }

  // A burst whose packets all arrived on `port` (one rx burst, or our share of one):
  // side, peer and tx slot are constants, counters are added once per burst, and the
  // forwarded packets are copied straight into the peer's tx buffer. kCountRx: also
  // stamp m->port and count the burst's rx packets and bytes (done here to save a walk).
  template <bool kCountRx>
  void processFromPort(uint16_t port, rte_mbuf** m, uint16_t n, uint64_t now_ns) {
    const PortInfo& in = rt_.port(port);
    const Side side = in.side;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* b = m[i];
      if constexpr (kCountRx) {
        b->port = port;  // routing reads it after a hand-off; some PMDs leave it unset
      }
      bytes += b->pkt_len;
      fillPacketIn(b, i, now_ns, side);
    }
    PortWorkerCounters& c = st_.port[port];
    if constexpr (kCountRx) {
      c.rx_packets.add(n);
      c.rx_bytes.add(bytes);
    }
    cur_m_ = m;
    cur_n_ = n;
    engine_.processBurst(pkts_.data(), n, verdicts_.data());
    cur_n_ = 0;
    if (in.peer == kNoPort) {
      // Tap mode: nothing leaves; every packet is either a verdict drop or consumed.
      uint16_t ndrop = 0;
      for (uint16_t i = 0; i < n; ++i) {
        ndrop += verdicts_[i] == Verdict::kDrop ? 1 : 0;
      }
      c.verdict_dropped.add(ndrop);
      c.tap_consumed.add(n - ndrop);
      rte_pktmbuf_free_bulk(m, n);
      return;
    }
    const size_t s = static_cast<size_t>(rt_.slot_of_port[in.peer]);
    if (tx_n_[s] + n > tx_cap_) {
      flushTx(s);  // tx_cap_ = 2 * burst: an empty buffer always has room for n
    }
    rte_mbuf** tx = tx_[s].data() + tx_n_[s];
    if (!anyDrop(n)) {  // the usual burst: forward all of it in one copy
      std::memcpy(tx, m, static_cast<size_t>(n) * sizeof(rte_mbuf*));
      tx_n_[s] = static_cast<uint16_t>(tx_n_[s] + n);
      tx_bytes_[s] += bytes;
      return;
    }
    uint16_t ntx = 0;
    uint16_t nfree = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* b = m[i];
      if (verdicts_[i] == Verdict::kDrop) {
        bytes -= b->pkt_len;
        freebuf_[nfree++] = b;
      } else {
        tx[ntx++] = b;
      }
    }
    tx_n_[s] = static_cast<uint16_t>(tx_n_[s] + ntx);
    tx_bytes_[s] += bytes;  // the forwarded packets' bytes, for flushTx
    if (nfree > 0) {
      c.verdict_dropped.add(nfree);
      rte_pktmbuf_free_bulk(freebuf_.data(), nfree);
    }
  }

  // True if any of verdicts_[0..n) is kDrop. Verdicts are bytes and kForward is 0, so
  // eight are tested at once; verdicts_ holds burst_ entries, the tail is read bytewise.
  bool anyDrop(uint16_t n) const {
    static_assert(sizeof(Verdict) == 1 && static_cast<uint8_t>(Verdict::kForward) == 0);
    const uint8_t* v = reinterpret_cast<const uint8_t*>(verdicts_.data());
    uint64_t acc = 0;
    uint16_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, v + i, sizeof(w));
      acc |= w;
    }
    for (; i < n; ++i) {
      acc |= v[i];
    }
    return acc != 0;
  }

  // A burst that may mix ports (hand-off rings fed by several ports of one worker).
  void process(rte_mbuf** m, uint16_t n, uint64_t now_ns) {
    for (uint16_t i = 0; i < n; ++i) {
      fillPacketIn(m[i], i, now_ns, rt_.port(m[i]->port).side);
    }
    cur_m_ = m;
    cur_n_ = n;
    engine_.processBurst(pkts_.data(), n, verdicts_.data());
    cur_n_ = 0;
    uint16_t nfree = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* b = m[i];
      const PortInfo& in = rt_.port(b->port);
      if (verdicts_[i] == Verdict::kDrop) {
        st_.port[b->port].verdict_dropped.add();
        freebuf_[nfree++] = b;
      } else if (in.peer == kNoPort) {
        st_.port[b->port].tap_consumed.add();
        freebuf_[nfree++] = b;
      } else {
        stageTx(rt_.slot_of_port[in.peer], b);
      }
    }
    if (nfree > 0) {
      rte_pktmbuf_free_bulk(freebuf_.data(), nfree);
    }
  }

  void stageTx(int16_t slot, rte_mbuf* b) {
    const size_t s = static_cast<size_t>(slot);
    if (tx_n_[s] == tx_cap_) {
      flushTx(s);
    }
    tx_[s][tx_n_[s]++] = b;
    tx_bytes_[s] += b->pkt_len;
  }

  void flushAllTx() {
    for (size_t s = 0; s < tx_.size(); ++s) {
      if (tx_n_[s] > 0) {
        flushTx(s);
      }
    }
  }

  void flushTx(size_t slot) {
    const PortInfo& p = rt_.ports[slot];
    const TxRoute& r = route_[slot];
    rte_mbuf** pkts = tx_[slot].data();
    const uint16_t n = tx_n_[slot];
    const uint64_t staged_bytes = tx_bytes_[slot];
    tx_n_[slot] = 0;
    tx_bytes_[slot] = 0;
    if (!r.direct) {
      // The port's only tx queue belongs to another worker: hand the burst over.
      const unsigned sent = rte_ring_sp_enqueue_burst(
          rt_.txring[me_][r.owner], reinterpret_cast<void* const*>(pkts), n, nullptr);
      st_.w.tx_handoff_out.add(sent);
      if (sent < n) {
        st_.w.tx_handoff_dropped.add(n - sent);
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
      }
      return;
    }
    // Burst TX with a bounded retry, then counted drops (never a wait, never 1 by 1).
    uint16_t sent = rte_eth_tx_burst(p.id, r.queue, pkts, n);
    for (uint16_t tries = 0; sent < n && tries < rt_.cfg.tx_retries; ++tries) {
      sent += rte_eth_tx_burst(p.id, r.queue, pkts + sent, n - sent);
    }
    PortWorkerCounters& c = st_.port[p.id];
    uint64_t bytes = staged_bytes;  // summed while staging; take out what did not go
    for (uint16_t i = sent; i < n; ++i) {
      bytes -= pkts[i]->pkt_len;
    }
    c.tx_packets.add(sent);
    c.tx_bytes.add(bytes);
    if (sent < n) {
      c.tx_dropped.add(n - sent);
      rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    }
  }

  // An mbuf holding `frame` (padded to the Ethernet minimum). m->port is the port whose
  // peer it leaves on, as for forwarded packets (the tx hand-off routes by it).
  rte_mbuf* makeFrame(const uint8_t* frame, uint32_t len, uint16_t via) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(rst_pool_);
    if (m == nullptr) return nullptr;
    const uint32_t padded = len < 60 ? 60 : len;
    char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(padded));
    if (d == nullptr) {
      rte_pktmbuf_free(m);
      return nullptr;
    }
    std::memcpy(d, frame, len);
    std::memset(d + len, 0, padded - len);
    m->port = via;
    return m;
  }

  // Owner side of the tx hand-off: packets other workers judged, for our tx queue.
  bool drainTxRings() {
    bool any = false;
    for (unsigned s = 0; s < w_; ++s) {
      rte_ring* r = rt_.txring[s][me_];
      if (r == nullptr) {
        continue;
      }
      const unsigned n =
          rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(rxbuf_.data()), burst_, nullptr);
      if (n == 0) {
        continue;
      }
      any = true;
      st_.w.tx_handoff_in.add(n);
      for (unsigned i = 0; i < n; ++i) {
        stageTx(rt_.slot_of_port[rt_.port(rxbuf_[i]->port).peer], rxbuf_[i]);
      }
      flushAllTx();
    }
    return any;
  }

  Runtime& rt_;
  const unsigned me_;
  const unsigned w_;
  const uint16_t burst_;
  Engine& engine_;
  WorkerFlowLog& log_;
  WorkerStats& st_;
  std::vector<RxQueue> rx_;
  std::vector<rte_mbuf*> rxbuf_, local_, freebuf_;
  std::vector<PacketIn> pkts_;
  std::vector<Verdict> verdicts_;
  std::unique_ptr<uint8_t[]> scratch_;
  std::vector<std::vector<rte_mbuf*>> to_worker_;
  std::vector<uint16_t> to_worker_n_;
  uint16_t tx_cap_ = 0;
  std::vector<std::vector<rte_mbuf*>> tx_;
  std::vector<uint16_t> tx_n_;
  std::vector<uint64_t> tx_bytes_;  // pkt_len sum of what tx_[slot] holds
  std::vector<TxRoute> route_;
  Enforcement* enforce_ = nullptr;
  rte_mempool* rst_pool_ = nullptr;
  rte_mbuf** cur_m_ = nullptr;  // the burst processBurst is judging (for sendRst)
  uint16_t cur_n_ = 0;
  RstFrames rstbuf_;
};

}  // namespace

int workerMain(void* arg) {
  auto* a = static_cast<WorkerArgs*>(arg);
  Worker w(*a->rt, a->index);  // allocation here is before the loop, not per packet
  const int rc = w.run();
  a->rt->done[a->index]->store(true, std::memory_order_release);
  return rc;
}

}  // namespace xborder::dp::app
