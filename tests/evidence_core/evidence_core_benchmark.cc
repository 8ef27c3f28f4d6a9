// Evidence core speed (Google Benchmark):
//   BM_AppendBatch       records/s appended on one core: serialise, CRC32C frame, leaf
//                        hash, tree update, write and fdatasync per batch (group commit),
//                        300-byte records, on the disk under $XB_BENCH_DIR (default /tmp).
//   BM_VerifyRebuildRoot records/s a verifier rebuilds roots from exported frames
//                        (frame CRC + leaf hash + compact range), optionally also parsing
//                        each record strictly (index/origin/version).
//   BM_ReadRecord        one record read back (what export does per record).
//   BM_InclusionProof    proof generation + verification in a 1M-leaf tree.
//   BM_Crc32c            bytes/s, hardware and table paths.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "controlplane/evidence/merkle/merkle_tree.h"
#include "controlplane/evidence/merkle/merkle_verify.h"
#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_crc32c.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/store/store_log.h"

namespace xborder::evidence {
namespace {

constexpr char kOrigin[] = "evidence.bench/appliance-01";

// A flow record of about 300 bytes once serialised.
v1::EvidenceRecord benchRecord(uint64_t i) {
  v1::EvidenceRecord r;
  r.set_format_version(1);
  r.set_origin(kOrigin);
  r.set_index(i);
  r.set_observed_unix_nanos(1'700'000'000'000'000'000 + static_cast<int64_t>(i));
  r.set_type(v1::FLOW);
  r.set_tenant("tenant-0042");
  auto* f = r.mutable_flow();
  f->set_flow_id(std::string(32, static_cast<char>(i)));
  f->set_src_id_hash(std::string(32, static_cast<char>(i >> 8)));
  f->set_dst_ip(std::string(16, '\x20'));
  f->set_src_port(40000 + i % 20000);
  f->set_dst_port(443);
  f->set_ip_proto(6);
  f->set_dst_country("US");
  f->set_data_category("PI-SENSITIVE-HEALTH");
  f->set_policy_decision("flag");
  f->set_rule_id("ftz-sh-2024-017");
  f->set_bytes_out(123456 + i);
  f->set_bytes_in(7890);
  f->set_sample_commitment(std::string(32, '\x5a'));
  f->add_sealed_digests(std::string(32, '\x33'));
  f->set_app_protocol("TLS.Amazon");
  f->set_flow_seq(i);
  f->set_start_unix_nanos(1'700'000'000'000'000'000);
  f->set_end_unix_nanos(1'700'000'001'000'000'000);
  return r;
}

std::string benchDir() {
  const char* d = std::getenv("XB_BENCH_DIR");
  std::string base = d ? d : "/tmp";
  return base + "/evcore-bench-" + std::to_string(::getpid());
}

void BM_AppendBatch(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const std::string dir = benchDir();
  std::filesystem::remove_all(dir);
  LogOptions o;
  o.dir = dir;
  o.origin = kOrigin;
  auto log = Log::create(o);
  if (!log.ok()) {
    state.SkipWithError(std::string(log.status().message()).c_str());
    return;
  }
  uint64_t next = 0;
  size_t bytes = 0;
  std::vector<std::string> records(batch);
  for (auto _ : state) {
    for (size_t i = 0; i < batch; ++i) {
      records[i] = benchRecord(next + i).SerializeAsString();
      bytes += records[i].size();
    }
    auto first = (*log)->appendBatch(records);
    if (!first.ok()) {
      state.SkipWithError(std::string(first.status().message()).c_str());
      break;
    }
    next += batch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(next));
  state.counters["record_bytes"] = next ? static_cast<double>(bytes) / next : 0;
  log->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendBatch)->Arg(256)->Arg(1024)->Arg(4096)->UseRealTime()->Unit(benchmark::kMillisecond);

// Export reads records one by one (bundle RecordSource): one pread per record.
void BM_ReadRecord(benchmark::State& state) {
  const std::string dir = benchDir();
  std::filesystem::remove_all(dir);
  LogOptions o;
  o.dir = dir;
  o.origin = kOrigin;
  o.segment_bytes = 4 << 20;
  auto log = Log::create(o);
  if (!log.ok()) {
    state.SkipWithError("create");
    return;
  }
  const uint64_t n = 100000;
  std::vector<std::string> batch;
  for (uint64_t i = 0; i < n; ++i) {
    batch.push_back(benchRecord(i).SerializeAsString());
    if (batch.size() == 10000) {
      (void)(*log)->appendBatch(batch);
      batch.clear();
    }
  }
  uint64_t i = 0;
  for (auto _ : state) {
    auto r = (*log)->readRecord(i++ % n);
    if (!r.ok()) {
      state.SkipWithError("read");
      break;
    }
    benchmark::DoNotOptimize(r->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  log->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ReadRecord);

std::string exportedFrames(uint64_t n) {
  std::string frames;
  for (uint64_t i = 0; i < n; ++i) appendFrame(frames, benchRecord(i).SerializeAsString());
  return frames;
}

void BM_VerifyRebuildRoot(benchmark::State& state) {
  const uint64_t n = 200000;
  const bool parse = state.range(0) != 0;
  static const std::string frames = exportedFrames(n);
  Hasher h;
  for (auto _ : state) {
    auto parsed = parseFrames(frames);
    if (!parsed.ok()) {
      state.SkipWithError("frames");
      break;
    }
    CompactRange range(h);
    uint64_t index = 0;
    for (const Frame& f : *parsed) {
      if (parse && !checkRecord(f.payload, {.index = index, .origin = kOrigin}).ok()) {
        state.SkipWithError("record");
        break;
      }
      range.append(h.leafHash(f.payload));
      ++index;
    }
    benchmark::DoNotOptimize(range.root());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frames.size()));
}
BENCHMARK(BM_VerifyRebuildRoot)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_InclusionProof(benchmark::State& state) {
  static Hasher h;
  static MerkleTree* tree = [] {
    auto* t = new MerkleTree(h);
    for (uint64_t i = 0; i < (1u << 20); ++i) t->appendData(std::to_string(i));
    return t;
  }();
  const uint64_t size = tree->size();
  const Hash root = tree->root();
  uint64_t i = 0;
  for (auto _ : state) {
    const uint64_t index = (i++ * 2654435761u) % size;
    auto proof = tree->inclusionProof(index, size);
    if (!merkle::verifyInclusion(h, index, size, tree->leafHash(index), *proof, root).ok()) {
      state.SkipWithError("verify");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_InclusionProof);

void BM_Crc32c(benchmark::State& state) {
  const bool hw = state.range(0) != 0;
  if (hw && !crc32cHardwareAvailable()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  std::string data(4096, 'x');
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = hw ? crc32cExtendHw(crc, data.data(), data.size()) : crc32cExtendTable(crc, data.data(), data.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Crc32c)->Arg(0)->Arg(1);

}  // namespace
}  // namespace xborder::evidence

BENCHMARK_MAIN();
