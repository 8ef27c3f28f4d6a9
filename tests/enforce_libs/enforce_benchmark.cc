// Issue 5 library costs: ./build/tests/enforce_benchmark
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "dataplane/anomaly/anomaly_monitor.h"
#include "dataplane/counters/counters_hll.h"
#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"

namespace {
using namespace xborder::dp;

uint64_t splitmix(uint64_t& s) {
  uint64_t x = (s += 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void BM_HllAdd(benchmark::State& state) {
  counters::Hll h;
  uint64_t s = 1;
  for (uint64_t i = 0; i < 1000; ++i) h.add(splitmix(s));  // past the exact set
  for (auto _ : state) h.add(splitmix(s));
}
BENCHMARK(BM_HllAdd);

void BM_HllEstimate(benchmark::State& state) {
  counters::Hll h;
  uint64_t s = 1;
  for (uint64_t i = 0; i < 100000; ++i) h.add(splitmix(s));
  for (auto _ : state) benchmark::DoNotOptimize(h.estimate());
}
BENCHMARK(BM_HllEstimate);

void BM_CounterUpdate(benchmark::State& state) {
  counters::CounterShard shard(1024);
  counters::TallyKey k;
  k.counter.legalEntity = 3;
  k.counter.index = 5;
  k.counter.year = 2026;
  k.country = counters::countryCode('U', 'S');
  k.sensitivity = counters::Sensitivity::kSensitive;
  uint64_t s = 1;
  for (auto _ : state) {
    const uint64_t h = splitmix(s);
    shard.update(k, std::span(&h, 1), 1, 1500, 0);  // detail + aggregate rows
  }
}
BENCHMARK(BM_CounterUpdate);

void BM_RingPushPop(benchmark::State& state) {
  evidence_sink::SpscRing<evidence_sink::EvidenceEvent> ring(4096);
  evidence_sink::EvidenceEvent e, out;
  for (auto _ : state) {
    ring.push(e);
    ring.pop(out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RingPushPop);

struct NullSink : anomaly::AlertSink {
  void onAlert(const anomaly::AlertEvent&) override {}
};
void BM_AnomalyObserve(benchmark::State& state) {
  NullSink sink;
  anomaly::AnomalyMonitor m({}, &sink);
  anomaly::FlowSample f;
  f.country = counters::countryCode('U', 'S');
  f.deltaBytesOut = 1500;
  int64_t t = 1'767'225'600'000'000'000;
  uint32_t i = 0;
  for (auto _ : state) {
    f.tenant = i & 63;
    f.destination = static_cast<int32_t>(i++ & 255);
    f.unixNanos = (t += 1000);
    m.observe(f);
  }
}
BENCHMARK(BM_AnomalyObserve);

// Writer throughput into a real Log (fsync per batch) on the build machine's disk.
void BM_WriterRecordsPerSecond(benchmark::State& state) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("xb-enforce-bench-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  xborder::evidence::LogOptions o;
  o.dir = dir;
  o.origin = "bench.xborder/evsink";
  auto log = xborder::evidence::Log::create(o);
  if (!log.ok()) {
    state.SkipWithError("log create failed");
    return;
  }
  evidence_sink::SinkOptions so;
  so.ringSlots = 8192;
  so.batchMax = static_cast<size_t>(state.range(0));
  evidence_sink::EvidenceSink sink(log->get(), so);
  evidence_sink::EvidenceEvent e;
  e.dstIpLen = 4;
  e.entry = 3;
  uint64_t total = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < state.range(0); ++i) {
      e.flowSeq = total++;
      sink.submit(0, e);
    }
    sink.runOnce();
  }
  state.SetItemsProcessed(static_cast<int64_t>(total));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_WriterRecordsPerSecond)->Arg(64)->Arg(512)->Arg(4096)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
