// kernels/common/bf16_cpu.cc: the buffer-wide F32 <-> bf16 conversions of bf16_cpu.h. Why they
// exist and what bits they give: the header.
#include "kernels/common/bf16_cpu.h"

#include "core/dtype.h"
#include "core/parallel.h"

#include "kernels/common/bf16_lanes_avx512.h"
#ifdef LOOM_BF16_LANES
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

// The 16-lane conversions of bf16_lanes_avx512.h over a buffer; the tail runs core/dtype.h's
// scalar functions, which give the same bits.
__attribute__((target("avx512f"))) void round_avx512(const float* src, int64_t n, std::uint16_t* dst,
                                                     std::uint16_t* dst2) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256i packed = round16_to_bf16(_mm512_loadu_ps(src + j));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), packed);
    if (dst2 != nullptr) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst2 + j), packed);
  }
  for (; j < n; ++j) {
    dst[j] = float_to_bf16_bits(src[j]);
    if (dst2 != nullptr) dst2[j] = dst[j];
  }
}

__attribute__((target("avx512f"))) void widen_avx512(const std::uint16_t* src, int64_t n, float* dst) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm512_storeu_ps(dst + j, widen16_from_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j))));
  for (; j < n; ++j) dst[j] = bf16_bits_to_float(src[j]);
}
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
