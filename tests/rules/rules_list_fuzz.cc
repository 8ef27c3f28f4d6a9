// libFuzzer target for the list loader: any bytes must load (with diagnostics) or fail
// cleanly, and a list that loads must compile and evaluate a flow without crashing.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/compile/compile_ruleset.h"
#include "rules/eval/eval_ruleset.h"
#include "rules/lang/list_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xborder::rules;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lang::LoadResult r = lang::loadListText(text, "fuzz.yaml", {}, "/nonexistent");
  for (const auto& d : r.diagnostics) {
    if (d.format().find('\n') != std::string::npos) __builtin_trap();  // one line per problem
  }
  if (!r.ok()) return 0;
  // The Hyperscan build belongs to the detectors' own fuzz target; keep this one fast.
  compile::CompileOptions options;
  options.embedHyperscan = false;
  auto rs = compile::compileList(*r.list, options);
  if (!rs.ok()) return 0;
  auto ev = eval::Evaluator::fromBytes(compile::serializeDeterministic(*rs));
  if (!ev.ok()) __builtin_trap();  // what the compiler writes, the evaluator must load
  eval::FlowFacts f;
  uint32_t det[64] = {1, 1, 1, 1, 1, 1, 1, 1};
  uint32_t dict[8] = {1, 1, 1, 1};
  f.detectorRecords = det;
  f.dictionaryRecords = dict;
  f.records = 10;
  f.newIndividualsNonSensitive = 5;
  f.foreignName = "a.example.com";
  eval::InMemoryCounters counters;
  for (int t = -1; t < (*ev)->ruleset().tenants_size() && t < 4; ++t) {
    f.tenant = t;
    eval::Decision d = (*ev)->evaluate(f, counters);
    (void)(*ev)->describe(d);
  }
  return 0;
}
