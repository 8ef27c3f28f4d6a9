// Scale benchmark for the negative-list toolchain (docs/benchmarks/ruleslang.md):
//   BM_CompileScaleList   load + validate + compile (with the Hyperscan database) a
//                         generated list of --endpoints CIDRs+domains and --keywords keywords
//   BM_EvaluateFlow/N     one flow decision against a list of N endpoints (20 vs --endpoints),
//                         half the flows matched by address, half by SNI
//                         (second arg: 0 mixed, 1 all by address, 2 all by SNI)
// Flags: --endpoints=100000 --keywords=10000 (the scale), then Google Benchmark's.

#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "rules/compile/compile_ruleset.h"
#include "rules/eval/eval_ruleset.h"
#include "rules/lang/list_loader.h"
#include "tests/rules/rules_scale_gen.h"

namespace {

using namespace xborder::rules;

size_t gEndpoints = 100000;
size_t gKeywords = 10000;

std::unique_ptr<eval::Evaluator> buildEvaluator(size_t endpoints, size_t keywords) {
  std::string text = testing::generateScaleList({endpoints, keywords});
  auto loaded = lang::loadListText(text, "scale.yaml");
  if (!loaded.ok()) return nullptr;
  compile::CompileOptions o;
  o.embedHyperscan = false;  // evaluation does not need the scanner database
  auto rs = compile::compileList(*loaded.list, o);
  if (!rs.ok()) return nullptr;
  auto ev = eval::Evaluator::create(std::move(*rs));
  return ev.ok() ? std::move(*ev) : nullptr;
}

// Stage costs of BM_CompileScaleList: 0 = load + validate only, 1 = + compile without
// the Hyperscan database, 2 = everything (what xborder-rulec does).
void BM_CompileScaleList(benchmark::State& state) {
  const int64_t stage = state.range(0);
  std::string text = testing::generateScaleList({gEndpoints, gKeywords});
  size_t bytes = 0;
  for (auto _ : state) {
    auto loaded = lang::loadListText(text, "scale.yaml");
    if (!loaded.ok()) {
      state.SkipWithError("generated list did not load");
      return;
    }
    if (stage == 0) continue;
    compile::CompileOptions o;
    o.embedHyperscan = stage >= 2;
    auto rs = compile::compileList(*loaded.list, o);
    if (!rs.ok()) {
      state.SkipWithError(std::string(rs.status().message()).c_str());
      return;
    }
    bytes = compile::serializeDeterministic(*rs).size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["endpoints"] = static_cast<double>(gEndpoints);
  state.counters["keywords"] = static_cast<double>(gKeywords);
  state.counters["yaml_MB"] = static_cast<double>(text.size()) / 1e6;
  state.counters["ruleset_MB"] = static_cast<double>(bytes) / 1e6;
}

void BM_EvaluateFlow(benchmark::State& state) {
  const size_t endpoints = static_cast<size_t>(state.range(0));
  static std::map<size_t, std::unique_ptr<eval::Evaluator>> cache;
  auto& ev = cache[endpoints];
  if (!ev) ev = buildEvaluator(endpoints, endpoints >= 1000 ? gKeywords : 200);
  if (!ev) {
    state.SkipWithError("could not build the evaluator");
    return;
  }
  const auto& rs = ev->ruleset();
  std::vector<uint32_t> det(static_cast<size_t>(rs.detectors_size()), 0);
  std::vector<uint32_t> dict(static_cast<size_t>(rs.dictionaries_size()), 0);
  det[static_cast<size_t>(ev->detectorIndex("cn_mobile"))] = 40;
  dict[static_cast<size_t>(ev->dictionaryIndex("kw_gen_3"))] = 2;
  const size_t dests = testing::scaleDestinationCount({endpoints, 0});
  constexpr size_t kFlows = 4096;
  std::vector<eval::FlowFacts> flows(kFlows);
  std::vector<std::string> hosts(kFlows);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < kFlows; ++i) {
    size_t d = rng() % dests;
    auto& f = flows[i];
    f.domesticIp = *geo::parseIp(std::string("198.18.") + std::to_string(i % 7) + ".20");
    f.vlan = static_cast<uint16_t>(100 + i % 7);
    const int64_t mode = state.range(1);  // 0 mixed, 1 by address only, 2 by name only
    if (mode == 1 || (mode == 0 && i % 2 == 0)) {
      f.foreignIp = testing::scaleDestinationAddress(d);
    } else {
      f.foreignIp = *geo::parseIp("192.0.2.1");
      hosts[i] = testing::scaleDestinationHost(d);
      f.foreignName = hosts[i];
    }
    f.detectorRecords = det;
    f.dictionaryRecords = dict;
    f.records = 40;
    f.newIndividualsNonSensitive = 40;
    f.timeUnix = 1770000000;
  }
  eval::InMemoryCounters counters;
  size_t i = 0;
  uint64_t blocked = 0;
  for (auto _ : state) {
    eval::Decision d = ev->evaluate(flows[i++ & (kFlows - 1)], counters);
    blocked += static_cast<uint64_t>(d.action);
    benchmark::DoNotOptimize(d);
  }
  benchmark::DoNotOptimize(blocked);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["endpoints"] = static_cast<double>(endpoints);
}

}  // namespace

int main(int argc, char** argv) {
  // Our flags first; the rest go to Google Benchmark.
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--endpoints=", 12) == 0) {
      gEndpoints = std::stoul(argv[i] + 12);
    } else if (std::strncmp(argv[i], "--keywords=", 11) == 0) {
      gKeywords = std::stoul(argv[i] + 11);
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  benchmark::RegisterBenchmark("BM_CompileScaleList", BM_CompileScaleList)
      ->Arg(0)
      ->Arg(1)
      ->Arg(2)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  // Args: endpoints, flow mix (0 half by address / half by SNI, 1 address, 2 SNI).
  benchmark::RegisterBenchmark("BM_EvaluateFlow", BM_EvaluateFlow)
      ->ArgsProduct({{20, static_cast<int64_t>(gEndpoints)}, {0, 1, 2}})
      ->Unit(benchmark::kNanosecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
