// xborder-replay: drives the packet engine from pcap/pcapng files, without EAL.
// Used for the oracle comparison, the dry run and the callgrind benchmark.
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>  // --warmup: instructions counted over the measured passes
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "dataplane/capture/capture_pcap.h"
#include "dataplane/counters/counters_table.h"
#include "dataplane/engine/engine.h"
#include "dataplane/verdict/verdict_rules.h"
#include "dataplane/verdict/verdict_ruleset.h"

namespace {

constexpr const char* kUsage = R"(usage: xborder-replay [options] CAPTURE...

Replays pcap/pcapng captures (Ethernet) through the xborder packet engine
(decode, flow tracking, nDPI classification, flow log) without DPDK/EAL.
All captures go through one engine, in order; run once per capture to keep
their flows apart.

options:
  --flow-log FILE      write one JSON flow record per line to FILE ('-' = stdout)
  --in-memory          load every packet into memory before processing, so the
                       timing (and callgrind) excludes file I/O
  --loop N             process the loaded packets N times (implies --in-memory);
                       each pass is shifted in time past every idle timeout, so
                       every flow is created and classified again
  --keep-flows         with --loop: packets are stamped one microsecond apart
                       (capture order) across every pass, so no flow times out
                       and every pass after the first meets flows already
                       tracked, classified and judged: the decided-flow path
  --warmup N           with --loop: the first N passes are not measured; the rate
                       (and, under valgrind --tool=callgrind --instr-atstart=no,
                       the instruction count) covers the later passes only
  --ruleset FILE       judge every flow with this compiled negative list (what
                       xborder-rulec writes): the rules-backed verdict stage;
                       block/hold drop the flow's packets (see --tap)
  --tap                with --ruleset: tap mode, nothing dropped
  --no-fast-path       with --ruleset: call the policy on every packet, also for
                       flows already decided (the engine's settle_flows = false)
  --capacity N         flow table capacity per worker (default 1048576)
  --ndpi-pool N        flows classified at once (default min(capacity, 65536))
  --malformed POLICY   forward (default) or drop
  --table-full POLICY  evict (default), forward or drop
  --no-decap           do not decapsulate tunnels
  --stage STAGE        classify (default), track (decode + flow table, no nDPI) or
                       forward (no decode): benchmarks price each stage
  --side inside|outside  side the packets are said to arrive on (default inside)
  --counters           print every counter (Prometheus text) to stderr
  --quiet              print nothing but errors
  -h, --help           this text

exit status: 0 on success, 1 on a usage or capture error (one line on stderr).
)";

// The rules-backed policy as the dataplane runs it (RulesPolicy's dataplane mode: one
// snapshot, counters in a shard read back through a store). No evidence sink or anomaly
// ring: what they cost is the writer thread's, not the packet path's.
struct Enforcement {
  std::unique_ptr<xborder::dp::counters::CounterShard> shard;
  std::unique_ptr<xborder::dp::counters::CounterStore> store;
  std::unique_ptr<xborder::dp::RulesPolicy> policy;
};
Enforcement loadPolicy(const std::string& path, uint32_t capacity, bool inline_mode);

struct Packet {
  uint64_t ts_ns;
  uint32_t caplen;
  uint32_t wirelen;
  uint32_t offset;  // into the arena
};

class FileSink final : public xborder::dp::FlowLogSink {
 public:
  explicit FileSink(FILE* f) : f_(f) {}
  void onFlowRecord(std::string_view line) noexcept override {
    std::fwrite(line.data(), 1, line.size(), f_);
    std::fputc('\n', f_);
    ++records_;
  }
  uint64_t records() const { return records_; }

 private:
  FILE* f_;
  uint64_t records_ = 0;
};

class CountingSink final : public xborder::dp::FlowLogSink {
 public:
  void onFlowRecord(std::string_view) noexcept override { ++records_; }
  uint64_t records() const { return records_; }

 private:
  uint64_t records_ = 0;
};

// Reads one counter's total (summed over its labels).
class CounterProbe final : public xborder::dp::CounterVisitor {
 public:
  explicit CounterProbe(std::string_view name) : name_(name) {}
  void counter(std::string_view name, std::string_view, std::string_view, uint64_t value) override {
    if (name == name_) total_ += value;
  }
  uint64_t total() const { return total_; }

 private:
  std::string_view name_;
  uint64_t total_ = 0;
};

class PrintVisitor final : public xborder::dp::CounterVisitor {
 public:
  void counter(std::string_view name, std::string_view k, std::string_view v,
               uint64_t value) override {
    std::fprintf(stderr, "%.*s{%.*s=\"%.*s\"} %llu\n", static_cast<int>(name.size()),
                 name.data(), static_cast<int>(k.size()), k.data(), static_cast<int>(v.size()),
                 v.data(), static_cast<unsigned long long>(value));
  }
};

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "xborder-replay: %s\n", msg.c_str());
  std::exit(1);
}

bool parseU32(const char* s, uint32_t* out) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s, &end, 10);
  if (end == s || *end != '\0' || v > 0xFFFFFFFFul) {
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

// Streams or loads one capture (dataplane/capture, shared with xborder-dryrun).
// `emit` gets every packet.
template <class F>
void readCapture(const std::string& path, F&& emit) {
  xborder::dp::CaptureReader reader;
  const absl::Status st = reader.open(path);
  if (!st.ok()) {
    fail(std::string(st.message()));
  }
  xborder::dp::CapturedPacket p;
  while (reader.next(&p)) {
    emit(p.ts_ns, p.data, p.caplen, p.wirelen);
  }
}

Enforcement loadPolicy(const std::string& path, uint32_t capacity, bool inline_mode) {
  namespace dp = xborder::dp;
  auto snap = dp::RulesetSnapshot::loadFile(path);
  if (!snap.ok()) fail(path + ": " + std::string(snap.status().message()));
  Enforcement e;
  e.shard = std::make_unique<dp::counters::CounterShard>(4096);
  dp::counters::CounterStoreOptions so;
  so.thresholds = (*snap)->thresholds();
  so.ratios = (*snap)->alertRatios();
  e.store = std::make_unique<dp::counters::CounterStore>(std::move(so));
  dp::DataplaneWiring w;
  w.inline_mode = inline_mode;
  w.shard = e.shard.get();
  w.counts = e.store.get();
  dp::RulesPolicyConfig pc;
  uint32_t cap = 1;
  while (cap < capacity) cap <<= 1;  // the policy indexes by the engine's slot
  pc.flow_capacity = cap;
  // Judged as of now, as a live gateway would (captures carry old timestamps, and
  // --keep-flows restamps them).
  pc.as_of_unix = static_cast<int64_t>(std::time(nullptr));
  // Individuals only feed this run's counters; a fixed key is enough here.
  const std::array<uint8_t, 32> key{};
  auto policy = dp::RulesPolicy::createDataplane(pc, w, *snap, key);
  if (!policy.ok()) fail("policy: " + std::string(policy.status().message()));
  e.policy = std::move(*policy);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xborder::dp;
  EngineConfig cfg;
  std::string flow_log, ruleset;
  bool keep_flows = false;
  std::vector<std::string> files;
  bool in_memory = false, print_counters = false, quiet = false;
  uint32_t loops = 1, warmup = 0;
  Side side = Side::kInside;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) fail("option " + std::string(a) + " needs a value (try --help)");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--flow-log") {
      flow_log = next();
    } else if (a == "--in-memory") {
      in_memory = true;
    } else if (a == "--loop") {
      if (!parseU32(next(), &loops) || loops == 0) fail("--loop needs a positive integer");
      in_memory = true;
    } else if (a == "--warmup") {
      if (!parseU32(next(), &warmup)) fail("--warmup needs an integer");
    } else if (a == "--keep-flows") {
      keep_flows = true;
    } else if (a == "--ruleset") {
      ruleset = next();
    } else if (a == "--tap") {
      cfg.inline_mode = false;
    } else if (a == "--no-fast-path") {
      cfg.settle_flows = false;
    } else if (a == "--capacity") {
      if (!parseU32(next(), &cfg.flow_capacity) || cfg.flow_capacity == 0)
        fail("--capacity needs a positive integer");
    } else if (a == "--ndpi-pool") {
      if (!parseU32(next(), &cfg.ndpi_pool_size)) fail("--ndpi-pool needs an integer");
    } else if (a == "--malformed") {
      const std::string_view v = next();
      if (v == "forward") cfg.malformed = MalformedPolicy::kForward;
      else if (v == "drop") cfg.malformed = MalformedPolicy::kDrop;
      else fail("--malformed must be forward or drop");
    } else if (a == "--table-full") {
      const std::string_view v = next();
      if (v == "evict") cfg.table_full = TableFullPolicy::kEvictOldestIdle;
      else if (v == "forward") cfg.table_full = TableFullPolicy::kForwardUntracked;
      else if (v == "drop") cfg.table_full = TableFullPolicy::kDrop;
      else fail("--table-full must be evict, forward or drop");
    } else if (a == "--stage") {
      const std::string_view v = next();
      if (v == "classify") cfg.stages = xborder::dp::Stages::kClassify;
      else if (v == "track") cfg.stages = xborder::dp::Stages::kTrack;
      else if (v == "forward") cfg.stages = xborder::dp::Stages::kForward;
      else fail("--stage must be classify, track or forward");
    } else if (a == "--no-decap") {
      cfg.decap_tunnels = false;
    } else if (a == "--side") {
      const std::string_view v = next();
      if (v == "inside") side = Side::kInside;
      else if (v == "outside") side = Side::kOutside;
      else fail("--side must be inside or outside");
    } else if (a == "--counters") {
      print_counters = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      fail("unknown option " + std::string(a) + " (try --help)");
    } else {
      files.emplace_back(a);
    }
  }
  if (files.empty()) {
    fail("no capture given (try --help)");
  }

  FILE* log = nullptr;
  if (!flow_log.empty()) {
    log = flow_log == "-" ? stdout : std::fopen(flow_log.c_str(), "w");
    if (log == nullptr) fail("cannot write " + flow_log + ": " + std::strerror(errno));
  }
  FileSink file_sink(log);
  CountingSink count_sink;
  FlowLogSink* sink = log ? static_cast<FlowLogSink*>(&file_sink) : &count_sink;

  if (keep_flows && !in_memory) fail("--keep-flows needs --in-memory or --loop N");
  if (warmup > 0 && warmup >= loops) fail("--warmup N needs --loop with more than N passes");
  Enforcement enforcement;
  if (!ruleset.empty()) {
    if (cfg.stages != Stages::kClassify) fail("--ruleset needs --stage classify");
    enforcement = loadPolicy(ruleset, cfg.flow_capacity, cfg.inline_mode);
    cfg.policy = enforcement.policy.get();
  }
  std::string error;
  std::unique_ptr<Engine> engine = Engine::create(cfg, sink, &error);
  if (!engine) fail("engine: " + error);

  constexpr uint16_t kBurst = 32;
  PacketIn burst[kBurst];
  Verdict verdicts[kBurst];
  uint16_t n = 0;
  uint64_t packets = 0, dropped = 0, last_ts = 0, burst_ts = 0;
  uint64_t measured_from = 0, settled_from = 0;  // counts at the first measured pass
  auto settledPackets = [&]() {
    CounterProbe probe("xborder_policy_settled_packets_total");
    engine->visitCounters(probe);
    return probe.total();
  };
  auto flush = [&]() {
    if (n == 0) return;
    engine->processBurst(burst, n, verdicts);
    for (uint16_t i = 0; i < n; ++i) dropped += verdicts[i] == Verdict::kDrop;
    engine->advanceTime(last_ts);
    n = 0;
  };

  std::vector<uint8_t> arena;
  std::vector<Packet> loaded;
  std::vector<std::vector<uint8_t>> stream_bufs(kBurst);  // streaming: copies per burst slot
  std::chrono::steady_clock::time_point t0, t1;
  if (in_memory) {
    for (const auto& f : files) {
      readCapture(f, [&](uint64_t ts, const uint8_t* d, uint32_t cap, uint32_t wire) {
        loaded.push_back(Packet{ts, cap, wire, static_cast<uint32_t>(arena.size())});
        arena.insert(arena.end(), d, d + cap);
      });
    }
    uint64_t span = 0;
    if (!loaded.empty()) {
      uint64_t lo = loaded.front().ts_ns, hi = lo;
      for (const auto& p : loaded) {
        lo = p.ts_ns < lo ? p.ts_ns : lo;
        hi = p.ts_ns > hi ? p.ts_ns : hi;
      }
      span = hi - lo;
    }
    // Each pass starts after every flow of the previous one has timed out.
    const uint64_t shift = span + 2 * 3600 * 1000000000ull;
    // --keep-flows: a synthetic clock, 1 us per packet from the first timestamp.
    const uint64_t base = loaded.empty() ? 0 : loaded.front().ts_ns;
    uint64_t seq = 0;
    t0 = std::chrono::steady_clock::now();
    for (uint32_t l = 0; l < loops; ++l) {
      if (warmup > 0 && l == warmup) {
        measured_from = packets;
        settled_from = settledPackets();
        t0 = std::chrono::steady_clock::now();
        CALLGRIND_ZERO_STATS;
        CALLGRIND_START_INSTRUMENTATION;
      }
      for (const auto& p : loaded) {
        const uint64_t ts = keep_flows ? base + 1000 * seq++ : p.ts_ns + l * shift;
        // A burst stands for microseconds of traffic: do not let one span a time
        // jump, so expiry (advanceTime after each burst) sees it.
        if (n > 0 && ts > burst_ts + 1000000000ull) flush();
        if (n == 0) burst_ts = ts;
        PacketIn& in = burst[n++];
        in.data = arena.data() + p.offset;
        in.caplen = p.caplen;
        in.wirelen = p.wirelen;
        in.ts_ns = ts;
        in.side = side;
        last_ts = in.ts_ns > last_ts ? in.ts_ns : last_ts;
        ++packets;
        if (n == kBurst) flush();
      }
      flush();  // each pass ends its own bursts
    }
    if (warmup > 0) {
      CALLGRIND_STOP_INSTRUMENTATION;
      t1 = std::chrono::steady_clock::now();
    }
  } else {
    t0 = std::chrono::steady_clock::now();
    for (const auto& f : files) {
      readCapture(f, [&](uint64_t ts, const uint8_t* d, uint32_t cap, uint32_t wire) {
        // libpcap reuses its buffer on the next read: copy while the burst fills.
        if (n > 0 && ts > burst_ts + 1000000000ull) flush();
        if (n == 0) burst_ts = ts;
        auto& buf = stream_bufs[n];
        buf.assign(d, d + cap);
        PacketIn& in = burst[n++];
        in.data = buf.data();
        in.caplen = cap;
        in.wirelen = wire;
        in.ts_ns = ts;
        in.side = side;
        last_ts = ts > last_ts ? ts : last_ts;
        ++packets;
        if (n == kBurst) flush();
      });
    }
    flush();
  }
  const uint64_t settled = settledPackets() - settled_from;
  engine->flushAll(last_ts);
  if (warmup == 0) t1 = std::chrono::steady_clock::now();  // the flush counts too, as before
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  const uint64_t measured = packets - measured_from;
  if (log != nullptr && log != stdout) std::fclose(log);
  else if (log == stdout) std::fflush(stdout);

  if (print_counters) {
    PrintVisitor pv;
    engine->visitCounters(pv);
  }
  if (!quiet) {
    const uint64_t records = log ? file_sink.records() : count_sink.records();
    std::fprintf(stderr,
                 "xborder-replay: %llu packets, %llu dropped, %llu flow records, %.3f s, "
                 "%.0f packets/s%s\n",
                 static_cast<unsigned long long>(packets), static_cast<unsigned long long>(dropped),
                 static_cast<unsigned long long>(records), secs, secs > 0 ? measured / secs : 0.0,
                 !in_memory ? " (incl. file reading)"
                 : warmup > 0 ? " (in memory, after the warm-up passes)" : " (in memory)");
    if (enforcement.policy) {
      std::fprintf(stderr, "xborder-replay: fast path: %llu of %llu measured packets (settled flows)\n",
                   static_cast<unsigned long long>(settled), static_cast<unsigned long long>(measured));
    }
  }
  return 0;
}
