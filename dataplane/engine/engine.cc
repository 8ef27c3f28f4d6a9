// First cut of the Engine: counts and forwards every packet. Decode, flow tracking
// and classification are added stage by stage behind the same contract.
#include "dataplane/engine/engine.h"

#include <array>

#include "dataplane/base/counters.h"

namespace xborder::dp {
namespace {

class EngineImpl final : public Engine {
 public:
  EngineImpl(const EngineConfig& config, FlowLogSink* sink) : config_(config), sink_(sink) {}

  void processBurst(const PacketIn* pkts, uint16_t n, Verdict* verdicts) noexcept override {
    for (uint16_t i = 0; i < n; ++i) {
      const auto side = static_cast<uint32_t>(pkts[i].side) & 1u;
      rx_packets_[side].add();
      rx_bytes_[side].add(pkts[i].wirelen);
      verdicts[i] = Verdict::kForward;
    }
  }
  void advanceTime(uint64_t now_ns) noexcept override {}
  void flushAll(uint64_t now_ns) noexcept override {}
  void visitCounters(CounterVisitor& v) const override {
    static constexpr std::string_view kSides[2] = {"inside", "outside"};
    for (int s = 0; s < 2; ++s) {
      v.counter("xborder_rx_packets_total", "side", kSides[s], rx_packets_[s].get());
      v.counter("xborder_rx_bytes_total", "side", kSides[s], rx_bytes_[s].get());
    }
  }
  uint64_t activeFlows() const noexcept override { return 0; }

 private:
  EngineConfig config_;
  FlowLogSink* sink_;
  std::array<RelaxedCounter, 2> rx_packets_;
  std::array<RelaxedCounter, 2> rx_bytes_;
};

}  // namespace

std::unique_ptr<Engine> Engine::create(const EngineConfig& config, FlowLogSink* sink,
                                       std::string* error) {
  return std::make_unique<EngineImpl>(config, sink);
}

}  // namespace xborder::dp
