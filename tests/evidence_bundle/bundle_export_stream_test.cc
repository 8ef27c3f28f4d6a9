// The streaming exporter (exportBundleTo) against the in-memory one it replaced
// (exportBundleBuffered + writeTar): same bytes for the same input, from a vector of
// records and from a real store; bounded chunks; no partial bundle after an error.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/bundle/bundle_digest.h"
#include "controlplane/evidence/bundle/bundle_export.h"
#include "controlplane/evidence/bundle/bundle_tar.h"
#include "controlplane/evidence/bundle/bundle_tar_writer.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/store/store_log.h"
#include "gtest/gtest.h"
#include "tests/evidence_bundle/bundle_fixture.h"

namespace xborder::evidence::testing {
namespace {

using bundle::ExportRequest;
using bundle::ExportResult;

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xb-exportstream-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- TarWriter ----

TEST(TarWriter, SameBytesAsWriteTar) {
  const std::string long_dir = "EVB-x/" + std::string(90, 'z') + "/proofs/records";
  std::vector<bundle::TarEntry> entries = {
      {"EVB-x", "", '5', ""},
      {"EVB-x/MANIFEST.json", "{}\n", '0', ""},
      {"EVB-x/empty", "", '0', ""},
      {"EVB-x/exactly-512", std::string(512, 'a'), '0', ""},
      {"EVB-x/records/0-3.frames", std::string(1537, '\x7f'), '0', ""},
      {long_dir + "/12345.tlog-proof", "proof\n", '0', ""},  // > 100 bytes: prefix split
  };
  auto want = bundle::writeTar(entries);
  ASSERT_TRUE(want.ok()) << want.status();

  bundle::StringSink sink;
  bundle::TarWriter w(sink);
  ASSERT_TRUE(w.addDirectory("EVB-x").ok());
  ASSERT_TRUE(w.addFile("EVB-x/MANIFEST.json", "{}\n").ok());
  ASSERT_TRUE(w.addFile("EVB-x/empty", "").ok());
  ASSERT_TRUE(w.addFile("EVB-x/exactly-512", std::string(512, 'a')).ok());
  // In uneven pieces, as the exporter streams the frames.
  ASSERT_TRUE(w.beginFile("EVB-x/records/0-3.frames", 1537).ok());
  ASSERT_TRUE(w.append(std::string(1, '\x7f')).ok());
  ASSERT_TRUE(w.append(std::string(1000, '\x7f')).ok());
  ASSERT_TRUE(w.append(std::string(536, '\x7f')).ok());
  ASSERT_TRUE(w.endFile().ok());
  ASSERT_TRUE(w.addFile(long_dir + "/12345.tlog-proof", "proof\n").ok());
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(sink.str(), *want);
  EXPECT_EQ(w.bytesWritten(), want->size());
  EXPECT_EQ(w.sha256(), bundle::sha256Bytes(*want));
}

TEST(TarWriter, RefusesWhatWouldBreakTheArchive) {
  bundle::StringSink sink;
  bundle::TarWriter w(sink);
  ASSERT_TRUE(w.addFile("b", "x").ok());
  EXPECT_EQ(w.addFile("a", "x").code(), absl::StatusCode::kInvalidArgument);  // out of order
  EXPECT_EQ(w.addFile("b", "x").code(), absl::StatusCode::kInvalidArgument);  // duplicate
  ASSERT_TRUE(w.beginFile("c", 4).ok());
  EXPECT_EQ(w.addFile("d", "x").code(), absl::StatusCode::kFailedPrecondition);  // inside a file
  EXPECT_EQ(w.append("12345").code(), absl::StatusCode::kOutOfRange);            // longer than declared
  ASSERT_TRUE(w.append("123").ok());
  EXPECT_EQ(w.endFile().code(), absl::StatusCode::kOutOfRange);  // shorter than declared
  ASSERT_TRUE(w.append("4").ok());
  ASSERT_TRUE(w.endFile().ok());
  // 11 octal digits hold sizes below 8 GiB; readTar takes nothing larger.
  EXPECT_EQ(w.beginFile("e", uint64_t{1} << 33).code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(w.beginFile("e", (uint64_t{1} << 33) - 1).ok());
  EXPECT_EQ(w.addFile(std::string(200, 'p'), "x").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(AtomicFileSink, NothingUnderTheNameUntilCommit) {
  TempDir dir;
  const std::string path = dir.path() + "/b.tar";
  {
    auto sink = bundle::AtomicFileSink::create(path);
    ASSERT_TRUE(sink.ok()) << sink.status();
    ASSERT_TRUE((*sink)->write(std::string(3 << 20, 'z')).ok());  // over the 1 MiB buffer
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(path + ".tmp"));
  }  // destroyed without commit
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  auto sink = bundle::AtomicFileSink::create(path);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write("abc").ok());
  ASSERT_TRUE((*sink)->write(std::string(2 << 20, 'q')).ok());
  ASSERT_TRUE((*sink)->commit().ok());
  sink->reset();
  EXPECT_EQ(readAll(path), "abc" + std::string(2 << 20, 'q'));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

// ---- exporter: streaming == buffered ----

ExportRequest baseRequest(const Fixture& f, const std::map<uint64_t, std::string>& notes) {
  ExportRequest req;
  req.origin = kOrigin;
  req.hash = f.alg;
  for (const auto& [s, note] : notes) req.checkpoints.push_back({s, note, ""});
  req.signers = f.signers;
  req.created_at = "2026-11-23T01:00:00Z";
  return req;
}

std::map<uint64_t, std::string> notesOf(const Fixture& f, const std::vector<uint64_t>& sizes) {
  std::map<uint64_t, std::string> notes;
  for (uint64_t s : sizes) notes[s] = f.checkpointNote(s);
  return notes;
}

void expectSameBundle(const bundle::RecordSource& src, const bundle::RecordSource& reference,
                      const ExportRequest& req, const std::string& what) {
  auto want = bundle::exportBundleBuffered(reference, req);
  ASSERT_TRUE(want.ok()) << what << ": " << want.status();
  for (size_t chunk : {size_t{1}, size_t{700}, size_t{4} << 20}) {
    ExportRequest r = req;
    r.chunk_bytes = chunk;
    auto got = bundle::exportBundle(src, r);
    ASSERT_TRUE(got.ok()) << what << " chunk " << chunk << ": " << got.status();
    EXPECT_EQ(got->bundle, want->bundle) << what << " chunk " << chunk;
    EXPECT_EQ(got->name, want->name) << what;
    EXPECT_EQ(got->cited, want->cited) << what;
    EXPECT_EQ(got->from, want->from) << what;
    EXPECT_EQ(got->to, want->to) << what;
    EXPECT_EQ(got->manifest_sha256, want->manifest_sha256) << what;
    EXPECT_EQ(got->manifest_sm3, want->manifest_sm3) << what;
    EXPECT_EQ(got->bundle_bytes, got->bundle.size()) << what;
    EXPECT_EQ(got->bundle_sha256, bundle::sha256Bytes(got->bundle)) << what;
  }
}

TEST(ExportStream, SameBytesAsBufferedForEveryKindOfRequest) {
  Fixture f(50, {10, 25, 40, 50});
  const auto notes = notesOf(f, {10, 25, 40, 50});
  ExportRequest req = baseRequest(f, notes);
  expectSameBundle(f.source, f.source, req, "full");

  ExportRequest part = req;
  part.from = 12;
  part.to = 33;  // widened to 40; compact range for [0, 12)
  part.cite = {20, 39};
  part.since_checkpoint = f.checkpointNote(10);
  part.prev_bundle_sha256 = std::string(64, 'a');
  part.appliance_chain_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  part.envelopes = [](uint64_t from, uint64_t to) -> absl::StatusOr<std::map<std::string, std::string>> {
    return std::map<std::string, std::string>{{absl::StrCat("envelopes/", from + 1, "-payload.env"), "sealed"},
                                              {absl::StrCat("envelopes/", to - 1, "-payload.env"), "sealed too"}};
  };
  expectSameBundle(f.source, f.source, part, "incremental with cites, envelopes, since");

  ExportRequest time = req;
  time.since_nanos = 1767225600000000000LL + 5 * 1000000000LL;
  time.until_nanos = 1767225600000000000LL + 9 * 1000000000LL;
  expectSameBundle(f.source, f.source, time, "time range");

  ExportRequest few = req;
  few.max_auto_cited = 2;
  few.checkpoints[1].tsr = std::string("\x30\x03\x02\x01\x01", 5);
  expectSameBundle(f.source, f.source, few, "two auto-cited, a token");

  Fixture sm3(30, {7, 30}, HashAlg::kSm3);
  expectSameBundle(sm3.source, sm3.source, baseRequest(sm3, notesOf(sm3, {7, 30})), "sm3");
}

TEST(ExportStream, SameErrorsAsBuffered) {
  Fixture f(50, {10, 25, 40, 50});
  ExportRequest req = baseRequest(f, notesOf(f, {10, 25, 40, 50}));
  req.cite = {49};
  req.to = 20;  // widened to 25: 49 is outside
  auto a = bundle::exportBundle(f.source, req);
  auto b = bundle::exportBundleBuffered(f.source, req);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status(), b.status());

  ExportRequest bad = baseRequest(f, notesOf(f, {10, 25}));
  bad.checkpoints[1].note = f.signCheckpoint(25, std::string(32, 'x'));  // root of no log
  a = bundle::exportBundle(f.source, bad);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status(), bundle::exportBundleBuffered(f.source, bad).status());
  EXPECT_NE(std::string(a.status().message()).find("published checkpoint 25 does not match"), std::string::npos);
}

// A source whose frames() changes between the two passes (the store was modified
// or the disk returned different bytes): the export must fail, not sign a manifest
// that does not match the frames it wrote.
class ShiftySource : public VectorSource {
 public:
  absl::StatusOr<std::string> frames(uint64_t from, uint64_t to) const override {
    if (from <= 17 && 17 < to && ++reads_17_ == 2) {
      std::string out;
      for (uint64_t i = from; i < to; ++i) {
        std::string r = records[i];
        if (i == 17) r.back() ^= 1;
        appendFrame(out, r);
      }
      return out;
    }
    return RecordSource::frames(from, to);
  }
  mutable int reads_17_ = 0;
};

TEST(ExportStream, FramesChangedBetweenPassesFailTheExport) {
  Fixture f(50, {10, 25, 40, 50});
  ShiftySource src;
  src.records = f.source.records;
  ExportRequest req = baseRequest(f, notesOf(f, {10, 25, 40, 50}));
  req.from = 10;  // the source has no tree: [0, 10) is hashed once, then [10, 50) twice
  auto r = bundle::exportBundle(src, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find("changed during the export"), std::string::npos) << r.status();
  EXPECT_EQ(src.reads_17_, 2);
}

// ---- from a real store ----

class LogFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    LogOptions o;
    o.dir = dir_.path() + "/log";
    o.origin = kOrigin;
    o.segment_bytes = 4096;  // several segments: frames() spans segment boundaries
    auto log = Log::create(o);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    const auto* signers = &f_.signers;
    auto sign = [signers](std::string_view body) { return crypto::signNote(body, *signers); };
    for (uint64_t i = 0; i < 50; ++i) {
      ASSERT_TRUE(log_->append(f_.source.records[i]).ok());
      if (i + 1 == 10 || i + 1 == 25 || i + 1 == 40 || i + 1 == 50) {
        ASSERT_TRUE(log_->publishCheckpoint(sign).ok());
      }
    }
  }
  ExportRequest request() const {
    ExportRequest req;
    req.origin = kOrigin;
    for (const auto& c : log_->checkpoints()) req.checkpoints.push_back({c.size, c.note, ""});
    req.signers = f_.signers;
    req.created_at = "2026-11-23T01:00:00Z";
    return req;
  }

  TempDir dir_;
  Fixture f_{50, {10, 25, 40, 50}};
  std::unique_ptr<Log> log_;
};

// Counts what the exporter asks of the store.
class CountingSource : public bundle::RecordSource {
 public:
  explicit CountingSource(const bundle::RecordSource& inner) : inner_(inner) {}
  uint64_t size() const override { return inner_.size(); }
  absl::StatusOr<std::string> record(uint64_t i) const override {
    ++records_;
    return inner_.record(i);
  }
  absl::StatusOr<std::string> frames(uint64_t from, uint64_t to) const override {
    lowest_ = std::min(lowest_, from);
    auto out = inner_.frames(from, to);
    if (out.ok()) largest_ = std::max<uint64_t>(largest_, out->size());
    return out;
  }
  const bundle::TreeView* tree() const override { return inner_.tree(); }

  const bundle::RecordSource& inner_;
  mutable uint64_t records_ = 0, lowest_ = UINT64_MAX, largest_ = 0;
};

TEST_F(LogFixture, StoreExportMatchesBufferedAndVerifies) {
  bundle::LogRecordSource store(*log_);
  ASSERT_NE(store.tree(), nullptr);
  expectSameBundle(store, f_.source, request(), "store, full");

  ExportRequest part = request();
  part.from = 27;
  part.since_checkpoint = log_->checkpoints()[1].note;
  part.cite = {30};
  expectSameBundle(store, f_.source, part, "store, incremental");

  auto r = bundle::exportBundle(store, request());
  ASSERT_TRUE(r.ok());
  auto v = f_.verify(r->bundle);
  EXPECT_EQ(v.exit_code(), 0) << v.verdict();
}

TEST_F(LogFixture, UsesTheStoreTreeAndBoundedChunks) {
  bundle::LogRecordSource store(*log_);
  CountingSource counting(store);
  ExportRequest req = request();
  req.from = 27;
  req.chunk_bytes = 1000;
  auto r = bundle::exportBundle(counting, req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(counting.records_, 0u);   // no per-record reads
  EXPECT_EQ(counting.lowest_, 27u);   // [0, 27) neither read nor hashed: proofs come from the store's tree
  // Records are ~100 bytes here: a chunk never holds much more than chunk_bytes.
  EXPECT_GT(counting.largest_, 0u);
  EXPECT_LE(counting.largest_, 2 * req.chunk_bytes);
}

TEST_F(LogFixture, StreamsToAFileAndLeavesNothingWhenInterrupted) {
  bundle::LogRecordSource store(*log_);
  const std::string path = dir_.path() + "/b.tar";
  ExportRequest req = request();
  req.chunk_bytes = 500;
  int calls = 0;
  std::vector<std::string> phases;
  req.progress = [&](const bundle::ExportProgress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.emplace_back(p.phase);
    EXPECT_LE(p.done, p.total);
    EXPECT_EQ(p.total, 50u);
    return ++calls == 7 ? absl::CancelledError("interrupted") : absl::OkStatus();
  };
  {
    auto sink = bundle::AtomicFileSink::create(path);
    ASSERT_TRUE(sink.ok());
    auto r = bundle::exportBundleTo(store, req, **sink);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  calls = 0;
  phases.clear();
  req.progress = [&](const bundle::ExportProgress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.emplace_back(p.phase);
    ++calls;
    return absl::OkStatus();
  };
  auto sink = bundle::AtomicFileSink::create(path);
  ASSERT_TRUE(sink.ok());
  auto r = bundle::exportBundleTo(store, req, **sink);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*sink)->commit().ok());
  EXPECT_EQ(phases, (std::vector<std::string>{"hash", "write"}));
  EXPECT_GT(calls, 4);
  req.progress = nullptr;
  auto mem = bundle::exportBundle(store, req);
  ASSERT_TRUE(mem.ok());
  const std::string on_disk = readAll(path);
  EXPECT_EQ(on_disk, mem->bundle);
  EXPECT_EQ(r->bundle_sha256, bundle::sha256Bytes(on_disk));
  EXPECT_EQ(r->bundle_bytes, on_disk.size());
  EXPECT_TRUE(r->bundle.empty());  // streamed, not kept
}

}  // namespace
}  // namespace xborder::evidence::testing
