// libFuzzer target for the packet decoder: any bytes, as a whole frame and as a
// frame cut by the capture. Checks the decoder's own invariants on top of the
// sanitizers' memory checks, and that the fast decoder (parse_fast.h) never accepts a
// frame the general decoder reads differently.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "dataplane/parse/parse.h"
#include "tests/dataplane/parse_fast_check.h"

namespace {

void check(const xborder::dp::IpLayer& L, size_t size) {
  if (L.l3_end > size || L.l3_offset >= L.l3_end) __builtin_trap();
  if (L.has_l4 && static_cast<size_t>(L.payload_offset) + L.payload_len > L.l3_end) {
    __builtin_trap();
  }
}

void run(const uint8_t* data, size_t size, uint32_t wirelen, bool decap) {
  xborder::dp::PacketMeta m;
  xborder::dp::DecodeOptions o;
  o.decap_tunnels = decap;
  const auto r = xborder::dp::decodePacket(data, static_cast<uint32_t>(size), wirelen, o, &m);
  if (r != m.reason) __builtin_trap();
  if (r != xborder::dp::Reason::kNone) {
    if (!xborder::dp::isMalformed(r)) __builtin_trap();
    return;
  }
  if (m.ip_layers >= 1) check(m.outer, size);
  if (m.ip_layers == 2) check(m.inner, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0xFFFF) return 0;
  // An exact-size copy, so reading one byte past the end is caught.
  std::vector<uint8_t> buf(data, data + size);
  run(buf.data(), size, static_cast<uint32_t>(size), true);
  run(buf.data(), size, static_cast<uint32_t>(size) + 1500, true);
  run(buf.data(), size, static_cast<uint32_t>(size), false);
  bool accepted = false;
  std::string why;
  if (!xborder::dp::test::fastAgreesWithDecoder(buf.data(), static_cast<uint32_t>(size), &accepted, &why)) {
    __builtin_trap();
  }
  return 0;
}
