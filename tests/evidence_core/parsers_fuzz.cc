// libFuzzer target for the store's parsers. The first byte picks one:
//   0 frames (scanFrames/parseFrames, then strict record parsing of each payload)
//   1 a checkpoint note / body   2 the LOG file   3 a segment header
//   4 a whole segment file opened by Log recovery (on the in-memory fault env)
// Beyond "no crash", it checks round trips: what parses re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "controlplane/evidence/record/record_check.h"
#include "controlplane/evidence/store/store_checkpoint.h"
#include "controlplane/evidence/store/store_frame.h"
#include "controlplane/evidence/store/store_log.h"
#include "controlplane/evidence/store/store_segment.h"
#include "tests/evidence_core/fault_env.h"

namespace {

using namespace xborder::evidence;

void fuzzFrames(std::string_view in) {
  FrameScan scan = scanFrames(in);
  std::string again;
  for (const Frame& f : scan.frames) {
    appendFrame(again, f.payload);
    (void)parseRecord(f.payload, {.index = 0, .origin = "o"});
  }
  if (in.substr(0, again.size()) != again) std::abort();  // frames re-encode identically
  auto parsed = parseFrames(in);
  if (parsed.ok() && (parsed->size() != scan.frames.size() || again.size() != in.size())) std::abort();
}

void fuzzCheckpoint(std::string_view in) {
  std::string_view body = in;
  if (auto b = noteBody(in); b.ok()) body = *b;
  auto c = parseCheckpointBody(body);
  if (c.ok() && formatCheckpointBody(*c) != body) std::abort();  // only canonical text parses
}

void fuzzMeta(std::string_view in) {
  auto m = parseLogMeta(in);
  if (m.ok() && formatLogMeta(*m) != in) std::abort();
}

void fuzzHeader(std::string_view in) {
  auto h = decodeSegmentHeader(in);
  if (h.ok() && encodeSegmentHeader(*h) != in.substr(0, kSegmentHeaderSize)) std::abort();
}

void fuzzRecovery(std::string_view in) {
  testing::FaultEnv env(1);
  LogOptions o;
  o.dir = "/log";
  o.origin = "evidence.test/kill9";  // the seeds come from the kill -9 writer
  o.segment_bytes = 4096;  // small: preallocation is copied around in memory
  o.env = &env;
  {
    auto log = Log::create(o);
    if (!log.ok()) std::abort();
  }
  // A valid header for this log, then the fuzz bytes as the segment body.
  SegmentHeader h{HashAlg::kSha256, 0, originDigest(o.origin)};
  env.overwrite("/log/" + segmentFileName(0), encodeSegmentHeader(h) + std::string(in));
  auto log = Log::open(o);
  if (!log.ok()) return;
  if ((*log)->state() == LogState::kOpen) {
    // Whatever recovery kept must read back and hash consistently.
    const uint64_t n = (*log)->size();
    auto frames = (*log)->readFrames(0, n);
    if (!frames.ok() || !parseFrames(*frames).ok()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: fuzzFrames(in); break;
    case 1: fuzzCheckpoint(in); break;
    case 2: fuzzMeta(in); break;
    case 3: fuzzHeader(in); break;
    case 4: fuzzRecovery(in); break;
  }
  return 0;
}
