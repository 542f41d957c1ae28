// kernels/common/bf16_lanes_avx512.h: F32 <-> bf16 on one 16-lane AVX-512 vector, for a kernel
// that converts inside its own AVX-512 loop instead of widening or rounding a whole buffer
// (bf16_cpu.cc's buffer loops use the same two functions, so every path gives the same bits).
//
//   round16_to_bf16(v)   float_to_bf16_bits on each lane: round to nearest even, every NaN -> 0x7fff
//   widen16_from_bf16(h) bf16_bits_to_float on each lane: a 16-bit left shift (exact)
//
// Only on x86-64 with GCC or Clang (LOOM_BF16_LANES is then defined); a caller must itself be
// compiled for AVX-512F (a target attribute) and check the CPU at run time.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define LOOM_BF16_LANES 1

namespace loom::kernels::cpu {

#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own _mm512_set1_* (its bug 105593)
#endif

// Add 0x7fff plus the kept LSB (ties to even), shift right 16, NaN (|u| > 0x7f800000) -> 0x7fff,
// then VPMOVDW narrows the 32-bit lanes to 16 bits.
__attribute__((target("avx512f"), always_inline)) inline __m256i round16_to_bf16(__m512 v) {
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias), lsb), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
  r = _mm512_mask_mov_epi32(r, nan, bias);
  return _mm512_cvtepi32_epi16(r);
}

// Zero-extend to 32 bits (VPMOVZXWD), shift left 16.
__attribute__((target("avx512f"), always_inline)) inline __m512 widen16_from_bf16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace loom::kernels::cpu

#endif
