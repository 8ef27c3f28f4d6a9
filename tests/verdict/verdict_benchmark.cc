// Google Benchmark: the dataplane policy's cost per packet on a decided flow (what the
// engine pays when it does not skip settled flows), per inspected payload byte, and
// for a whole short flow with its decisions, records and counter updates.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "dataplane/counters/counters_table.h"
#include "dataplane/evidence_sink/evidence_sink.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"
#include "tests/verdict/verdict_test_util.h"

namespace xborder::dp {
namespace {

using namespace xborder::verdict_test;

struct Rig {
  std::shared_ptr<const RulesetSnapshot> snap;
  std::string dir;
  std::unique_ptr<evidence::Log> log;
  std::unique_ptr<evidence_sink::EvidenceSink> sink;
  counters::CounterStore store{counters::CounterStoreOptions{}};
  counters::CounterShard shard{4096};
  std::unique_ptr<RulesPolicy> policy;
  Rig() {
    snap = *RulesetSnapshot::fromRuleset(sampleRuleset());
    dir = tempDir("bench");
    log = makeLog(dir);
    evidence_sink::SinkOptions so;
    so.ringSlots = 1 << 16;
    sink = std::make_unique<evidence_sink::EvidenceSink>(log.get(), so);
    sink->registerNames(snap->names());
    DataplaneWiring w;
    w.shard = &shard;
    w.counts = &store;
    w.sink = sink.get();
    RulesPolicyConfig pc;
    pc.flow_capacity = 1 << 16;
    pc.inspect.max_flows = 1024;
    pc.inspect.byte_budget = uint64_t{1} << 40;  // BM_InspectedPayload scans one long flow
    static const std::array<uint8_t, 32> key{1, 2, 3};
    policy = std::move(*RulesPolicy::createDataplane(pc, w, snap, key));
  }
  static Rig& get() {
    static Rig r;
    return r;
  }
};

constexpr uint32_t kRetail = 0xC6120214, kProhibited = 0xC00002C9, kExpress = 0xC612050A, kNoFiling = 0xC00002C8;

void BM_DecidedFlowPacket(benchmark::State& state) {
  Rig& r = Rig::get();
  Flow f(kRetail, kProhibited, 50000, 7);
  const std::string doc = "\xe7\xbb\x9d\xe5\xaf\x86\xe2\x98\x85 report\n";
  f.send(*r.policy, 0, "", 1);
  f.classifyHttp();
  f.send(*r.policy, 0, "POST /d HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" + doc, 2);
  if (f.send(*r.policy, 1, "", 3) != PolicyAction::kBlock) state.SkipWithError("flow not blocked");
  uint64_t t = 10;
  for (auto _ : state) {
    ++t;
    benchmark::DoNotOptimize(f.send(*r.policy, static_cast<uint8_t>(t & 1), "", t));
  }
  r.policy->onFlowEnd(f.v, nullptr);
  r.sink->runOnce();
}
BENCHMARK(BM_DecidedFlowPacket);

void BM_InspectedPayload(benchmark::State& state) {
  Rig& r = Rig::get();
  const std::string body = waybills(0, 20000);
  Flow f(kExpress, kNoFiling, 50001, 8);
  f.send(*r.policy, 0, "", 1);
  f.classifyHttp();
  f.send(*r.policy, 0, "POST /u HTTP/1.1\r\nContent-Type: application/x-ndjson\r\n\r\n", 2);
  size_t off = 0;
  uint64_t t = 10, bytes = 0;
  for (auto _ : state) {
    if (off + 1448 > body.size()) off = 0;
    f.send(*r.policy, 0, std::string_view(body).substr(off, 1448), ++t);
    off += 1448;
    bytes += 1448;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  r.policy->onFlowEnd(f.v, nullptr);
  r.sink->runOnce();
}
BENCHMARK(BM_InspectedPayload);

void BM_ShortFlowWithRecords(benchmark::State& state) {
  Rig& r = Rig::get();
  const std::string req = post("upload.example.invalid", waybills(100, 5, true));
  uint32_t i = 0;
  for (auto _ : state) {
    Flow f(kExpress, kNoFiling, static_cast<uint16_t>(1024 + (i & 0x7fff)), 100 + (i & 0x7fff));
    f.v.flow_gen = ++i;
    f.send(*r.policy, 0, "", 1);
    f.send(*r.policy, 1, "", 2);
    f.send(*r.policy, 0, "", 3);
    f.classifyHttp();
    f.send(*r.policy, 0, req, 4);
    f.send(*r.policy, 1, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 5);
    r.policy->onFlowEnd(f.v, nullptr);
    if ((i & 1023) == 0) {
      state.PauseTiming();
      r.sink->runOnce();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ShortFlowWithRecords);

}  // namespace
}  // namespace xborder::dp

BENCHMARK_MAIN();
