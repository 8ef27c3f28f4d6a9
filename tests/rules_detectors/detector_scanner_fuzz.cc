// libFuzzer target: arbitrary bytes through the full detector set, scanned once whole
// and once in pseudo-random chunk sizes. Checks no crash, bounded counters, and that
// chunking never changes the result (streaming correctness).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <cstdio>
#include <string>

#include "rules/detectors/detector_scanner.h"
#include "tests/rules_detectors/detector_test_util.h"

using namespace xborder::rules::detectors;

namespace {

Scanner& scanner() {
  static std::unique_ptr<Scanner> s = [] {
    auto set = DetectorSet::build(testing::fullSpec());
    if (!set.ok()) std::abort();
    auto sc = Scanner::create(*set, testing::testKey(), 20251123);
    if (!sc.ok()) std::abort();
    return std::move(*sc);
  }();
  return *s;
}

FlowScanResult run(const uint8_t* data, size_t size, uint32_t seed) {
  Scanner& sc = scanner();
  FlowScanState st;
  if (!sc.open(st)) std::abort();
  size_t pos = 0;
  while (pos < size) {
    size_t n = size - pos;
    if (seed) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (seed >> 16) % 97);
    }
    sc.scan(st, data + pos, n);
    pos += n;
  }
  sc.finish(st);
  return st.result();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint32_t seed = 1;
  if (size >= 2) seed = (static_cast<uint32_t>(data[0]) << 8 | data[1]) | 1;
  FlowScanResult whole = run(data, size, 0);
  FlowScanResult chunked = run(data, size, seed);
  if (whole.scanErrors || chunked.scanErrors) std::abort();
  if (whole.hits != chunked.hits || whole.dictionaryHits != chunked.dictionaryHits) {
    for (size_t i = 0; i < whole.hits.size(); ++i)
      if (whole.hits[i] != chunked.hits[i]) fprintf(stderr, "det %zu (%s): whole %u chunked %u\n", i, std::string(i < detectorNames().size() ? detectorNames()[i] : "?").c_str(), whole.hits[i], chunked.hits[i]);
    for (size_t i = 0; i < whole.dictionaryHits.size(); ++i)
      if (whole.dictionaryHits[i] != chunked.dictionaryHits[i]) fprintf(stderr, "dict %zu: whole %u chunked %u\n", i, whole.dictionaryHits[i], chunked.dictionaryHits[i]);
    std::abort();
  }
  if (whole.keyHashCount > kMaxKeyHashes || whole.keyHashCount != chunked.keyHashCount) std::abort();
  if (whole.bytes != size) std::abort();
  // Every hit ends at a distinct offset of one pattern.
  const uint64_t bound = (static_cast<uint64_t>(size) + 1) * scanner().set().patternCount();
  if (whole.totalHits() > bound) std::abort();
  uint32_t classTotal = 0;
  for (auto c : whole.classHits) classTotal += c;
  if (classTotal != whole.totalHits()) std::abort();
  return 0;
}
