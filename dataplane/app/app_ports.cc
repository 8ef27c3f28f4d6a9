// Port, mempool and ring set-up (control path). Same code for PCI NICs and for the
// net_pcap / net_af_packet / net_af_xdp / net_ring vdevs: capabilities come from
// rte_eth_dev_info, never from the driver name.
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "dataplane/app/app_runtime.h"

namespace xborder::dp::app {
namespace {

constexpr uint64_t kRssTypes = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;

std::string portName(uint16_t id) {
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  if (rte_eth_dev_get_name_by_port(id, name) != 0) {
    return absl::StrCat("port", id);
  }
  return name;
}

// Decides queues, RSS or hand-off for one port.
absl::Status planPort(Runtime& rt, PortInfo& p, unsigned& next_owner) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(p.id, &info); rc != 0) {
    return absl::InternalError(absl::StrCat(p.name, ": dev_info: ", rte_strerror(-rc)));
  }
  const unsigned w = rt.nworkers;
  const bool rss_ok = (info.flow_type_rss_offloads & kRssTypes) != 0;
  if (w == 1 || (rss_ok && info.max_rx_queues >= w)) {
    p.nb_rxq = static_cast<uint16_t>(w);
    p.rss = w > 1;
    p.handoff = false;
  } else {
    p.nb_rxq = 1;
    p.handoff = true;
  }
  p.rx_owner = next_owner++ % w;  // spreads hand-off ports over workers
  p.nb_txq = info.max_tx_queues >= w ? static_cast<uint16_t>(w) : 1;
  p.tx_owner = p.rx_owner;
  const int sock = rte_eth_dev_socket_id(p.id);
  p.socket = sock < 0 ? 0 : sock;
  return absl::OkStatus();
}

absl::Status configurePort(Runtime& rt, PortInfo& p) {
  rte_eth_dev_info info{};
  rte_eth_dev_info_get(p.id, &info);
  rte_eth_conf conf{};
  // No offload that changes packet bytes (no VLAN strip, no CRC strip changes): an
  // inline bridge must be byte-for-byte transparent.
  uint8_t key[64];
  if (p.rss) {
    const uint8_t len = info.hash_key_size ? info.hash_key_size : 40;
    // Symmetric Toeplitz: 0x6d5a repeated gives hash(a->b) == hash(b->a).
    for (unsigned i = 0; i < sizeof(key); ++i) {
      key[i] = (i & 1) ? 0x5a : 0x6d;
    }
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key;
    conf.rx_adv_conf.rss_conf.rss_key_len = std::min<uint8_t>(len, sizeof(key));
    conf.rx_adv_conf.rss_conf.rss_hf = kRssTypes & info.flow_type_rss_offloads;
  }
  if (rt.cfg.mtu != 0) {
    if (rt.cfg.mtu > info.max_mtu || rt.cfg.mtu < info.min_mtu) {
      return absl::InvalidArgumentError(absl::StrCat(rt.cfg.mtu_where.prefix(), p.name,
                                                     " accepts an MTU from ", info.min_mtu,
                                                     " to ", info.max_mtu));
    }
    conf.rxmode.mtu = rt.cfg.mtu;
    // Ethernet header, two VLAN tags, CRC: a full frame must fit one mbuf, or the port
    // must chain mbufs (scatter).
    const uint32_t frame = rt.cfg.mtu + RTE_ETHER_HDR_LEN + 8 + RTE_ETHER_CRC_LEN;
    const uint32_t room = rt.cfg.mbuf_data_room ? rt.cfg.mbuf_data_room
                                                : RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM;
    if (frame > room) {
      if (!(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
        return absl::InvalidArgumentError(
            absl::StrCat(rt.cfg.mtu_where.prefix(), p.name, " cannot chain mbufs: set ",
                         "mempool.data_room to at least ", frame));
      }
      conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
    }
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;  // forward chained mbufs as is
  }
  if (int rc = rte_eth_dev_configure(p.id, p.nb_rxq, p.nb_txq, &conf); rc != 0) {
    return absl::InternalError(absl::StrCat(p.name, ": configure ", p.nb_rxq, " rx / ", p.nb_txq,
                                            " tx queues: ", rte_strerror(-rc)));
  }
  uint16_t nb_rxd = rt.cfg.rx_descriptors;
  uint16_t nb_txd = rt.cfg.tx_descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &nb_rxd, &nb_txd);
  rte_mempool* pool = rt.pools[static_cast<size_t>(p.socket)];
  for (uint16_t q = 0; q < p.nb_rxq; ++q) {
    if (int rc = rte_eth_rx_queue_setup(p.id, q, nb_rxd, static_cast<unsigned>(p.socket),
                                        nullptr, pool);
        rc != 0) {
      return absl::InternalError(
          absl::StrCat(p.name, ": rx queue ", q, " setup: ", rte_strerror(-rc)));
    }
  }
  for (uint16_t q = 0; q < p.nb_txq; ++q) {
    if (int rc = rte_eth_tx_queue_setup(p.id, q, nb_txd, static_cast<unsigned>(p.socket),
                                        nullptr);
        rc != 0) {
      return absl::InternalError(
          absl::StrCat(p.name, ": tx queue ", q, " setup: ", rte_strerror(-rc)));
    }
  }
  // A bridge sees every MAC; vdevs without the op (net_pcap) are fine as they are.
  rte_eth_promiscuous_enable(p.id);
  if (int rc = rte_eth_dev_start(p.id); rc != 0) {
    return absl::InternalError(absl::StrCat(p.name, ": start: ", rte_strerror(-rc)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status setupPorts(Runtime& rt, const std::vector<ResolvedPair>& pairs) {
  rt.slot_of_port.fill(-1);
  const bool inline_mode = rt.cfg.mode == Mode::kInline;
  for (const ResolvedPair& rp : pairs) {
    PortInfo in;
    in.id = rp.inside;
    in.side = Side::kInside;
    if (rp.outside && inline_mode) {
      in.peer = *rp.outside;
    }
    rt.ports.push_back(in);
    if (rp.outside) {
      PortInfo out;
      out.id = *rp.outside;
      out.side = Side::kOutside;
      if (inline_mode) {
        out.peer = rp.inside;
      }
      rt.ports.push_back(out);
    }
  }
  unsigned owner = 0;
  for (size_t i = 0; i < rt.ports.size(); ++i) {
    PortInfo& p = rt.ports[i];
    p.name = portName(p.id);
    rt.slot_of_port[p.id] = static_cast<int16_t>(i);
    if (absl::Status s = planPort(rt, p, owner); !s.ok()) {
      return s;
    }
  }

  // One mbuf pool per NUMA socket in use, sized from what can be held at once:
  // descriptors, hand-off and tx rings, per-worker staging, and per-lcore caches.
  uint64_t need = 0;
  for (const PortInfo& p : rt.ports) {
    need += static_cast<uint64_t>(p.nb_rxq) * rt.cfg.rx_descriptors +
            static_cast<uint64_t>(p.nb_txq) * rt.cfg.tx_descriptors;
  }
  const uint64_t w = rt.nworkers;
  need += 2 * w * (w - 1) * rt.cfg.handoff_ring;          // hand-off + tx rings
  need += w * (rt.ports.size() + 2) * 4 * rt.cfg.burst_size;  // rx/tx staging
  need += (w + 1) * rt.cfg.mempool_cache * 2 + 1024;
  uint64_t size = rt.cfg.mempool_size ? rt.cfg.mempool_size : need;
  size = std::max<uint64_t>(size, 1023);
  int max_socket = 0;
  for (const PortInfo& p : rt.ports) {
    max_socket = std::max(max_socket, p.socket);
  }
  rt.pools.assign(static_cast<size_t>(max_socket) + 1, nullptr);
  for (const PortInfo& p : rt.ports) {
    auto& pool = rt.pools[static_cast<size_t>(p.socket)];
    if (pool != nullptr) {
      continue;
    }
    const std::string name = absl::StrCat("xb_mbuf_s", p.socket);
    pool = rte_pktmbuf_pool_create(name.c_str(), static_cast<unsigned>(size),
                                   std::min<unsigned>(rt.cfg.mempool_cache, RTE_MEMPOOL_CACHE_MAX_SIZE),
                                   0,
                                   rt.cfg.mbuf_data_room
                                       ? static_cast<uint16_t>(rt.cfg.mbuf_data_room + RTE_PKTMBUF_HEADROOM)
                                       : RTE_MBUF_DEFAULT_BUF_SIZE,
                                   p.socket);
    if (pool == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "mbuf pool of ", size, " mbufs on socket ", p.socket, ": ", rte_strerror(rte_errno),
          " (give EAL more memory, e.g. -m 512, or lower mempool.size / queue sizes)"));
    }
  }
  for (PortInfo& p : rt.ports) {
    if (absl::Status s = configurePort(rt, p); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status setupRings(Runtime& rt) {
  const unsigned w = rt.nworkers;
  rt.handoff.assign(w, std::vector<rte_ring*>(w, nullptr));
  rt.txring.assign(w, std::vector<rte_ring*>(w, nullptr));
  if (w == 1) {
    return absl::OkStatus();
  }
  for (unsigned s = 0; s < w; ++s) {
    for (unsigned d = 0; d < w; ++d) {
      if (s == d) {
        continue;
      }
      const int sock = static_cast<int>(rte_lcore_to_socket_id(rt.worker_lcores[d]));
      for (int kind = 0; kind < 2; ++kind) {
        const std::string name = absl::StrCat(kind ? "xb_tx_" : "xb_ho_", s, "_", d);
        rte_ring* r = rte_ring_create(name.c_str(), rt.cfg.handoff_ring, sock,
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (r == nullptr) {
          return absl::ResourceExhaustedError(
              absl::StrCat("ring ", name, ": ", rte_strerror(rte_errno)));
        }
        (kind ? rt.txring : rt.handoff)[s][d] = r;
      }
    }
  }
  return absl::OkStatus();
}

void stopPorts(Runtime& rt) {
  // Stopping and closing flushes what net_pcap buffered into its tx capture file.
  for (const PortInfo& p : rt.ports) {
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
  }
}

}  // namespace xborder::dp::app
