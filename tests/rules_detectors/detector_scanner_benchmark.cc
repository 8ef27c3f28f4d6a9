// Scan throughput on 1460-byte payloads (benign text, PII-dense text, random binary),
// keyed-hash cost and OpenSSL allocations per hash, per-flow state size.
//   build/bench/detector_scanner_benchmark [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rules/detectors/detector_scanner.h"
#include "tests/rules_detectors/detector_corpus.h"
#include "tests/rules_detectors/detector_test_util.h"

using namespace xborder::rules::detectors;

namespace {

std::atomic<uint64_t> gAllocs{0};
void* countingMalloc(size_t n, const char*, int) {
  gAllocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n);
}
void* countingRealloc(void* p, size_t n, const char*, int) {
  gAllocs.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(p, n);
}
void countingFree(void* p, const char*, int) { std::free(p); }

constexpr size_t kPayload = 1460;

struct Fixture {
  std::shared_ptr<const DetectorSet> set;
  std::vector<std::string> benign, dense, binary;
  size_t streamNoSom = 0;

  Fixture() {
    auto spec = testing::fullSpec();
    set = *DetectorSet::build(spec);
    streamNoSom = DetectorSet::streamBytesWithoutSomForTest(spec).value_or(0);
    std::string b, d, r;
    for (const auto& s : testing::generateCorpus(42, 400)) {
      if (s.kind == "benign/random" || s.kind == "benign/png" || s.kind == "benign/jpeg" || s.kind == "benign/deflate") {
        r += s.bytes;
      } else if (s.kind.rfind("benign/", 0) == 0 && s.kind.find("gzip") == std::string::npos) {
        b += s.bytes;
      } else if (s.kind.find('/') == std::string::npos) {
        d += s.bytes;
      }
    }
    slice(b, benign);
    slice(d, dense);
    slice(r, binary);
  }
  static void slice(const std::string& all, std::vector<std::string>& out) {
    for (size_t i = 0; i + kPayload <= all.size() && out.size() < 2048; i += kPayload) out.push_back(all.substr(i, kPayload));
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// One flow-direction per 32 payloads (a ~46 KB transfer), as a worker sees it.
void scanPayloads(benchmark::State& state, const std::vector<std::string>& payloads) {
  Fixture& f = fixture();
  auto sc = std::move(*Scanner::create(f.set, testing::testKey(), 20251123));
  FlowScanState st;
  sc->open(st);
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    const std::string& p = payloads[i % payloads.size()];
    sc->scan(st, reinterpret_cast<const uint8_t*>(p.data()), p.size());
    if (++i % 32 == 0) {
      sc->finish(st);
      hits += st.result().totalHits();
      sc->reset(st);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPayload));
  state.counters["ns_per_byte"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kPayload), benchmark::Counter::kIsRate |
                                                                              benchmark::Counter::kInvert);
  state.counters["hits_per_payload"] = static_cast<double>(hits) / static_cast<double>(std::max<size_t>(i, 1));
  state.counters["payloads"] = static_cast<double>(payloads.size());
  sc->release(st);
}

void BM_ScanBenignText(benchmark::State& s) { scanPayloads(s, fixture().benign); }
void BM_ScanPiiDense(benchmark::State& s) { scanPayloads(s, fixture().dense); }
void BM_ScanRandomBinary(benchmark::State& s) { scanPayloads(s, fixture().binary); }

void BM_KeyedHash(benchmark::State& state) {
  auto sc = std::move(*Scanner::create(fixture().set, testing::testKey(), 20251123));
  const char id[] = "11010519491231002X";
  uint64_t before = gAllocs.load();
  uint64_t sink = 0;
  for (auto _ : state) sink += sc->keyedHash(0, id, 18);
  benchmark::DoNotOptimize(sink);
  state.counters["openssl_allocs_per_hash"] =
      static_cast<double>(gAllocs.load() - before) / static_cast<double>(state.iterations());
}

void BM_FlowOpenRelease(benchmark::State& state) {
  auto sc = std::move(*Scanner::create(fixture().set, testing::testKey(), 20251123));
  for (auto _ : state) {
    FlowScanState st;
    sc->open(st);
    sc->release(st);
  }
}

void BM_StateSizes(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.set->streamStateBytes());
  state.counters["hs_stream_bytes"] = static_cast<double>(f.set->streamStateBytes());
  state.counters["hs_stream_bytes_no_som"] = static_cast<double>(f.streamNoSom);
  state.counters["flow_state_struct_bytes"] = sizeof(FlowScanState);
  state.counters["hs_database_bytes"] = static_cast<double>(f.set->databaseBytes());
  state.counters["patterns"] = static_cast<double>(f.set->patternCount());
}

BENCHMARK(BM_ScanBenignText);
BENCHMARK(BM_ScanPiiDense);
BENCHMARK(BM_ScanRandomBinary);
BENCHMARK(BM_KeyedHash);
BENCHMARK(BM_FlowOpenRelease);
BENCHMARK(BM_StateSizes)->Iterations(1);

}  // namespace

int main(int argc, char** argv) {
  // Must precede any OpenSSL allocation so every allocation is counted.
  CRYPTO_set_mem_functions(countingMalloc, countingRealloc, countingFree);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
