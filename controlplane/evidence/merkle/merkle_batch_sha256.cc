#include "controlplane/evidence/merkle/merkle_batch_sha256.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define XB_SHA_NI 1
#endif

namespace xborder::evidence {
namespace {

// Lane buffer: 0x00 || data || padding must fit. Records are ~300-500 bytes; a longer
// input takes Hasher's path.
constexpr size_t kLaneBytes = 2048;

// FIPS 180-4 §5.1.1 padding after `len` message bytes already in buf; returns blocks.
size_t pad(uint8_t* buf, size_t len) {
  const size_t blocks = (len + 9 + 63) / 64;
  std::memset(buf + len, 0, blocks * 64 - len);
  buf[len] = 0x80;
  const uint64_t bits = uint64_t{len} * 8;
  for (int i = 0; i < 8; ++i) buf[blocks * 64 - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  return blocks;
}

#ifdef XB_SHA_NI

bool detectShaNi() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  const bool sha = (b >> 29) & 1;
  return ssse3 && sse41 && sha;
}

alignas(16) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// State in the SHA-NI layout: s0 = ABEF, s1 = CDGH.
struct NiState {
  __m128i s0, s1;
};

__attribute__((target("sha,sse4.1,ssse3"))) NiState initialState() {
  // H0..H7 of FIPS 180-4 §5.3.3, arranged as the instructions want them.
  const __m128i abcd = _mm_set_epi32(0xa54ff53a, 0x3c6ef372, 0xbb67ae85, 0x6a09e667);  // D C B A
  const __m128i efgh = _mm_set_epi32(0x5be0cd19, 0x1f83d9ab, 0x9b05688c, 0x510e527f);  // H G F E
  const __m128i t = _mm_shuffle_epi32(abcd, 0xB1);   // C D A B
  const __m128i h = _mm_shuffle_epi32(efgh, 0x1B);   // E F G H
  return {_mm_alignr_epi8(t, h, 8), _mm_blend_epi16(h, t, 0xF0)};
}

// One 64-byte block into N independent states, their instructions interleaved.
template <int N>
__attribute__((target("sha,sse4.1,ssse3"), always_inline)) inline void compress(NiState* st,
                                                                                const uint8_t* const* block) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i m[N][4];
  NiState save[N];
  for (int l = 0; l < N; ++l) save[l] = st[l];
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) {
    const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * j));
    for (int l = 0; l < N; ++l) {
      __m128i& g = m[l][j % 4];
      if (j < 4) {
        g = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block[l] + 16 * j)), bswap);
      } else {
        // W[4j..4j+3] from the previous 16 words (sha256msg1/msg2 split σ0 and σ1).
        const __m128i& p1 = m[l][(j + 3) % 4];  // W[4j-4..]
        const __m128i& p2 = m[l][(j + 2) % 4];  // W[4j-8..]
        const __m128i& p3 = m[l][(j + 1) % 4];  // W[4j-12..]
        g = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(g, p3), _mm_alignr_epi8(p1, p2, 4)), p1);
      }
      __m128i msg = _mm_add_epi32(g, k);
      st[l].s1 = _mm_sha256rnds2_epu32(st[l].s1, st[l].s0, msg);
      msg = _mm_shuffle_epi32(msg, 0x0E);
      st[l].s0 = _mm_sha256rnds2_epu32(st[l].s0, st[l].s1, msg);
    }
  }
  for (int l = 0; l < N; ++l) {
    st[l].s0 = _mm_add_epi32(st[l].s0, save[l].s0);
    st[l].s1 = _mm_add_epi32(st[l].s1, save[l].s1);
  }
}

// The digest bytes (big-endian H0..H7) of a final state.
__attribute__((target("sha,sse4.1,ssse3"))) void store(const NiState& st, Hash* out) {
  const __m128i t = _mm_shuffle_epi32(st.s0, 0x1B);      // F E B A
  const __m128i u = _mm_shuffle_epi32(st.s1, 0xB1);      // D C H G
  const __m128i abcd = _mm_blend_epi16(t, u, 0xF0);      // D C B A
  const __m128i efgh = _mm_alignr_epi8(u, t, 8);         // H G F E
  const __m128i be = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out->data()), _mm_shuffle_epi8(abcd, be));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out->data() + 16), _mm_shuffle_epi8(efgh, be));
}

// Hashes two padded messages of a and b blocks: the common blocks two at a time, then
// the rest of the longer one alone.
__attribute__((target("sha,sse4.1,ssse3"))) void hashTwo(const uint8_t* x, size_t a, const uint8_t* y,
                                                           size_t b, Hash* out_x, Hash* out_y) {
  NiState st[2] = {initialState(), initialState()};
  const size_t both = a < b ? a : b;
  for (size_t i = 0; i < both; ++i) {
    const uint8_t* blocks[2] = {x + 64 * i, y + 64 * i};
    compress<2>(st, blocks);
  }
  for (size_t i = both; i < a; ++i) {
    const uint8_t* blk = x + 64 * i;
    compress<1>(&st[0], &blk);
  }
  for (size_t i = both; i < b; ++i) {
    const uint8_t* blk = y + 64 * i;
    compress<1>(&st[1], &blk);
  }
  store(st[0], out_x);
  store(st[1], out_y);
}

__attribute__((target("sha,sse4.1,ssse3"))) void hashOne(const uint8_t* x, size_t a, Hash* out) {
  NiState st = initialState();
  for (size_t i = 0; i < a; ++i) {
    const uint8_t* blk = x + 64 * i;
    compress<1>(&st, &blk);
  }
  store(st, out);
}

const bool kShaNi = detectShaNi();

#endif  // XB_SHA_NI

const Hasher& fallback() {
  thread_local const Hasher h(HashAlg::kSha256);
  return h;
}

}  // namespace

bool batchSha256Accelerated() {
#ifdef XB_SHA_NI
  return kShaNi;
#else
  return false;
#endif
}

void sha256LeafHashes(const std::string_view* data, size_t n, Hash* out) {
#ifdef XB_SHA_NI
  if (kShaNi) {
    alignas(64) uint8_t buf[2][kLaneBytes];
    size_t blocks[2] = {0, 0};
    size_t lane_index[2] = {0, 0};
    int lanes = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::string_view d = data[i];
      if (d.size() + 1 + 9 > kLaneBytes) {
        out[i] = fallback().leafHash(d);
        continue;
      }
      buf[lanes][0] = 0x00;  // RFC 9162 leaf prefix
      std::memcpy(buf[lanes] + 1, d.data(), d.size());
      blocks[lanes] = pad(buf[lanes], d.size() + 1);
      lane_index[lanes] = i;
      if (++lanes == 2) {
        hashTwo(buf[0], blocks[0], buf[1], blocks[1], &out[lane_index[0]], &out[lane_index[1]]);
        lanes = 0;
      }
    }
    if (lanes == 1) hashOne(buf[0], blocks[0], &out[lane_index[0]]);
    return;
  }
#endif
  for (size_t i = 0; i < n; ++i) out[i] = fallback().leafHash(data[i]);
}

void sha256NodeHashes(const Hash* children, size_t pairs, Hash* out) {
#ifdef XB_SHA_NI
  if (kShaNi) {
    // 0x01 || left || right is 65 bytes: two blocks once padded.
    alignas(64) uint8_t buf[2][128];
    for (auto& b : buf) pad(b, 65);
    size_t i = 0;
    for (; i + 2 <= pairs; i += 2) {
      for (int l = 0; l < 2; ++l) {
        buf[l][0] = 0x01;
        std::memcpy(buf[l] + 1, children[2 * (i + l)].data(), kHashSize);
        std::memcpy(buf[l] + 1 + kHashSize, children[2 * (i + l) + 1].data(), kHashSize);
      }
      hashTwo(buf[0], 2, buf[1], 2, &out[i], &out[i + 1]);  // inputs copied above: out may alias
    }
    if (i < pairs) {
      buf[0][0] = 0x01;
      std::memcpy(buf[0] + 1, children[2 * i].data(), kHashSize);
      std::memcpy(buf[0] + 1 + kHashSize, children[2 * i + 1].data(), kHashSize);
      hashOne(buf[0], 2, &out[i]);
    }
    return;
  }
#endif
  for (size_t i = 0; i < pairs; ++i) {
    const Hash l = children[2 * i], r = children[2 * i + 1];
    out[i] = fallback().nodeHash(l, r);
  }
}

}  // namespace xborder::evidence
