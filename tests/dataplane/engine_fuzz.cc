// libFuzzer target for the whole Engine (decode, flow table, nDPI glue, flow log):
// every input is one frame into a long-lived engine with a tiny table, so flows,
// evictions, expiry and flow records are all exercised across inputs. The first
// two bytes pick the timestamp step and the side.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/engine/engine.h"

namespace {

struct CheckingSink : xborder::dp::FlowLogSink {
  void onFlowRecord(std::string_view line) noexcept override {
    if (line.empty() || line.front() != '{' || line.back() != '}') __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xborder::dp;
  static CheckingSink sink;
  static std::unique_ptr<Engine> engine = [] {
    EngineConfig cfg;
    cfg.flow_capacity = 64;
    cfg.ndpi_pool_size = 16;
    cfg.timeout_udp = 2;
    cfg.timeout_tcp_transitory = 2;
    std::string err;
    return Engine::create(cfg, &sink, &err);
  }();
  static uint64_t now = 1700000000ull * 1000000000ull;
  if (size < 2 || size > 0xFFFF || !engine) return 0;
  now += static_cast<uint64_t>(data[0]) * 10000000ull;  // 0..2.55 s
  std::vector<uint8_t> frame(data + 2, data + size);  // exact size: overreads are caught
  PacketIn p{frame.data(), static_cast<uint32_t>(frame.size()),
             static_cast<uint32_t>(frame.size()) + (data[1] & 0x80 ? 100u : 0u), now,
             (data[1] & 1) ? Side::kOutside : Side::kInside};
  Verdict v;
  engine->processBurst(&p, 1, &v);
  if (v != Verdict::kForward) __builtin_trap();  // default policies forward everything
  engine->advanceTime(now);
  return 0;
}
