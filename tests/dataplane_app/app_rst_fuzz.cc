// libFuzzer: any frame -> buildRstFrames either refuses it or returns two frames that
// decode as bare TCP RSTs with valid checksums, inside the fixed buffers.
#include <cstdint>
#include <cstdlib>

#include "dataplane/app/app_rst.h"
#include "dataplane/parse/parse.h"

namespace {

uint32_t sum(const uint8_t* p, uint32_t n, uint32_t acc) {
  for (uint32_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  if (n & 1) acc += static_cast<uint32_t>(p[n - 1]) << 8;
  return acc;
}
bool folds(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return acc == 0xffff;
}

void check(const uint8_t* f, uint32_t n) {
  using namespace xborder::dp;
  if (n == 0 || n > app::kRstMaxFrame) std::abort();
  PacketMeta m;
  if (decodePacket(f, n, n, DecodeOptions{}, &m) != Reason::kNone) std::abort();
  const IpLayer& L = m.outer;
  if (m.ip_layers != 1 || L.proto != kIpProtoTcp || !L.has_l4 || L.payload_len != 0) std::abort();
  if ((L.tcp_flags & kTcpRst) == 0) std::abort();
  const uint32_t alen = L.version == 4 ? 4 : 16;
  if (L.version == 4 && !folds(sum(f + L.l3_offset, 20, 0))) std::abort();
  uint32_t acc = sum(L.src, alen, 0);
  acc = sum(L.dst, alen, acc) + kIpProtoTcp + 20;
  if (!folds(sum(f + n - 20, 20, acc))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65535) return 0;
  xborder::dp::app::RstFrames out;
  const uint32_t n = static_cast<uint32_t>(size);
  if (xborder::dp::app::buildRstFrames(data, n, n, &out)) {
    check(out.to_sender, out.sender_len);
    check(out.to_receiver, out.receiver_len);
  }
  return 0;
}
