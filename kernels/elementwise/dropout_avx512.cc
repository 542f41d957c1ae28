// kernels/elementwise/dropout_avx512.cc: see dropout_avx512.h.
#include "kernels/elementwise/dropout_avx512.h"

#include "core/error.h"
#include "kernels/common/bf16_lanes_avx512.h"

namespace loom::kernels {

#ifdef LOOM_BF16_LANES

namespace {

#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's own _mm512_set1_* (its bug 105593)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define LOOM_DROPOUT_FN __attribute__((target("avx512f,avx512bw,avx512vl")))

template <bool kBf16>
LOOM_DROPOUT_FN void span(const std::uint32_t* words, const void* x, void* y, std::int64_t len, float p,
                          float keep_prob, bool accumulate) {
  const __m512 two_to_minus_24 = _mm512_set1_ps(1.0f / 16777216.0f), pv = _mm512_set1_ps(p);
  const __m512 keep = _mm512_set1_ps(keep_prob);
  for (std::int64_t k = 0; k < len; k += 16) {
    const __mmask16 lanes = len - k >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (len - k)) - 1u);
    const __m512i w = _mm512_maskz_loadu_epi32(lanes, words + k);
    const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(w, 8)), two_to_minus_24);  // exact
    const __mmask16 kept = _mm512_cmp_ps_mask(u, pv, _CMP_GE_OQ) & lanes;
    __m512 xv, old = _mm512_setzero_ps();
    if constexpr (kBf16) {
      const auto* xs = static_cast<const std::uint16_t*>(x) + k;
      xv = cpu::widen16_from_bf16(_mm256_maskz_loadu_epi16(lanes, xs));
      if (accumulate)
        old = cpu::widen16_from_bf16(_mm256_maskz_loadu_epi16(lanes, static_cast<std::uint16_t*>(y) + k));
    } else {
      xv = _mm512_maskz_loadu_ps(lanes, static_cast<const float*>(x) + k);
      if (accumulate) old = _mm512_maskz_loadu_ps(lanes, static_cast<float*>(y) + k);
    }
    __m512 value = _mm512_maskz_div_ps(kept, xv, keep);  // dropped lanes: +0, as the scalar C(0)
    if (accumulate) value = _mm512_add_ps(value, old);  // old + value: IEEE addition commutes
    if constexpr (kBf16)
      _mm256_mask_storeu_epi16(static_cast<std::uint16_t*>(y) + k, lanes, cpu::round16_to_bf16(value));
    else
      _mm512_mask_storeu_ps(static_cast<float*>(y) + k, lanes, value);
  }
}

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

bool dropout_avx512_available() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return yes;
}

void dropout_span_avx512(const std::uint32_t* words, const void* x, void* y, std::int64_t len, float p,
                         float keep_prob, DType dtype, GradMode mode) {
  LOOM_CHECK(dropout_avx512_available(), "dropout_span_avx512: this CPU lacks AVX-512F/BW/VL");
  const bool accumulate = mode == GradMode::Accumulate;
  if (dtype == DType::BF16) return span<true>(words, x, y, len, p, keep_prob, accumulate);
  LOOM_CHECK(dtype == DType::F32, "dropout_span_avx512: F32 or BF16 only, got ", dtype_name(dtype));
  span<false>(words, x, y, len, p, keep_prob, accumulate);
}

#else  // not x86-64 GCC/Clang

bool dropout_avx512_available() { return false; }
void dropout_span_avx512(const std::uint32_t*, const void*, void*, std::int64_t, float, float, DType, GradMode) {
  LOOM_CHECK(false, "dropout_span_avx512: not built for this target");
}

#endif

}  // namespace loom::kernels
