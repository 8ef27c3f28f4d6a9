// Benchmark (not a test): offline verification speed, EVIDENCE.md §5.2 over a
// 1,048,576-record bundle (~330-byte FLOW records, SHA-256 tree, an Ed25519-signed
// checkpoint every 100,000 records), built in memory once; the timed part is
// verify::verifyBundle on the tar bytes.
//   <build>/bin/ev_verify_bench                              both variants
//   XB_BENCH_BUNDLE_OUT=/tmp/b.tar <build>/bin/ev_verify_bench --benchmark_filter=none
//       also writes the bundle and /tmp/b.tar.trust.json, to time xborder-verify itself
//   XB_BENCH_RECORDS=131072 <build>/bin/ev_verify_bench    another record count
// The counter process_cpu_s is the CPU time of the whole process (every thread) per
// verification: the figure that holds on a quiet machine. Wall time is "Time".
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "controlplane/evidence/bundle/bundle_export.h"
#include "controlplane/evidence/bundle/bundle_manifest.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/record/record.pb.h"
#include "controlplane/evidence/verify/verify_verifier.h"

namespace xborder::evidence {
namespace {

constexpr char kOrigin[] = "evidence.example/appliance-01";
// XB_BENCH_RECORDS=N overrides the 1,048,576 records (scripts/bench/verify.sh --records).
uint64_t recordCount() {
  static const uint64_t n = [] {
    const char* e = std::getenv("XB_BENCH_RECORDS");
    const uint64_t v = e != nullptr ? std::strtoull(e, nullptr, 10) : 0;
    return v > 0 ? v : uint64_t{1} << 20;
  }();
  return n;
}

// The export benchmark's record, except that the 32-byte digest sits in
// ruleset_sha256 instead of sealed_digests: a sealed digest needs its envelope file in
// the bundle (step 8), and this bundle carries none.
std::string benchRecord(uint64_t i) {
  v1::EvidenceRecord r;
  r.set_format_version(1);
  r.set_index(i);
  r.set_origin(kOrigin);
  r.set_observed_unix_nanos(1767225600000000000LL + static_cast<int64_t>(i) * 1000000);
  r.set_type(v1::FLOW);
  r.set_tenant("acme-trading-co");
  auto* f = r.mutable_flow();
  // One record per flow (its final record), except that every 16th flow also has a
  // decision-time record 8 records before its final one (record.proto field 29).
  const uint64_t flow = i % 16 == 9 ? i - 8 : i;
  std::string flow_id(32, 'f');
  std::memcpy(flow_id.data(), &flow, sizeof flow);
  f->set_flow_id(flow_id);
  f->set_final(i % 16 != 1);
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
  f->set_ruleset_sha256(std::string(32, 'd'));
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
  std::string bundle;
  verify::VerifyOptions options;
};

// Built once for every run (export takes longer than verification).
const Prepared& prepared() {
  static const Prepared* p = [] {
    auto* out = new Prepared;
    auto key = crypto::PrivateKey::fromRaw(crypto::KeyType::kEd25519, std::string(32, 'k'));
    std::vector<crypto::NoteSigner> signers;
    signers.push_back(*crypto::NoteSigner::create(kOrigin, *key));
    bundle::ExportRequest req;
    req.origin = kOrigin;
    req.signers = signers;
    req.created_at = "2026-11-23T01:00:00Z";
    Hasher h(HashAlg::kSha256);
    CompactRange cr(h);
    const uint64_t kRecords = recordCount();
    for (uint64_t i = 0; i < kRecords; ++i) {
      cr.append(h.leafHash(benchRecord(i)));
      if (cr.size() % 100000 == 0 || cr.size() == kRecords) {
        Hash root = cr.root();
        auto body = crypto::formatCheckpoint({kOrigin, cr.size(), std::string(root.begin(), root.end())});
        req.checkpoints.push_back({cr.size(), *crypto::signNote(*body, signers), ""});
      }
    }
    GeneratedSource src(kRecords);
    auto r = bundle::exportBundle(src, req);
    if (!r.ok()) {
      std::fprintf(stderr, "export failed: %s\n", std::string(r.status().message()).c_str());
      std::exit(1);
    }
    out->bundle = std::move(r->bundle);
    out->options.trust.set_origin(kOrigin);
    out->options.trust.set_hash("sha256");
    out->options.trust.add_log_vkeys(signers[0].verifier().vkey());
    if (const char* path = std::getenv("XB_BENCH_BUNDLE_OUT")) {
      std::ofstream(path, std::ios::binary) << out->bundle;
      std::ofstream(std::string(path) + ".trust.json") << bundle::trustToJson(out->options.trust);
    }
    return out;
  }();
  return *p;
}

void BM_VerifyBundle(benchmark::State& state) {
  const Prepared& p = prepared();
  verify::VerifyOptions o = p.options;
  o.threads = static_cast<unsigned>(state.range(0));
  const double cpu_before = processCpuSeconds();
  for (auto _ : state) {
    auto res = verify::verifyBundle(p.bundle, o);
    if (!res.ok() || res->exit_code() != 0) {
      state.SkipWithError(res.ok() ? verify::summaryText(*res).c_str() : "verifier input error");
      return;
    }
  }
  state.counters["process_cpu_s"] = (processCpuSeconds() - cpu_before) / static_cast<double>(state.iterations());
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(recordCount()), benchmark::Counter::kIsIterationInvariantRate);
}

// Argument: VerifyOptions::threads (1 = everything on one thread with the in-order
// record pass, 0 = every core).
BENCHMARK(BM_VerifyBundle)->ArgName("threads")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
}  // namespace xborder::evidence

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  xborder::evidence::prepared();  // outside the timed runs; writes XB_BENCH_BUNDLE_OUT
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
