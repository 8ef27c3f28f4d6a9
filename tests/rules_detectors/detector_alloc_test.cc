// The detectors' hot path allocates nothing per identifier: after warm-up, scanning
// identifier-dense payload (every identifier validated and keyed-hashed) makes no
// OpenSSL allocation (CRYPTO_malloc), no Hyperscan allocation and no operator new.
// OpenSSL's and Hyperscan's allocators are replaced before either allocates (static
// initialisation of this test binary), so every allocation they make is seen.
#include <gtest/gtest.h>
#include <hs/hs.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "rules/detectors/detector_scanner.h"
#include "tests/rules_detectors/detector_corpus.h"
#include "tests/rules_detectors/detector_test_util.h"

// The replacement operator new below uses malloc, so its deletes use free; GCC cannot
// see that pairing through the replacement.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

std::atomic<bool> gArmed{false};
std::atomic<uint64_t> gOpenSsl{0};
std::atomic<uint64_t> gHyperscan{0};
std::atomic<uint64_t> gNews{0};

void count(std::atomic<uint64_t>& c) {
  if (gArmed.load(std::memory_order_relaxed)) c.fetch_add(1, std::memory_order_relaxed);
}

void* osslMalloc(size_t n, const char*, int) {
  count(gOpenSsl);
  return std::malloc(n);
}
void* osslRealloc(void* p, size_t n, const char*, int) {
  count(gOpenSsl);
  return std::realloc(p, n);
}
void osslFree(void* p, const char*, int) { std::free(p); }

void* hsMalloc(size_t n) {
  count(gHyperscan);
  return std::malloc(n);
}
void hsFree(void* p) { std::free(p); }

// Before main(): CRYPTO_set_mem_functions fails once OpenSSL has allocated anything.
const int gOpenSslHooked = CRYPTO_set_mem_functions(osslMalloc, osslRealloc, osslFree);
const hs_error_t gHyperscanHooked = hs_set_allocator(hsMalloc, hsFree);

}  // namespace

void* operator new(size_t n) {
  count(gNews);
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace xborder::rules::detectors {
namespace {

constexpr size_t kSegment = 1460;

// The corpus's identifier-bearing samples (resident IDs, mobiles, cards, passports,
// USCC, VINs, e-mails, ...), back to back, cut into TCP-sized segments.
std::vector<std::string> denseSegments() {
  std::string all;
  for (const auto& s : testing::generateCorpus(42, 60)) {
    if (s.kind.find('/') == std::string::npos) all += s.bytes;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i + kSegment <= all.size(); i += kSegment) out.push_back(all.substr(i, kSegment));
  return out;
}

struct Totals {
  uint64_t hits = 0;
  uint64_t hashes = 0;
};

// One flow direction over every segment; the key hashes are taken and cleared after
// each segment, as dataplane/inspect does with a KeyHashSink.
Totals scanFlow(Scanner& sc, FlowScanState& st, const std::vector<std::string>& segments) {
  Totals t;
  sc.reset(st);
  for (const auto& seg : segments) {
    sc.scan(st, reinterpret_cast<const uint8_t*>(seg.data()), seg.size());
    t.hashes += st.result().hashes().size();
    st.clearKeyHashes();
  }
  sc.finish(st);
  t.hashes += st.result().hashes().size();
  t.hits = st.result().totalHits();
  return t;
}

TEST(DetectorAllocTest, NoAllocationPerIdentifierAfterWarmUp) {
  ASSERT_EQ(gOpenSslHooked, 1) << "OpenSSL allocated before the counting allocator was installed";
  ASSERT_EQ(gHyperscanHooked, HS_SUCCESS);

  const auto segments = denseSegments();
  ASSERT_GE(segments.size(), 20u);
  auto set = DetectorSet::build(testing::fullSpec());
  ASSERT_TRUE(set.ok()) << set.status();
  auto sc = Scanner::create(*set, testing::testKey(), 20251123);
  ASSERT_TRUE(sc.ok()) << sc.status();
  FlowScanState st;
  ASSERT_TRUE((*sc)->open(st));  // hs_open_stream allocates the stream: flow setup, not per packet

  const Totals warm = scanFlow(**sc, st, segments);  // first-use paths of both libraries

  gOpenSsl = 0;
  gHyperscan = 0;
  gNews = 0;
  gArmed = true;
  const Totals t = scanFlow(**sc, st, segments);
  uint64_t direct = 0;  // callers that hash identifiers found elsewhere (metadata)
  for (int i = 0; i < 1000; ++i) direct += (*sc)->keyedHash(1, "13912345678", 11);
  gArmed = false;

  // The payload really is identifier-dense: hundreds of validated, keyed-hashed hits.
  EXPECT_GE(t.hits, 5 * segments.size()) << "segments: " << segments.size();
  EXPECT_GE(t.hashes, 3 * segments.size()) << "hits: " << t.hits;
  EXPECT_EQ(t.hits, warm.hits);
  EXPECT_EQ(t.hashes, warm.hashes);
  EXPECT_NE(direct, 0u);
  EXPECT_EQ(gOpenSsl.load(), 0u) << "OpenSSL allocations while scanning " << t.hashes << " keyed hashes";
  EXPECT_EQ(gHyperscan.load(), 0u) << "Hyperscan allocations while scanning";
  EXPECT_EQ(gNews.load(), 0u) << "operator new calls while scanning";
  (*sc)->release(st);
}

// The counters work (so the zeros above mean something): an OpenSSL allocation and
// Hyperscan's pattern compiler are seen.
TEST(DetectorAllocTest, CountersSeeOpenSslAndHyperscanAllocations) {
  gOpenSsl = 0;
  gArmed = true;
  void* p = OPENSSL_malloc(32);
  gArmed = false;
  OPENSSL_free(p);
  EXPECT_EQ(gOpenSsl.load(), 1u);

  gHyperscan = 0;
  gArmed = true;
  auto set = DetectorSet::build(testing::fullSpec());  // hs_compile allocates
  gArmed = false;
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_GT(gHyperscan.load(), 0u);
}

}  // namespace
}  // namespace xborder::rules::detectors
