// kernels/common/philox_cpu.cc: see philox_cpu.h. The AVX-512 rounds below are core/philox.h's
// philox4x32_10 line for line, on eight blocks at once.
#include "kernels/common/philox_cpu.h"

#include "core/philox.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LOOM_PHILOX_AVX512 1
#endif

namespace loom::kernels {

namespace {

void scalar_blocks(std::uint64_t seed, std::uint64_t first, std::int64_t count, std::uint32_t* words) {
  for (std::int64_t j = 0; j < count; ++j) {
    const Philox4 b = philox_block(first + static_cast<std::uint64_t>(j), seed);
    for (int w = 0; w < 4; ++w) words[4 * j + w] = b.v[w];
  }
}

#ifdef LOOM_PHILOX_AVX512

#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's own _mm512_set1_* (its bug 105593)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// Eight blocks first .. first + 7. Every lane is 64 bits wide and holds one 32-bit counter word in
// its low half (the high half stays 0: products are split into hi and lo, xors of such values keep
// it 0), so _mm512_mul_epu32, which multiplies the low halves, is the round's 32 x 32 -> 64.
__attribute__((target("avx512f"))) void eight_blocks_avx512(std::uint64_t seed, std::uint64_t first,
                                                            std::uint32_t* words) {
  const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFFll);
  const __m512i m0 = _mm512_set1_epi64(0xD2511F53ll), m1 = _mm512_set1_epi64(0xCD9E8D57ll);
  const __m512i block = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first)),
                                         _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  __m512i c0 = _mm512_and_si512(block, low32);  // the block number's low word
  __m512i c1 = _mm512_srli_epi64(block, 32);    // and its high word
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i p0 = _mm512_mul_epu32(c0, m0), p1 = _mm512_mul_epu32(c2, m1);
    const __m512i hi0 = _mm512_srli_epi64(p0, 32), lo0 = _mm512_and_si512(p0, low32);
    const __m512i hi1 = _mm512_srli_epi64(p1, 32), lo1 = _mm512_and_si512(p1, low32);
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi64(k0));
    c1 = lo1;
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi64(k1));
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  // Narrow each word vector to eight 32-bit values, then interleave: block j's words are 4 j .. 4 j + 3.
  alignas(32) std::uint32_t lanes[4][8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[0]), _mm512_cvtepi64_epi32(c0));
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[1]), _mm512_cvtepi64_epi32(c1));
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[2]), _mm512_cvtepi64_epi32(c2));
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[3]), _mm512_cvtepi64_epi32(c3));
  for (int j = 0; j < 8; ++j)
    for (int w = 0; w < 4; ++w) words[4 * j + w] = lanes[w][j];
}

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

bool avx512_available() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

#endif

}  // namespace

void philox_blocks_cpu(std::uint64_t seed, std::uint64_t first, std::int64_t count, std::uint32_t* words) {
  std::int64_t done = 0;
#ifdef LOOM_PHILOX_AVX512
  if (avx512_available())
    for (; done + 8 <= count; done += 8)
      eight_blocks_avx512(seed, first + static_cast<std::uint64_t>(done), words + 4 * done);
#endif
  scalar_blocks(seed, first + static_cast<std::uint64_t>(done), count - done, words + 4 * done);
}

}  // namespace loom::kernels
