// Google Benchmark: cost of each packet-library stage on synthetic traffic.
//   build/tests/dp_benchmark [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "dataplane/engine/engine.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/parse/parse.h"
#include "tests/dataplane/packet_builder.h"

namespace xborder::dp {
namespace {

void BM_DecodeTcpIpv4(benchmark::State& state) {
  const test::Bytes f = test::tcpFrame(test::kA, test::kB, 40000, 443, 0x18, std::string(100, 'x'));
  PacketMeta m;
  DecodeOptions o;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decodePacket(f.data(), static_cast<uint32_t>(f.size()),
                                          static_cast<uint32_t>(f.size()), o, &m));
  }
}
BENCHMARK(BM_DecodeTcpIpv4);

void BM_DecodeGtpInner(benchmark::State& state) {
  using namespace test;
  const Bytes inner = cat({ipv4(kC, kD, 17, 12), udp(5353, 53, 4), zeros(4)});
  const Bytes f = cat({eth(0x0800), ipv4(kA, kB, 17, static_cast<uint16_t>(16 + inner.size())),
                       udp(2152, 2152, static_cast<uint16_t>(8 + inner.size())),
                       gtpu(1, static_cast<uint16_t>(inner.size())), inner});
  PacketMeta m;
  DecodeOptions o;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decodePacket(f.data(), static_cast<uint32_t>(f.size()),
                                          static_cast<uint32_t>(f.size()), o, &m));
  }
}
BENCHMARK(BM_DecodeGtpInner);

// Lookups of existing flows in a table holding state.range(0) flows.
void BM_FlowLookupHit(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  FlowTable t;
  t.init(n, FlowTimeouts{});
  std::vector<FlowKey> keys;
  for (uint32_t i = 0; i < n; ++i) {
    IpLayer L{};
    L.version = 4;
    L.proto = 6;
    L.src[0] = 10, L.src[1] = static_cast<uint8_t>(i >> 16), L.src[2] = static_cast<uint8_t>(i >> 8),
    L.src[3] = static_cast<uint8_t>(i);
    L.dst[0] = 172;
    L.sport = static_cast<uint16_t>(i * 7);
    L.dport = 443;
    bool lo;
    keys.push_back(makeFlowKey(L, 0, &lo));
    t.insert(keys.back(), hashFlowKey(keys.back()), 1);
  }
  uint32_t i = 0;
  for (auto _ : state) {
    const FlowKey& k = keys[i];
    benchmark::DoNotOptimize(t.find(k, hashFlowKey(k)));
    i = i + 1 == n ? 0 : i + 1;
  }
}
BENCHMARK(BM_FlowLookupHit)->Arg(1 << 10)->Arg(1 << 20);

struct NullSink : FlowLogSink {
  void onFlowRecord(std::string_view) noexcept override {}
};

// The whole engine on packets of flows that are already classified (steady state).
void BM_EngineClassifiedFlows(benchmark::State& state) {
  NullSink sink;
  EngineConfig cfg;
  cfg.flow_capacity = 1 << 16;
  std::string err;
  auto engine = Engine::create(cfg, &sink, &err);
  std::vector<test::Bytes> frames;
  for (uint16_t i = 0; i < 1024; ++i) {
    frames.push_back(test::udpFrame(test::kA + i, test::kB, static_cast<uint16_t>(1024 + i), 53,
                                    test::dnsQuery("www.example.com", false)));
  }
  std::vector<PacketIn> in(32);
  Verdict v[32];
  uint64_t ts = 1700000000ull * 1000000000ull;
  size_t next = 0;
  for (auto _ : state) {
    for (auto& p : in) {
      const test::Bytes& f = frames[next];
      next = next + 1 == frames.size() ? 0 : next + 1;
      p = PacketIn{f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()),
                   ts += 1000, Side::kInside};
    }
    engine->processBurst(in.data(), 32, v);
    engine->advanceTime(ts);
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_EngineClassifiedFlows);

}  // namespace
}  // namespace xborder::dp

BENCHMARK_MAIN();
