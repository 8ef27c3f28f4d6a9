#include "dataplane/app/app_metrics.h"

#include <rte_ethdev.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "dataplane/app/app_prometheus.h"

namespace xborder::dp::app {
namespace {

std::string sideName(Side s) { return s == Side::kInside ? "inside" : "outside"; }

uint16_t queueOf(const PortInfo& p, unsigned worker) {
  return static_cast<uint16_t>(p.nb_rxq > 1 ? worker : 0);
}

class Collect final : public CounterVisitor {
 public:
  Collect(PrometheusText& t, unsigned worker) : t_(t), worker_(worker) {}
  void counter(std::string_view name, std::string_view key, std::string_view value,
               uint64_t v) override {
    std::string labels = absl::StrCat("worker=\"", worker_, "\"");
    if (key == "worker") {
      // The Engine already labels this one by worker (its own id, which is ours).
      labels = absl::StrCat("worker=\"", std::string(value), "\"");
    } else if (!key.empty()) {
      absl::StrAppend(&labels, ",", std::string(key), "=\"", std::string(value), "\"");
    }
    // visitCounters has no type: by Prometheus convention only *_total are counters.
    const bool counter = name.size() > 6 && name.substr(name.size() - 6) == "_total";
    t_.add(name, labels, v, counter ? "counter" : "gauge");
  }

 private:
  PrometheusText& t_;
  unsigned worker_;
};

class Sum final : public CounterVisitor {
 public:
  void counter(std::string_view name, std::string_view key, std::string_view value,
               uint64_t v) override {
    std::string k(name);
    if (!key.empty()) {
      absl::StrAppend(&k, "{", std::string(key), "=", std::string(value), "}");
    }
    sums[k] += v;
  }
  std::map<std::string, uint64_t> sums;
};

}  // namespace

Totals totals(const Runtime& rt) {
  Totals t;
  for (const auto& st : rt.stats) {
    for (const PortInfo& p : rt.ports) {
      const PortWorkerCounters& c = st->port[p.id];
      t.rx += c.rx_packets.get();
      t.forwarded += c.tx_packets.get();
      t.dropped += c.verdict_dropped.get() + c.tx_dropped.get() + c.handoff_dropped.get();
    }
    t.dropped += st->w.tx_handoff_dropped.get();
  }
  return t;
}

std::string renderPrometheus(const Runtime& rt) {
  PrometheusText t;
  for (const PortInfo& p : rt.ports) {
    rte_eth_stats s{};
    rte_eth_stats_get(p.id, &s);
    const std::string l = absl::StrCat("port=\"", p.name, "\",side=\"", sideName(p.side), "\"");
    t.add("xborder_port_rx_packets_total", l, s.ipackets);
    t.add("xborder_port_rx_bytes_total", l, s.ibytes);
    t.add("xborder_port_tx_packets_total", l, s.opackets);
    t.add("xborder_port_tx_bytes_total", l, s.obytes);
    t.add("xborder_port_rx_missed_total", l, s.imissed);  // rte_eth_stats.imissed
    t.add("xborder_port_rx_nombuf_total", l, s.rx_nombuf);
    t.add("xborder_port_rx_errors_total", l, s.ierrors);
    t.add("xborder_port_tx_errors_total", l, s.oerrors);
  }
  for (unsigned w = 0; w < rt.nworkers; ++w) {
    const WorkerStats& st = *rt.stats[w];
    for (const PortInfo& p : rt.ports) {
      const PortWorkerCounters& c = st.port[p.id];
      const std::string l =
          absl::StrCat("port=\"", p.name, "\",queue=\"", queueOf(p, w), "\",worker=\"", w, "\"");
      t.add("xborder_queue_rx_packets_total", l, c.rx_packets.get());
      t.add("xborder_queue_rx_bytes_total", l, c.rx_bytes.get());
      t.add("xborder_queue_tx_packets_total", l, c.tx_packets.get());
      t.add("xborder_queue_tx_bytes_total", l, c.tx_bytes.get());
      t.add("xborder_queue_drops_total", absl::StrCat(l, ",reason=\"verdict\""),
            c.verdict_dropped.get());
      t.add("xborder_queue_drops_total", absl::StrCat(l, ",reason=\"tx-full\""),
            c.tx_dropped.get());
      t.add("xborder_queue_drops_total", absl::StrCat(l, ",reason=\"handoff-ring-full\""),
            c.handoff_dropped.get());
      t.add("xborder_queue_tap_consumed_total", l, c.tap_consumed.get());
      t.add("xborder_queue_handoff_out_total", l, c.handoff_out.get());
      t.add("xborder_queue_multiseg_total", l, c.multiseg.get());
    }
    const std::string wl = absl::StrCat("worker=\"", w, "\",lcore=\"", rt.worker_lcores[w], "\"");
    t.add("xborder_worker_loops_total", wl, st.w.loops.get());
    t.add("xborder_worker_busy_loops_total", wl, st.w.busy_loops.get());
    t.add("xborder_worker_handoff_in_total", wl, st.w.handoff_in.get());
    t.add("xborder_worker_tx_handoff_out_total", wl, st.w.tx_handoff_out.get());
    t.add("xborder_worker_drops_total", absl::StrCat(wl, ",reason=\"tx-handoff-ring-full\""),
          st.w.tx_handoff_dropped.get());
    t.add("xborder_worker_flows_active", wl, rt.engines[w]->activeFlows(), "gauge");
    t.add("xborder_rst_sent_total", wl, st.w.rst_sent.get());
    t.add("xborder_rst_failed_total", wl, st.w.rst_failed.get());
    t.add("xborder_flow_log_lines_total", wl, rt.flow_logs[w]->lines());
    t.add("xborder_flow_log_bytes_total", wl, rt.flow_logs[w]->bytes());
    t.add("xborder_flow_log_lost_total", wl, rt.flow_logs[w]->lost());
    Collect c(t, w);
    rt.engines[w]->visitCounters(c);
  }
  if (rt.enforce != nullptr) {
    rt.enforce->prometheus(t);
  }
  return t.str();
}

void printStats(const Runtime& rt, FILE* out, double elapsed_s) {
  std::fprintf(out, "xborder-dataplane: counters after %.3f s (%s mode)\n", elapsed_s,
               std::string(modeName(rt.cfg.mode)).c_str());
  for (const PortInfo& p : rt.ports) {
    rte_eth_stats s{};
    rte_eth_stats_get(p.id, &s);
    std::fprintf(out,
                 "  port %-14s %-7s rx %10lu pkts %12lu B  tx %10lu pkts %12lu B  imissed %lu "
                 "rx_nombuf %lu ierrors %lu oerrors %lu\n",
                 p.name.c_str(), sideName(p.side).c_str(), s.ipackets, s.ibytes,
                 s.opackets, s.obytes, s.imissed, s.rx_nombuf, s.ierrors, s.oerrors);
  }
  Sum engine;
  for (unsigned w = 0; w < rt.nworkers; ++w) {
    const WorkerStats& st = *rt.stats[w];
    uint64_t rx = 0, tx = 0, vd = 0, txd = 0, hod = 0, tap = 0;
    for (const PortInfo& p : rt.ports) {
      const PortWorkerCounters& c = st.port[p.id];
      rx += c.rx_packets.get();
      tx += c.tx_packets.get();
      vd += c.verdict_dropped.get();
      txd += c.tx_dropped.get();
      hod += c.handoff_dropped.get();
      tap += c.tap_consumed.get();
    }
    std::fprintf(out,
                 "  worker %u (lcore %u): rx %lu tx %lu tap-consumed %lu handoff-in %lu | drops: "
                 "verdict %lu tx-full %lu handoff-ring-full %lu tx-handoff-ring-full %lu | flows "
                 "active %lu | flow log lines %lu lost %lu | rst sent %lu failed %lu\n",
                 w, rt.worker_lcores[w], rx, tx, tap, st.w.handoff_in.get(), vd, txd, hod,
                 st.w.tx_handoff_dropped.get(), rt.engines[w]->activeFlows(),
                 rt.flow_logs[w]->lines(), rt.flow_logs[w]->lost(), st.w.rst_sent.get(),
                 st.w.rst_failed.get());
    rt.engines[w]->visitCounters(engine);
  }
  if (rt.enforce != nullptr) {
    rt.enforce->printStats(out);
  }
  // Console: non-zero engine counters only (Prometheus serves every one).
  for (const auto& [k, v] : engine.sums) {
    if (v != 0) {
      std::fprintf(out, "  engine %s %lu\n", k.c_str(), v);
    }
  }
  std::fflush(out);
}

}  // namespace xborder::dp::app
