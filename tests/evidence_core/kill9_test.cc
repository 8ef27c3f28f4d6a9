// The kill -9 loop (EVIDENCE.md §4.4, harness 2): a writer process acknowledges records
// over a pipe; the harness SIGKILLs it at a random moment, reopens the log (recovery),
// and checks that every acknowledged record is present and byte-identical, that only
// submitted (or RECOVERY) records exist, and that every published checkpoint still
// holds. kill -9 keeps the page cache, so this tests ordering, not power loss (the
// fault-env test covers that). Iterations: XB_EV_KILL_ITERATIONS (default 200).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "controlplane/evidence/merkle/merkle_verify.h"
#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/store/store_log.h"
#include "tests/evidence_core/crash_record.h"
#include "tests/evidence_core/ev_test_signer.h"
#include "tests/evidence_core/ev_test_util.h"

namespace xborder::evidence {
namespace {

std::string writerPath() {
  const char* build = std::getenv("XB_BUILD_DIR");
  if (build) return std::string(build) + "/tests/ev_core_crash_writer";
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "ev_core_crash_writer";
}

struct WriterRun {
  std::string output;
  int status = 0;
};

// Starts the writer, lets it run until `killAfter` past its "ready" line, SIGKILLs it,
// and returns everything it wrote.
WriterRun runAndKill(const std::string& dir, uint64_t seed, std::chrono::milliseconds killAfter) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string path = writerPath();
    const std::string seedText = std::to_string(seed);
    execl(path.c_str(), path.c_str(), "--log", dir.c_str(), "--seed", seedText.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  WriterRun run;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::time_point::max();
  bool killed = false;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (!killed && now >= deadline) {
      kill(pid, SIGKILL);
      killed = true;
    }
    int timeoutMs = 20000;
    if (!killed && deadline != std::chrono::steady_clock::time_point::max()) {
      timeoutMs = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = poll(&p, 1, timeoutMs);
    if (r == 0) {
      if (deadline == std::chrono::steady_clock::time_point::max()) {
        kill(pid, SIGKILL);  // never became ready: do not hang the test
        killed = true;
      }
      continue;
    }
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    run.output.append(buf, static_cast<size_t>(n));
    if (deadline == std::chrono::steady_clock::time_point::max() &&
        run.output.find('\n') != std::string::npos) {
      deadline = std::chrono::steady_clock::now() + killAfter;
    }
  }
  close(fds[0]);
  waitpid(pid, &run.status, 0);
  return run;
}

TEST(Kill9, EveryAcknowledgedRecordSurvivesSigkill) {
  const char* env = std::getenv("XB_EV_KILL_ITERATIONS");
  const int iterations = env ? std::atoi(env) : 200;
  ASSERT_TRUE(std::filesystem::exists(writerPath())) << writerPath();
  testing::ScopedTempDir tmp;
  const std::string dir = tmp.path() + "/log";
  std::mt19937_64 rng(20261123);
  std::map<uint64_t, std::string> acked;
  std::map<uint64_t, size_t> submitted;  // id -> pad
  std::vector<std::pair<uint64_t, std::string>> checkpoints;  // size, hex root
  int recoveries = 0;
  Hasher h;
  LogOptions o;
  o.dir = dir;
  o.origin = testing::kCrashOrigin;
  o.checkpoint_verifier = testing::testVerifier();
  for (int it = 0; it < iterations; ++it) {
    SCOPED_TRACE("iteration " + std::to_string(it));
    const auto killAfter = std::chrono::milliseconds(rng() % 60);
    WriterRun run = runAndKill(dir, static_cast<uint64_t>(it + 1), killAfter);
    ASSERT_TRUE(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL)
        << "writer ended by itself (status " << run.status << "): " << run.output.substr(0, 300);
    std::istringstream lines(run.output);
    std::string kind;
    std::string line;
    while (std::getline(lines, line)) {
      if (lines.eof()) break;  // a line cut by the kill (cannot happen for pipe writes <= PIPE_BUF)
      std::istringstream f(line);
      f >> kind;
      if (kind == "sub") {
        uint64_t id;
        size_t pad;
        f >> id >> pad;
        submitted[id] = pad;
      } else if (kind == "ack") {
        uint64_t index, id;
        size_t pad;
        f >> index >> id >> pad;
        acked[index] = testing::storedCrashRecord(index, id, pad);
      } else if (kind == "ckpt") {
        uint64_t size;
        std::string root;
        f >> size >> root;
        checkpoints.emplace_back(size, root);
      }
    }
    auto log = Log::open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_EQ((*log)->state(), LogState::kOpen) << (*log)->alarm();
    recoveries += (*log)->recovery().truncated;
    const uint64_t size = (*log)->size();
    auto frames = (*log)->readFrames(0, size);
    ASSERT_TRUE(frames.ok()) << frames.status();
    auto parsed = parseFrames(*frames);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_EQ(parsed->size(), size);
    // I1: acknowledged records present and byte-identical.
    for (const auto& [index, bytes] : acked) {
      ASSERT_LT(index, size) << "acknowledged record " << index << " lost";
      ASSERT_EQ((*parsed)[index].payload, bytes) << "acknowledged record " << index << " changed";
    }
    // I2: no phantoms.
    for (uint64_t i = 0; i < size; ++i) {
      auto rec = parseRecord((*parsed)[i].payload, {.index = i, .origin = testing::kCrashOrigin});
      ASSERT_TRUE(rec.ok()) << rec.status();
      if (rec->type() == v1::RECOVERY) continue;
      const uint64_t id = static_cast<uint64_t>(rec->observed_unix_nanos());
      ASSERT_TRUE(submitted.count(id)) << "phantom record at " << i;
      ASSERT_EQ((*parsed)[i].payload, testing::storedCrashRecord(i, id, submitted[id]));
    }
    // I3: every published checkpoint still holds, and the stored one is at least as new.
    for (const auto& [csize, root] : checkpoints) {
      ASSERT_LE(csize, size);
      ASSERT_EQ(toHex(*(*log)->root(csize)), root) << "checkpoint " << csize;
    }
    if (!checkpoints.empty()) {
      ASSERT_TRUE((*log)->latestCheckpoint());
      const auto latest = *(*log)->latestCheckpoint();
      ASSERT_GE(latest.size, checkpoints.back().first);
      auto proof = (*log)->consistencyProof(checkpoints.back().first, size);
      ASSERT_TRUE(proof.ok());
      Hash old = *(*log)->root(checkpoints.back().first);
      ASSERT_TRUE(merkle::verifyConsistency(h, checkpoints.back().first, size, *proof, old,
                                            *(*log)->root(size)).ok());
    }
  }
  std::printf("kill9: %d iterations, %zu acknowledged records, %zu checkpoints, %d torn tails\n",
              iterations, acked.size(), checkpoints.size(), recoveries);
  EXPECT_GT(acked.size(), static_cast<size_t>(iterations));
}

}  // namespace
}  // namespace xborder::evidence
