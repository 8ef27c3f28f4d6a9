// Test helper for the kill -9 loop: opens (or creates) a log, appends records from a
// few threads and tells the harness about every acknowledgement on stdout, one line
// each (short lines to a pipe are written atomically):
//   ready <size>           after recovery
//   sub <id> <pad>         before a record is handed to the log
//   ack <index> <id> <pad> after append returned (the record is synced)
//   ckpt <size> <hexroot>  after a checkpoint was published
// It runs until killed.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/evidence/store/store_log.h"
#include "tests/evidence_core/crash_record.h"
#include "tests/evidence_core/ev_test_signer.h"

namespace {

std::mutex outMu;

void say(const std::string& line) {
  std::lock_guard lk(outMu);
  const std::string l = line + "\n";
  if (write(STDOUT_FILENO, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xborder::evidence;
  std::string dir;
  uint64_t seed = 1;
  int threads = 4;
  uint64_t checkpointEvery = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("usage: ev_core_crash_writer --log DIR [--seed N] [--threads T] [--checkpoint-every K]\n"
                  "Appends records until killed, reporting acknowledgements on stdout (test helper).\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ev_core_crash_writer: %s needs a value\n", a.c_str());
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--log") dir = v;
    else if (a == "--seed") seed = std::stoull(v);
    else if (a == "--threads") threads = std::stoi(v);
    else if (a == "--checkpoint-every") checkpointEvery = std::stoull(v);
    else {
      std::fprintf(stderr, "ev_core_crash_writer: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "ev_core_crash_writer: --log DIR is required\n");
    return 2;
  }
  LogOptions o;
  o.dir = dir;
  o.origin = xborder::evidence::testing::kCrashOrigin;
  o.segment_bytes = 16384;  // small, so rolls happen under the knife too
  o.group_commit_interval = std::chrono::microseconds(100);
  o.group_commit_records = 16;
  o.checkpoint_verifier = xborder::evidence::testing::testVerifier();
  auto log = Log::open(o);
  if (!log.ok() && log.status().code() == absl::StatusCode::kNotFound) log = Log::create(o);
  if (!log.ok()) {
    std::fprintf(stderr, "ev_core_crash_writer: %s\n", std::string(log.status().message()).c_str());
    return 1;
  }
  if ((*log)->state() != LogState::kOpen) {
    std::fprintf(stderr, "ev_core_crash_writer: log state %s: %s\n",
                 std::string(logStateName((*log)->state())).c_str(), (*log)->alarm().c_str());
    return 1;
  }
  say("ready " + std::to_string((*log)->size()));
  std::atomic<uint64_t> counter{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 131 + t);
      while (true) {
        const uint64_t id = (seed << 24) | counter.fetch_add(1);
        const size_t pad = rng() % 400;
        say("sub " + std::to_string(id) + " " + std::to_string(pad));
        auto idx = (*log)->appendRecord(xborder::evidence::testing::makeCrashRecord(id, pad));
        if (!idx.ok()) {
          std::fprintf(stderr, "append: %s\n", std::string(idx.status().message()).c_str());
          std::_Exit(1);
        }
        say("ack " + std::to_string(*idx) + " " + std::to_string(id) + " " + std::to_string(pad));
        if (t == 0 && checkpointEvery > 0 && rng() % checkpointEvery == 0) {
          auto c = (*log)->publishCheckpoint(xborder::evidence::testing::testSigner());
          if (c.ok()) say("ckpt " + std::to_string(c->size) + " " + toHex(c->root));
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}
