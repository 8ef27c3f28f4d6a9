// Counters of the running dataplane, read by the main lcore: ports (rte_eth_stats),
// queues and workers (our per-worker counters) and the Engines (visitCounters).
#pragma once

#include <cstdio>
#include <string>

#include "dataplane/app/app_runtime.h"

namespace xborder::dp::app {

struct Totals {
  uint64_t rx = 0;         // packets the workers received from ports
  uint64_t forwarded = 0;  // packets sent on ports
  uint64_t dropped = 0;    // every counted drop (verdict, tx, hand-off)
};
Totals totals(const Runtime& rt);

// Prometheus text exposition (served by PrometheusServer).
std::string renderPrometheus(const Runtime& rt);
// Console report: printed every --stats-interval seconds and at exit.
void printStats(const Runtime& rt, FILE* out, double elapsed_s);

}  // namespace xborder::dp::app
