// kernels/optim/optim_cpu.cc: the CPU reference for fused SGD and AdamW updates.
//
// Math (PyTorch's torch.optim.SGD with dampening 0, and torch.optim.AdamW), with s the optional
// gradient scale (clip-by-global-norm and loss-scale removal applied as the gradient is read):
//   SGD:   g = grad s + wd w
//          buf = (step == 1) ? g : momentum buf + g          (only when momentum != 0)
//          w -= lr * (nesterov ? g + momentum buf : buf)      (w -= lr g when momentum == 0)
//   AdamW: w *= 1 - lr wd                                     (decoupled weight decay, first)
//          g = grad s;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//          bc1 = 1 - b1^step,  bc2 = 1 - b2^step              (in double: b^step for large
//                                                              step underflows gracefully)
//          w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
// The last line is PyTorch's exact form (step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps),
// not the algebraically equal textbook m_hat / (sqrt(v_hat) + eps): the rounding then matches.
// The per-step scalars (bc1, bc2, lr / bc1, sqrt(bc2), 1 - lr wd) are computed once in double,
// as PyTorch does in Python, and rounded to F32 for the per-element F32 arithmetic.
// There is no backward: an optimizer step is the end of the tape.
//
// Parallel map: element i of w, m, v depends only on element i, so threads split the range.
//
// Memory traffic per element (all F32): SGD reads w, g (+ buf) and writes w (+ buf): 12 bytes,
// 20 with momentum. AdamW reads w, g, m, v and writes w, m, v: 28 bytes (32 with the fused
// zero_grad, which also writes g), and about 15 flops (counted in adamw_cost), so it is
// bandwidth-bound on every machine.
//
// AVX-512 (measured on this project's 2-core AVX512_BF16 VM, 2.69 M elements, the trainer's
// embedding table): GCC's baseline build vectorizes the loop 4 lanes wide, and the two divisions
// and the square root of each element then cost more than the memory traffic (15 ms per step on
// one thread, against 3.3 ms for the 16-lane loop below). So where the CPU has AVX-512F the
// update runs a hand-written 16-lane loop. Same bits as the baseline loop: every operation is an
// IEEE single-precision multiply, add, subtract, divide or square root, each correctly rounded
// whatever the vector width, in the same order; the clone is compiled with fp-contract off so GCC
// cannot fuse a multiply and an add into an FMA (which rounds once instead of twice). A test
// (tests/ops/test_ops_optim.cc) compares its bits with a plain scalar loop, tails included.
//
// Twin: kernels/optim/optim_cuda.cu. Tests: tests/ops/test_ops_optim.cc (several steps against
// hand computations and PyTorch's optimizers).
#include <algorithm>
#include <cmath>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LOOM_OPTIM_X86 1
#else
#define LOOM_OPTIM_X86 0
#endif

#include <omp.h>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/optim/optim.h"

namespace loom::kernels {

Cost adamw_cost(const AdamWArgs& a) {
  // Flops per element: decay 1, scale 1, m 3, v 4, denominator 3 (sqrt, divide, add),
  // update 3 (multiply, divide, subtract).
  const double n = static_cast<double>(a.n);
  Cost c;
  c.flops = 15.0 * n;
  c.bytes = 28.0 * n;  // 4 arrays read, 3 written, 4 bytes each
  if (a.grad_to_zero != nullptr) c.bytes += 4.0 * n;  // the fused zero_grad writes the gradient too
  return c;
}

void sgd_step_cpu(const SgdArgs& a) {
  const float s = a.grad_scale != nullptr ? *a.grad_scale : 1.0f;
  const bool use_momentum = a.momentum != 0.0f;
  const bool first_step = a.step == 1;
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  for (std::int64_t i = 0; i < a.n; ++i) {
    const float g = a.grad[i] * s + a.weight_decay * a.param[i];
    float direction = g;
    if (use_momentum) {
      const float buf = first_step ? g : a.momentum * a.momentum_buf[i] + g;
      a.momentum_buf[i] = buf;
      direction = a.nesterov == Nesterov::On ? g + a.momentum * buf : buf;
    }
    a.param[i] -= a.lr * direction;
  }
}

namespace {

// The AdamW constants of one step, computed once per call (F64 where PyTorch computes them in
// Python floats, then rounded to F32 as the kernel uses them).
struct AdamWStepConstants {
  float step_size, bias_correction2_sqrt, decay, one_minus_beta1, one_minus_beta2, scale;
};

// One loop for both variants: kZeroGrad is a template argument, so each instantiation carries no
// per-element branch and both vectorize (GCC -O3: the same per-element operations in the same
// order, no FMA contraction since the build passes neither -ffp-contract=fast nor -march flags
// that enable it here).
// One element of the update; the AVX-512 loop below is this, 16 lanes at a time.
template <bool kZeroGrad>
inline void adamw_element(const AdamWArgs& a, const AdamWStepConstants& k, std::int64_t i) {
  const float w = a.param[i] * k.decay;
  const float g = a.grad[i] * k.scale;
  if constexpr (kZeroGrad) a.grad_to_zero[i] = 0.0f;  // fused zero_grad: the element has been read
  const float m = a.beta1 * a.m[i] + k.one_minus_beta1 * g;
  const float v = a.beta2 * a.v[i] + k.one_minus_beta2 * g * g;
  a.m[i] = m;
  a.v[i] = v;
  const float denom = std::sqrt(v) / k.bias_correction2_sqrt + a.eps;
  a.param[i] = w - k.step_size * m / denom;
}

template <bool kZeroGrad>
void adamw_loop(const AdamWArgs& a, const AdamWStepConstants& k) {
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  for (std::int64_t i = 0; i < a.n; ++i) adamw_element<kZeroGrad>(a, k, i);
}

#if LOOM_OPTIM_X86
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own _mm512_setzero_ps (its bug 105593)
#endif
// Elements [begin, end): 16 at a time, then the tail one by one. Each intrinsic is one correctly
// rounded IEEE operation, in adamw_element's order (the products and sums grouped as written there).
template <bool kZeroGrad>
__attribute__((target("avx512f"), optimize("fp-contract=off"))) void adamw_range_avx512(
    const AdamWArgs& a, const AdamWStepConstants& k, std::int64_t begin, std::int64_t end) {
  const __m512 decay = _mm512_set1_ps(k.decay), scale = _mm512_set1_ps(k.scale);
  const __m512 beta1 = _mm512_set1_ps(a.beta1), beta2 = _mm512_set1_ps(a.beta2);
  const __m512 one_minus_beta1 = _mm512_set1_ps(k.one_minus_beta1), one_minus_beta2 = _mm512_set1_ps(k.one_minus_beta2);
  const __m512 bc2_sqrt = _mm512_set1_ps(k.bias_correction2_sqrt), eps = _mm512_set1_ps(a.eps);
  const __m512 step_size = _mm512_set1_ps(k.step_size);
  // Local copies: stores through float* could alias the args struct, so the compiler reloaded
  // every pointer from it on every iteration.
  float* const param = a.param;
  const float* const grad = a.grad;
  float* const m_arr = a.m;
  float* const v_arr = a.v;
  float* const to_zero = a.grad_to_zero;
  std::int64_t i = begin;
  for (; i + 16 <= end; i += 16) {
    const __m512 w = _mm512_mul_ps(_mm512_loadu_ps(param + i), decay);
    const __m512 g_raw = _mm512_loadu_ps(grad + i);
    const __m512 g = _mm512_mul_ps(g_raw, scale);
    // The fused zero_grad writes only where some bit is set: an embedding's gradient is +0 in
    // most rows, and leaving those cache lines clean spares writing them back to memory.
    if constexpr (kZeroGrad)
      if (_mm512_test_epi32_mask(_mm512_castps_si512(g_raw), _mm512_castps_si512(g_raw)) != 0)
        _mm512_storeu_ps(to_zero + i, _mm512_setzero_ps());
    const __m512 m = _mm512_add_ps(_mm512_mul_ps(beta1, _mm512_loadu_ps(m_arr + i)), _mm512_mul_ps(one_minus_beta1, g));
    const __m512 v = _mm512_add_ps(_mm512_mul_ps(beta2, _mm512_loadu_ps(v_arr + i)),
                                   _mm512_mul_ps(_mm512_mul_ps(one_minus_beta2, g), g));  // (k2 g) g, as written
    _mm512_storeu_ps(m_arr + i, m);
    _mm512_storeu_ps(v_arr + i, v);
    const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(v), bc2_sqrt), eps);
    _mm512_storeu_ps(param + i, _mm512_sub_ps(w, _mm512_div_ps(_mm512_mul_ps(step_size, m), denom)));
  }
  for (; i < end; ++i) adamw_element<kZeroGrad>(a, k, i);
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

bool adamw_use_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

// Threads take contiguous blocks whose starts are multiples of 16 elements, so only the last
// block has a scalar tail and each thread streams its own part of the four arrays.
template <bool kZeroGrad>
void adamw_loop_avx512(const AdamWArgs& a, const AdamWStepConstants& k) {
  const std::int64_t blocks = (a.n + 15) / 16;
#pragma omp parallel num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const std::int64_t begin = std::min(a.n, blocks * t / nt * 16), end = std::min(a.n, blocks * (t + 1) / nt * 16);
    adamw_range_avx512<kZeroGrad>(a, k, begin, end);
  }
}
#endif

template <bool kZeroGrad>
void adamw_run(const AdamWArgs& a, const AdamWStepConstants& k) {
#if LOOM_OPTIM_X86
  if (adamw_use_avx512()) return adamw_loop_avx512<kZeroGrad>(a, k);
#endif
  adamw_loop<kZeroGrad>(a, k);
}

}  // namespace

const char* adamw_cpu_isa() {
#if LOOM_OPTIM_X86
  if (adamw_use_avx512()) return "avx512f";
#endif
  return "baseline";
}

void adamw_step_cpu(const AdamWArgs& a) {
  const double step = static_cast<double>(a.step);
  const double bias_correction1 = 1.0 - std::pow(static_cast<double>(a.beta1), step);
  const double bias_correction2 = 1.0 - std::pow(static_cast<double>(a.beta2), step);
  AdamWStepConstants k;
  k.step_size = static_cast<float>(static_cast<double>(a.lr) / bias_correction1);
  k.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  k.decay = static_cast<float>(1.0 - static_cast<double>(a.lr) * static_cast<double>(a.weight_decay));
  k.one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(a.beta1));
  k.one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(a.beta2));
  k.scale = a.grad_scale != nullptr ? *a.grad_scale : 1.0f;
  if (a.grad_to_zero == nullptr) return adamw_run<false>(a, k);
  LOOM_CHECK(a.grad_to_zero == a.grad, "adamw_step_cpu: grad_to_zero must be the gradient buffer itself");
  adamw_run<true>(a, k);
}

}  // namespace loom::kernels
