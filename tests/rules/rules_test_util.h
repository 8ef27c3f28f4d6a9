#pragma once
// Shared helpers for the rules tests: paths, the compiled sample list, and list snippets.

#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "rules/compile/compile_ruleset.h"
#include "rules/eval/eval_ruleset.h"
#include "rules/lang/list_loader.h"

namespace xborder::rules::testing {

inline std::string sourceDir() {
  const char* s = std::getenv("XB_SOURCE_DIR");
  return s ? s : XB_TEST_SOURCE_DIR;
}

inline std::string sampleListPath() { return sourceDir() + "/rules/examples/sample-negative-list.yaml"; }

inline std::unique_ptr<eval::Evaluator> compileSample() {
  auto loaded = lang::loadListFile(sampleListPath());
  EXPECT_TRUE(loaded.ok()) << loaded.formatAll();
  if (!loaded.ok()) return nullptr;
  auto rs = compile::compileList(*loaded.list);
  EXPECT_TRUE(rs.ok()) << rs.status();
  if (!rs.ok()) return nullptr;
  auto ev = eval::Evaluator::create(*rs);
  EXPECT_TRUE(ev.ok()) << ev.status();
  return ev.ok() ? std::move(*ev) : nullptr;
}

}  // namespace xborder::rules::testing
