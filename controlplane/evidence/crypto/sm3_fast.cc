#include "controlplane/evidence/crypto/sm3_fast.h"

#include <cstring>

// Why not OpenSSL's SM3: OpenSSL 3.0 has no assembly SM3 for x86-64; its C code runs
// at ~0.40 GB/s here, and SM3 of the records file is the longest serial task of
// xborder-verify (35-39 % of its CPU). Debian bookworm ships no SM3 library besides
// OpenSSL and libgcrypt (1.10.1: 0.47 against OpenSSL's 0.42 GB/s in one run: a new
// runtime dependency for about what this file gives). This one keeps the 68-word
// expansion in a 16-word ring next to the rounds, renames registers instead of moving
// them, precomputes the rotated round constants and orders each round's additions so
// the late operands (E, SS1, SS2) come last: 6-10 % faster than OpenSSL's
// (ev_crypto_bench --benchmark_filter=Sm3). A round is bound by its rotates (ten with
// the expansion, two ports); moving the expansion to SSE or AVX-512VL registers
// (interleaved with the rounds, or precomputed per block) measured no faster or slower,
// so there is no vector path. Figures: docs/benchmarks/evbundle.md, session 4.

namespace xborder::evidence::crypto {
namespace {

#define XB_SM3_INLINE inline __attribute__((always_inline))

XB_SM3_INLINE uint32_t rol(uint32_t x, int n) { return (x << (n & 31)) | (x >> ((32 - n) & 31)); }
XB_SM3_INLINE uint32_t p0(uint32_t x) { return x ^ rol(x, 9) ^ rol(x, 17); }
XB_SM3_INLINE uint32_t p1(uint32_t x) { return x ^ rol(x, 15) ^ rol(x, 23); }
XB_SM3_INLINE uint32_t loadBe(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

// T_j rotated left by j mod 32, as the round uses it.
constexpr uint32_t roundConstant(int j) {
  uint32_t t = j < 16 ? 0x79cc4519u : 0x7a879d8au;
  int n = j % 32;
  return n == 0 ? t : (t << n) | (t >> (32 - n));
}

template <int J>
XB_SM3_INLINE void round(uint32_t a, uint32_t& b, uint32_t c, uint32_t& d, uint32_t e, uint32_t& f, uint32_t g,
                         uint32_t& h, uint32_t* w) {
  // W[J + 4] is due in this round (W'[J] = W[J] ^ W[J + 4]); it takes W[J - 12]'s slot.
  if constexpr (J + 4 >= 16) {
    constexpr int i = J + 4;
    w[i & 15] = p1(w[(i - 16) & 15] ^ w[(i - 9) & 15] ^ rol(w[(i - 3) & 15], 15)) ^ rol(w[(i - 13) & 15], 7) ^
                w[(i - 6) & 15];
  }
  const uint32_t wj = w[J & 15];
  const uint32_t wj4 = w[(J + 4) & 15];
  const uint32_t a12 = rol(a, 12);
  // (A <<< 12) + T_j first: E is the later operand (P0 of the last round's TT2), so
  // adding it last takes one add off the round's critical path. The empty asm keeps the
  // compiler from moving the constant to the end.
  uint32_t a12k = a12 + roundConstant(J);
  asm("" : "+r"(a12k));
  const uint32_t ss1 = rol(a12k + e, 7);
  const uint32_t ss2 = ss1 ^ a12;
  uint32_t ff, gg;
  if constexpr (J < 16) {
    ff = a ^ b ^ c;
    gg = e ^ f ^ g;
  } else {
    ff = (a & b) | (c & (a | b));
    gg = (e & f) | (~e & g);
  }
  // The SS terms come last: everything else is ready earlier.
  const uint32_t tt1 = ss2 + (ff + d + (wj ^ wj4));
  const uint32_t tt2 = ss1 + (gg + h + wj);
  // The caller renames: next round's (A..H) = (D, A, B, C, H, E, F, G).
  b = rol(b, 9);
  d = tt1;
  f = rol(f, 19);
  h = p0(tt2);
}

template <int J>
XB_SM3_INLINE void fourRounds(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, uint32_t& e, uint32_t& f,
                              uint32_t& g, uint32_t& h, uint32_t* w) {
  round<J>(a, b, c, d, e, f, g, h, w);
  round<J + 1>(d, a, b, c, h, e, f, g, w);
  round<J + 2>(c, d, a, b, g, h, e, f, w);
  round<J + 3>(b, c, d, a, f, g, h, e, w);
}

template <int... Q>
XB_SM3_INLINE void allRounds(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, uint32_t& e, uint32_t& f,
                             uint32_t& g, uint32_t& h, uint32_t* w, std::integer_sequence<int, Q...>) {
  (fourRounds<Q * 4>(a, b, c, d, e, f, g, h, w), ...);
}

XB_SM3_INLINE void compressBlocks(uint32_t* state, const uint8_t* p, size_t blocks) {
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (; blocks > 0; --blocks, p += kSm3BlockSize) {
    uint32_t w[16];
    for (int i = 0; i < 16; ++i) w[i] = loadBe(p + 4 * i);
    allRounds(a, b, c, d, e, f, g, h, w, std::make_integer_sequence<int, 16>{});
    a = state[0] ^= a;
    b = state[1] ^= b;
    c = state[2] ^= c;
    d = state[3] ^= d;
    e = state[4] ^= e;
    f = state[5] ^= f;
    g = state[6] ^= g;
    h = state[7] ^= h;
  }
}

void compressPortable(uint32_t* state, const uint8_t* p, size_t blocks) { compressBlocks(state, p, blocks); }

// Same code with BMI2's rorx (a rotate into another register: no mov before each rol).
__attribute__((target("bmi2"))) void compressBmi2(uint32_t* state, const uint8_t* p, size_t blocks) {
  compressBlocks(state, p, blocks);
}

using CompressFn = void (*)(uint32_t*, const uint8_t*, size_t);

CompressFn pickCompress() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("bmi2")) return compressBmi2;
#endif
  return compressPortable;
}

const CompressFn kCompress = pickCompress();

}  // namespace

const char* sm3FastVariant() { return kCompress == compressPortable ? "portable" : "bmi2"; }

void Sm3Fast::reset() {
  static constexpr uint32_t kIv[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                                      0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};
  std::memcpy(state_, kIv, sizeof(state_));
  total_ = 0;
  buffered_ = 0;
}

void Sm3Fast::update(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  total_ += size;
  if (buffered_ > 0) {
    size_t take = kSm3BlockSize - buffered_;
    if (take > size) take = size;
    std::memcpy(buffer_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    size -= take;
    if (buffered_ < kSm3BlockSize) return;
    kCompress(state_, buffer_, 1);
    buffered_ = 0;
  }
  if (size_t blocks = size / kSm3BlockSize; blocks > 0) {
    kCompress(state_, p, blocks);
    p += blocks * kSm3BlockSize;
    size -= blocks * kSm3BlockSize;
  }
  if (size > 0) {
    std::memcpy(buffer_, p, size);
    buffered_ = size;
  }
}

void Sm3Fast::finish(uint8_t out[kSm3DigestSize]) {
  const uint64_t bits = total_ * 8;
  buffer_[buffered_++] = 0x80;
  if (buffered_ > kSm3BlockSize - 8) {
    std::memset(buffer_ + buffered_, 0, kSm3BlockSize - buffered_);
    kCompress(state_, buffer_, 1);
    buffered_ = 0;
  }
  std::memset(buffer_ + buffered_, 0, kSm3BlockSize - 8 - buffered_);
  for (int i = 0; i < 8; ++i) buffer_[kSm3BlockSize - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  kCompress(state_, buffer_, 1);
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<uint8_t>(state_[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(state_[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(state_[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(state_[i]);
  }
  buffered_ = 0;
}

std::array<uint8_t, kSm3DigestSize> Sm3Fast::digest(std::string_view data) {
  Sm3Fast h;
  h.update(data.data(), data.size());
  std::array<uint8_t, kSm3DigestSize> out;
  h.finish(out.data());
  return out;
}

}  // namespace xborder::evidence::crypto
