// Benchmarks (not tests): bundle export time. Verification speed is
// <build>/bin/ev_verify_bench (verify_bench.cc).
//   <build>/bin/ev_bundle_bench                       1M-record slices
//   XB_BENCH_10M=1 <build>/bin/ev_bundle_bench --benchmark_filter=BM_ExportLog/10000000   10M export
// Records are ~330-byte FLOW records generated from their index. Export reads a real
// store, built once under
// $XB_BENCH_DIR (default /tmp/xb-ev-bench) in the layout xborder-evidence reads, so
// `xborder-evidence export --log $XB_BENCH_DIR/log-N` can be timed on it as well.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "controlplane/evidence/bundle/bundle_export.h"
#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/record/record.pb.h"
#include "controlplane/evidence/store/store_log.h"
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

std::string benchDir() {
  const char* d = std::getenv("XB_BENCH_DIR");
  return d != nullptr ? d : "/tmp/xb-ev-bench";
}

// A store of n benchRecord()s, a checkpoint every 100,000 records and at n, the
// Ed25519 key at keys/log-ed25519.pem. Built once; READY marks a complete one.
absl::StatusOr<std::string> benchLog(uint64_t n) {
  const std::string dir = absl::StrCat(benchDir(), "/log-", n);
  if (std::filesystem::exists(dir + "/READY")) return dir;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/keys");
  LogOptions o;
  o.dir = dir;
  o.origin = kOrigin;
  auto log = Log::create(o);
  if (!log.ok()) return log.status();
  auto key = crypto::PrivateKey::fromRaw(crypto::KeyType::kEd25519, std::string(32, 'k'));
  if (!key.ok()) return key.status();
  if (auto s = key->save(dir + "/keys/log-ed25519.pem"); !s.ok()) return s;
  std::vector<crypto::NoteSigner> signers;
  signers.push_back(*crypto::NoteSigner::create(kOrigin, *key));
  auto sign = [&signers](std::string_view body) { return crypto::signNote(body, signers); };
  std::vector<std::string> batch;
  for (uint64_t i = 0; i < n;) {
    batch.clear();
    for (uint64_t end = std::min(n, i + 4096); i < end; ++i) batch.push_back(benchRecord(i));
    if (auto r = (*log)->appendBatch(batch); !r.ok()) return r.status();
    if (i % 100000 < batch.size() || i == n) {
      if (auto c = (*log)->publishCheckpoint(sign); !c.ok()) return c.status();
    }
  }
  log->reset();
  int fd = ::open((dir + "/READY").c_str(), O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) ::close(fd);
  return dir;
}

// Export from a real store, as `xborder-evidence export` does (opening the log, which
// runs recovery over every segment, is part of the timed work):
//   mode 0: streaming, exportBundleTo into BUNDLE.tmp, fsync, rename
//   mode 1: the old path, exportBundleBuffered (tree rebuilt via readRecord, the whole
//           tar in memory), then the file written in one go
void BM_ExportLog(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const bool old_path = state.range(1) == 1;
  auto dir = benchLog(n);
  if (!dir.ok()) {
    state.SkipWithError(std::string(dir.status().message()).c_str());
    return;
  }
  auto key = crypto::PrivateKey::fromRaw(crypto::KeyType::kEd25519, std::string(32, 'k'));
  std::vector<crypto::NoteSigner> signers;
  signers.push_back(*crypto::NoteSigner::create(kOrigin, *key));
  const std::string out = absl::StrCat(*dir, "/bench-export.tar");
  uint64_t bytes = 0;
  for (auto _ : state) {
    LogOptions o;
    o.dir = *dir;
    o.origin = kOrigin;
    auto log = Log::open(o);
    if (!log.ok()) {
      state.SkipWithError(std::string(log.status().message()).c_str());
      return;
    }
    bundle::ExportRequest req;
    req.origin = kOrigin;
    for (const auto& c : (*log)->checkpoints()) req.checkpoints.push_back({c.size, c.note, ""});
    req.signers = signers;
    req.created_at = "2026-11-23T01:00:00Z";
    bundle::LogRecordSource source(**log);
    absl::Status st;
    if (old_path) {
      auto r = bundle::exportBundleBuffered(source, req);
      st = r.status();
      if (r.ok()) {
        bytes = r->bundle.size();
        auto sink = bundle::AtomicFileSink::create(out);
        st = sink.ok() ? (*sink)->write(r->bundle) : sink.status();
        if (st.ok()) st = (*sink)->commit();
      }
    } else {
      auto sink = bundle::AtomicFileSink::create(out);
      st = sink.status();
      if (sink.ok()) {
        auto r = bundle::exportBundleTo(source, req, **sink);
        st = r.status();
        if (r.ok()) {
          bytes = r->bundle_bytes;
          st = (*sink)->commit();
        }
      }
    }
    if (!st.ok()) {
      state.SkipWithError(std::string(st.message()).c_str());
      return;
    }
  }
  std::filesystem::remove(out);
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bundle_MB"] = static_cast<double>(bytes) / 1e6;
}

// Second argument: 0 streaming, 1 the old in-memory path. Real time: it includes I/O.
BENCHMARK(BM_ExportLog)->Args({1 << 20, 0})->Args({1 << 20, 1})->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
const bool kTenMillion = [] {
  if (std::getenv("XB_BENCH_10M") != nullptr) {
    benchmark::RegisterBenchmark("BM_ExportLog", BM_ExportLog)
        ->Args({10000000, 0})->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
  }
  return true;
}();

}  // namespace
}  // namespace xborder::evidence

BENCHMARK_MAIN();
