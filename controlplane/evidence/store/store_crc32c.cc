#include "controlplane/evidence/store/store_crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace xborder::evidence {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

constexpr std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = makeTable();

}  // namespace

uint32_t crc32cExtendTable(uint32_t crc, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < size; ++i) c = kTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32cExtendHw(uint32_t crc, const void* data,
                                                          size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  while (size >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    size -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (size-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

bool crc32cHardwareAvailable() { return __builtin_cpu_supports("sse4.2"); }
#else
uint32_t crc32cExtendHw(uint32_t crc, const void* data, size_t size) {
  return crc32cExtendTable(crc, data, size);
}
bool crc32cHardwareAvailable() { return false; }
#endif

uint32_t crc32cExtend(uint32_t crc, const void* data, size_t size) {
  static const bool hw = crc32cHardwareAvailable();
  return hw ? crc32cExtendHw(crc, data, size) : crc32cExtendTable(crc, data, size);
}

}  // namespace xborder::evidence
