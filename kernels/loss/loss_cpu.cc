// kernels/loss/loss_cpu.cc: the CPU reference for softmax cross-entropy and BCE-with-logits.
//
// Math (the formulas of kernels/loss/loss.h, as PyTorch defines them, reduction "mean").
// Softmax cross-entropy, row n of logits z [N, K], target y_n, class weights w (1 when absent):
//   lse_n = m_n + log sum_k exp(z_n[k] - m_n),  m_n = max_k z_n[k]   (no exp ever overflows)
//   l_n = w[y_n] (lse_n - z_n[y_n]),  loss = sum_n l_n / sum_n w[y_n]
// Backward: d lse_n / d z_n[k] = softmax(z_n)[k], so
//   dz_n[k] = dloss / sum_w * w[y_n] * (softmax(z_n)[k] - [k == y_n])
// BCE with logits, element (n, k), target t in [0, 1], positive weight p_k (1 when absent):
//   l = p_k t softplus(-z) + (1 - t) softplus(z),  loss = sum l / (N K)
//   softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|)   (never overflows)
// Backward: softplus'(z) = sigmoid(z), so
//   dz = dloss / (N K) * (-p_k t sigmoid(-z) + (1 - t) sigmoid(z))
// A target outside [0, K) is counted into *bad_targets and its row gets weight 0 (no loss, no
// gradient); the front-end validates on the host, this only keeps a bad id from reading memory.
//
// Types: logits (and BCE targets) are F32, F16 or BF16 with F32 arithmetic, or F64 with F64
// arithmetic; loss, weight_sum, dloss, class_weight and pos_weight are that arithmetic type.
//
// Parallel map and determinism: rows are independent, so threads split the rows. The forward's
// per-row terms go to an array first and are then added in row order by one thread, so the loss
// is the same bits whatever the thread count. The backward writes each row of dz independently.
//
// Memory traffic at storage size s: softmax-xent forward reads N K s + 4 N, backward reads
// N K s + 4 N and writes N K s (+ reads it when accumulating); about 4 flops and one exp per
// element each way. BCE reads 2 N K s forward and writes N K s more backward.
//
// Twin: kernels/loss/loss_cuda.cu. Tests: tests/ops/test_ops_loss.cc (values against hand
// computations and PyTorch, gradients against finite differences in F64).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/common/cpu_types.h"
#include "kernels/loss/loss.h"

namespace loom::kernels {

using cpu::store;
using cpu::with_float_type;

namespace {

template <typename C>
inline C softplus(C z) { return std::max(z, C(0)) + std::log1p(std::exp(-std::fabs(z))); }

template <typename C>
inline C sigmoid(C z) { return C(1) / (C(1) + std::exp(-z)); }

// The row maximum and sum_k exp(z[k] - max) of one row of logits.
template <typename T>
inline void row_max_and_sum(const T* z, std::int64_t K, compute_t<T>& max_out, compute_t<T>& sum_out) {
  using C = compute_t<T>;
  C m = to_float(z[0]);
  for (std::int64_t k = 1; k < K; ++k) m = std::max(m, C(to_float(z[k])));
  C s = 0;
  for (std::int64_t k = 0; k < K; ++k) s += std::exp(C(to_float(z[k])) - m);
  max_out = m;
  sum_out = s;
}

template <typename T>
void softmax_xent_fwd(const SoftmaxXentFwdArgs& a) {
  using C = compute_t<T>;
  const T* logits = static_cast<const T*>(a.logits);
  const C* class_weight = static_cast<const C*>(a.class_weight);
  std::vector<C> row_loss(static_cast<std::size_t>(a.N)), row_weight(static_cast<std::size_t>(a.N));
  std::int64_t bad = 0;
#pragma omp parallel for num_threads(loom::num_threads()) if (a.N * a.K > loom::kParallelGrain) reduction(+ : bad)
  for (std::int64_t n = 0; n < a.N; ++n) {
    const std::int32_t y = a.targets[n];
    if (y < 0 || y >= a.K) {
      ++bad;
      row_loss[n] = 0;
      row_weight[n] = 0;
      continue;
    }
    const T* z = logits + n * a.K;
    C m, s;
    row_max_and_sum(z, a.K, m, s);
    const C lse = m + std::log(s);
    const C w = class_weight != nullptr ? class_weight[y] : C(1);
    row_loss[n] = w * (lse - C(to_float(z[y])));
    row_weight[n] = w;
  }
  C loss_sum = 0, weight_sum = 0;
  for (std::int64_t n = 0; n < a.N; ++n) {  // row order: the same bits on any thread count
    loss_sum += row_loss[n];
    weight_sum += row_weight[n];
  }
  *static_cast<C*>(a.loss) = loss_sum / weight_sum;  // all weights 0: NaN, as PyTorch
  *static_cast<C*>(a.weight_sum) = weight_sum;
  if (a.bad_targets != nullptr) *a.bad_targets = static_cast<std::int32_t>(bad);
}

template <typename T>
void softmax_xent_bwd(const SoftmaxXentBwdArgs& a) {
  using C = compute_t<T>;
  const T* logits = static_cast<const T*>(a.logits);
  const C* class_weight = static_cast<const C*>(a.class_weight);
  T* dlogits = static_cast<T*>(a.dlogits);
  const C dloss_per_weight = *static_cast<const C*>(a.dloss) / *static_cast<const C*>(a.weight_sum);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.N * a.K > loom::kParallelGrain)
  for (std::int64_t n = 0; n < a.N; ++n) {
    const std::int32_t y = a.targets[n];
    const T* z = logits + n * a.K;
    T* dz = dlogits + n * a.K;
    if (y < 0 || y >= a.K) {  // weight 0: no gradient
      for (std::int64_t k = 0; k < a.K; ++k) store(dz[k], C(0), a.mode);
      continue;
    }
    C m, s;
    row_max_and_sum(z, a.K, m, s);
    const C coef = dloss_per_weight * (class_weight != nullptr ? class_weight[y] : C(1));
    for (std::int64_t k = 0; k < a.K; ++k) {
      const C p = std::exp(C(to_float(z[k])) - m) / s;
      store(dz[k], coef * (p - (k == y ? C(1) : C(0))), a.mode);
    }
  }
}

template <typename T>
void bce_logits_fwd(const BceLogitsFwdArgs& a) {
  using C = compute_t<T>;
  const T* logits = static_cast<const T*>(a.logits);
  const T* targets = static_cast<const T*>(a.targets);
  const C* pos_weight = static_cast<const C*>(a.pos_weight);
  std::vector<C> row_loss(static_cast<std::size_t>(a.N));
#pragma omp parallel for num_threads(loom::num_threads()) if (a.N * a.K > loom::kParallelGrain)
  for (std::int64_t n = 0; n < a.N; ++n) {
    C sum = 0;
    for (std::int64_t k = 0; k < a.K; ++k) {
      const C z = to_float(logits[n * a.K + k]), t = to_float(targets[n * a.K + k]);
      const C p = pos_weight != nullptr ? pos_weight[k] : C(1);
      sum += p * t * softplus(-z) + (C(1) - t) * softplus(z);
    }
    row_loss[n] = sum;
  }
  C total = 0;
  for (std::int64_t n = 0; n < a.N; ++n) total += row_loss[n];  // row order: deterministic
  *static_cast<C*>(a.loss) = total / static_cast<C>(a.N * a.K);
}

template <typename T>
void bce_logits_bwd(const BceLogitsBwdArgs& a) {
  using C = compute_t<T>;
  const T* logits = static_cast<const T*>(a.logits);
  const T* targets = static_cast<const T*>(a.targets);
  const C* pos_weight = static_cast<const C*>(a.pos_weight);
  T* dlogits = static_cast<T*>(a.dlogits);
  const C dloss_per_element = *static_cast<const C*>(a.dloss) / static_cast<C>(a.N * a.K);
  const std::int64_t count = a.N * a.K;
#pragma omp parallel for num_threads(loom::num_threads()) if (count > loom::kParallelGrain)
  for (std::int64_t i = 0; i < count; ++i) {
    const C z = to_float(logits[i]), t = to_float(targets[i]);
    const C p = pos_weight != nullptr ? pos_weight[i % a.K] : C(1);
    store(dlogits[i], dloss_per_element * (-p * t * sigmoid(-z) + (C(1) - t) * sigmoid(z)), a.mode);
  }
}

}  // namespace

void softmax_xent_fwd_cpu(const SoftmaxXentFwdArgs& a) {
  LOOM_CHECK_SHAPE(a.K > 0, "softmax_xent_fwd_cpu: need at least one class, got K = ", a.K);
  with_float_type(a.dtype, "softmax_xent_fwd_cpu", [&](auto tag) { softmax_xent_fwd<decltype(tag)>(a); });
}

void softmax_xent_bwd_cpu(const SoftmaxXentBwdArgs& a) {
  LOOM_CHECK_SHAPE(a.K > 0, "softmax_xent_bwd_cpu: need at least one class, got K = ", a.K);
  with_float_type(a.dtype, "softmax_xent_bwd_cpu", [&](auto tag) { softmax_xent_bwd<decltype(tag)>(a); });
}

void bce_logits_fwd_cpu(const BceLogitsFwdArgs& a) {
  with_float_type(a.dtype, "bce_logits_fwd_cpu", [&](auto tag) { bce_logits_fwd<decltype(tag)>(a); });
}

void bce_logits_bwd_cpu(const BceLogitsBwdArgs& a) {
  with_float_type(a.dtype, "bce_logits_bwd_cpu", [&](auto tag) { bce_logits_bwd<decltype(tag)>(a); });
}

}  // namespace loom::kernels
