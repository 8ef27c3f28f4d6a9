// Benchmarks (not tests): offline verification speed and bundle export time.
//   <build>/bin/ev_bundle_bench                       1M-record slices
//   XB_BENCH_10M=1 <build>/bin/ev_bundle_bench --benchmark_filter=Export   10M export
// Records are ~300-byte FLOW records generated from their index, so a 10M export
// needs no 3 GB source in memory (the bundle itself still is: ~3.2 GB).
#include <sys/resource.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "controlplane/evidence/bundle/bundle_export.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/record/record.pb.h"
#include "controlplane/evidence/verify/verify_verifier.h"

namespace xborder::evidence {
namespace {

constexpr char kOrigin[] = "evidence.example/appliance-01";

std::string benchRecord(uint64_t i) {
  v1::EvidenceRecord r;
  r.set_format_version(1);
  r.set_index(i);
  r.set_origin(kOrigin);
  r.set_observed_unix_nanos(1767225600000000000LL + static_cast<int64_t>(i) * 1000000);
  r.set_type(v1::FLOW);
  r.set_tenant("acme-trading-co");
  auto* f = r.mutable_flow();
  f->set_flow_id(std::string(32, static_cast<char>(i)));
  f->set_start_unix_nanos(r.observed_unix_nanos() - 5000000000LL);
  f->set_end_unix_nanos(r.observed_unix_nanos());
  f->set_src_id_hash(std::string(32, 'h'));
  f->set_dst_ip(std::string("\xcb\x00\x71\x07", 4));
  f->set_src_port(40000 + i % 20000);
  f->set_dst_port(443);
  f->set_ip_proto(6);
  f->set_dst_country(i % 3 ? "SG" : "DE");
  f->set_data_category("PI-HEALTH");
  f->set_policy_decision(i % 1000 == 7 ? "block" : "allow-filing");
  f->set_rule_id(absl::StrCat("R-", 1000 + i % 50));
  f->set_bytes_out(123456 + i);
  f->set_bytes_in(654321);
  f->set_sample_commitment(std::string(32, 'c'));
  f->add_sealed_digests(std::string(32, 'd'));
  f->set_app_protocol("TLS");
  f->set_filing_id("FTZ-2026-000123");
  f->set_flow_seq(i);
  return r.SerializeAsString();
}

class GeneratedSource : public bundle::RecordSource {
 public:
  explicit GeneratedSource(uint64_t n) : n_(n) {}
  uint64_t size() const override { return n_; }
  absl::StatusOr<std::string> record(uint64_t i) const override { return benchRecord(i); }

 private:
  uint64_t n_;
};

double processCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Prepared {
  std::vector<crypto::NoteSigner> signers;
  std::vector<bundle::PublishedCheckpoint> checkpoints;
};

// Signed checkpoints every `every` records up to n.
Prepared prepare(uint64_t n, uint64_t every) {
  Prepared p;
  auto key = crypto::PrivateKey::fromRaw(crypto::KeyType::kEd25519, std::string(32, 'k'));
  p.signers.push_back(*crypto::NoteSigner::create(kOrigin, *key));
  Hasher h(HashAlg::kSha256);
  CompactRange cr(h);
  for (uint64_t i = 0; i < n; ++i) {
    cr.append(h.leafHash(benchRecord(i)));
    if (cr.size() % every == 0 || cr.size() == n) {
      Hash root = cr.root();
      auto body = crypto::formatCheckpoint({kOrigin, cr.size(), std::string(root.begin(), root.end())});
      p.checkpoints.push_back({cr.size(), *crypto::signNote(*body, p.signers), ""});
    }
  }
  return p;
}

absl::StatusOr<bundle::ExportResult> doExport(const GeneratedSource& src, const Prepared& p) {
  bundle::ExportRequest req;
  req.origin = kOrigin;
  req.checkpoints = p.checkpoints;
  req.signers = p.signers;
  req.created_at = "2026-11-23T01:00:00Z";
  return bundle::exportBundle(src, req);
}

void BM_ExportBundle(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  GeneratedSource src(n);
  Prepared p = prepare(n, 100000);
  size_t bytes = 0;
  for (auto _ : state) {
    auto r = doExport(src, p);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    bytes = r->bundle.size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bundle_MB"] = static_cast<double>(bytes) / 1e6;
}

void BM_VerifyBundle(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  GeneratedSource src(n);
  Prepared p = prepare(n, 100000);
  auto r = doExport(src, p);
  if (!r.ok()) {
    state.SkipWithError(std::string(r.status().message()).c_str());
    return;
  }
  verify::VerifyOptions o;
  o.threads = static_cast<unsigned>(state.range(1));
  o.trust.set_origin(kOrigin);
  o.trust.set_hash("sha256");
  o.trust.add_log_vkeys(p.signers[0].verifier().vkey());
  const double cpu_before = processCpuSeconds();
  for (auto _ : state) {
    auto res = verify::verifyBundle(r->bundle, o);
    if (!res.ok() || res->exit_code() != 0) {
      state.SkipWithError("bundle did not verify");
      return;
    }
  }
  // All threads (SM3 and the record workers), per verification.
  state.counters["process_cpu_s"] = (processCpuSeconds() - cpu_before) / static_cast<double>(state.iterations());
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

// Second argument: VerifyOptions::threads (1 = the in-order pass, 0 = every core).
// Real time is the figure to read for threads=0: the CPU column is the main thread only.
BENCHMARK(BM_VerifyBundle)->Args({1 << 20, 1})->Args({1 << 20, 0})->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_ExportBundle)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->Iterations(2);
const bool kTenMillion = [] {
  if (std::getenv("XB_BENCH_10M") != nullptr) {
    benchmark::RegisterBenchmark("BM_ExportBundle/10000000", BM_ExportBundle)
        ->Arg(10000000)->Unit(benchmark::kMillisecond)->Iterations(1);
  }
  return true;
}();

}  // namespace
}  // namespace xborder::evidence

BENCHMARK_MAIN();
