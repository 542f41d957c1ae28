// kernels/common/bf16_cpu.cc: the buffer-wide F32 <-> bf16 conversions of bf16_cpu.h. Why they
// exist and what bits they give: the header.
#include "kernels/common/bf16_cpu.h"

#include "core/dtype.h"
#include "core/parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LOOM_BF16_AVX512 1
#endif

namespace loom::kernels::cpu {

namespace {

using std::int64_t;

#ifdef LOOM_BF16_AVX512
bool have_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own _mm512_set1_* (its bug 105593)
// float_to_bf16_bits on 16 lanes: add 0x7fff plus the kept LSB (ties to even), shift right 16,
// NaN (|u| > 0x7f800000) -> 0x7fff, then VPMOVDW narrows the 32-bit lanes to 16 bits.
__attribute__((target("avx512f"))) void round_avx512(const float* src, int64_t n, std::uint16_t* dst,
                                                     std::uint16_t* dst2) {
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512i u = _mm512_castps_si512(_mm512_loadu_ps(src + j));
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias), lsb), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
    r = _mm512_mask_mov_epi32(r, nan, bias);
    const __m256i packed = _mm512_cvtepi32_epi16(r);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), packed);
    if (dst2 != nullptr) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst2 + j), packed);
  }
  for (; j < n; ++j) {
    dst[j] = float_to_bf16_bits(src[j]);
    if (dst2 != nullptr) dst2[j] = dst[j];
  }
}

// bf16_bits_to_float on 16 lanes: zero-extend to 32 bits (VPMOVZXWD), shift left 16.
__attribute__((target("avx512f"))) void widen_avx512(const std::uint16_t* src, int64_t n, float* dst) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j));
    const __m512i u = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
    _mm512_storeu_ps(dst + j, _mm512_castsi512_ps(u));
  }
  for (; j < n; ++j) dst[j] = bf16_bits_to_float(src[j]);
}
#pragma GCC diagnostic pop
#else
bool have_avx512() { return false; }
#endif

// Blocks of 4096 values (16 KB of F32): whole 16-lane vectors, shared out among the threads.
constexpr int64_t kBlock = 4096;

}  // namespace

void round_bf16_scalar(const float* src, int64_t n, std::uint16_t* dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] = float_to_bf16_bits(src[j]);
}

void widen_bf16_scalar(const std::uint16_t* src, int64_t n, float* dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] = bf16_bits_to_float(src[j]);
}

void round_bf16_serial(const float* src, int64_t n, std::uint16_t* dst, std::uint16_t* dst2) {
#ifdef LOOM_BF16_AVX512
  if (have_avx512()) return round_avx512(src, n, dst, dst2);
#endif
  round_bf16_scalar(src, n, dst);
  for (int64_t j = 0; dst2 != nullptr && j < n; ++j) dst2[j] = dst[j];
}

void round_to_bf16(const float* src, int64_t n, std::uint16_t* dst) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(loom::num_threads()) if (n > loom::kParallelGrain)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t j0 = blk * kBlock, m = n - j0 < kBlock ? n - j0 : kBlock;
    round_bf16_serial(src + j0, m, dst + j0);
  }
}

void widen_bf16(const std::uint16_t* src, int64_t n, float* dst) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(loom::num_threads()) if (n > loom::kParallelGrain)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t j0 = blk * kBlock, m = n - j0 < kBlock ? n - j0 : kBlock;
#ifdef LOOM_BF16_AVX512
    if (have_avx512()) {
      widen_avx512(src + j0, m, dst + j0);
      continue;
    }
#endif
    widen_bf16_scalar(src + j0, m, dst + j0);
  }
}

const char* bf16_cpu_isa() { return have_avx512() ? "avx512f" : "scalar"; }

}  // namespace loom::kernels::cpu
