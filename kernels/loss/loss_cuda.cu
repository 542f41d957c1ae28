// kernels/loss/loss_cuda.cu: softmax cross-entropy and BCE-with-logits on the GPU, deterministic.
//
// Math (kernels/loss/loss.h has the full statement):
//   softmax xent, row n, target y, class weight w (1 when absent):
//     lse_n = m_n + log sum_k exp(z[n, k] - m_n),   m_n = max_k z[n, k]   (no exp can overflow)
//     l_n = w[y_n] (lse_n - z[n, y_n]);   loss = sum_n l_n / sum_n w[y_n]
//     backward: dz[n, k] = dloss / sum_w * w[y_n] * (softmax_k - [k == y_n]),
//     because d lse / dz_k = softmax_k and the mean divides every row by the same sum_w.
//   BCE with logits, element (n, k), target t, positive weight p_k:
//     l = p_k t softplus(-z) + (1 - t) softplus(z),  softplus(z) = max(z, 0) + log1p(exp(-|z|))
//     loss = sum l / (N K);   backward: dz = dloss / (N K) * (-p_k t sigmoid(-z) + (1 - t) sigmoid(z)),
//     from softplus'(z) = sigmoid(z).
//
// Who does what:
//   softmax forward/backward: one warp per row. Lanes stride over the K classes; the row max and
//     the exp sum are fixed shuffle trees (warp_max / warp_sum), so every lane holds the same bits.
//     The forward writes l_n and w[y_n] per row into the context workspace, then ONE block adds
//     them in a fixed order into loss[0] and weight_sum[0].
//   BCE forward: a grid-stride pass with a fixed number of blocks (min(256, ceil(NK / 256))), each
//     block tree-summing its elements into one partial; then one block adds the partials.
//   Backward kernels read dloss[0] and weight_sum[0] on the device: a training step never waits for
//     the host. A target outside [0, K) counts into *bad_targets (an exact int atomic) and its row
//     contributes nothing (l = 0, w = 0, zero gradient); the op front-end reports it.
//
// Memory traffic (s = logits storage bytes): softmax forward reads N*K*s (twice from cache: max,
// then exp sum) + 4N targets; backward reads N*K*s and writes N*K*s. BCE forward reads 2*N*K*s,
// backward reads 2*N*K*s and writes N*K*s. About 4 flops + one exp per logit for softmax, two
// exp/log1p per element for BCE: memory-bound except for tiny K.
//
// Reference: kernels/loss/loss_cpu.cc. Tests: tests/ops/test_ops_loss.cc, suite "cuda".
#include <algorithm>
#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/loss/loss.h"

namespace loom::kernels {
namespace {

constexpr int kPartialBlocks = 256;  // fixed block count for BCE partial sums (device-independent)

__device__ __forceinline__ float softplus(float z) { return fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z))); }
__device__ __forceinline__ float sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

// The row's max and exp sum, identical in every lane.
template <class T>
__device__ __forceinline__ void row_max_and_sum(const T* row, std::int64_t K, int lane, float& m, float& s) {
  m = -INFINITY;
  for (std::int64_t k = lane; k < K; k += 32) m = fmaxf(m, load_f32(row, k));
  m = warp_max(m);
  s = 0.0f;
  for (std::int64_t k = lane; k < K; k += 32) s += expf(load_f32(row, k) - m);
  s = warp_sum(s);
}

}  // namespace

template <class T>
static __global__ void loss_softmax_xent_rows_kernel(std::int64_t N, std::int64_t K, const T* logits,
                                                     const std::int32_t* targets, const float* class_weight,
                                                     float* row_loss, float* row_weight, std::int32_t* bad_targets) {
  const int lane = threadIdx.x & 31;
  const std::int64_t warps_per_grid = grid_stride() / 32;
  for (std::int64_t n = grid_start() / 32; n < N; n += warps_per_grid) {
    const T* row = logits + n * K;
    float m, s;
    row_max_and_sum(row, K, lane, m, s);
    if (lane == 0) {
      const std::int32_t y = targets[n];
      float l = 0.0f, w = 0.0f;
      if (y < 0 || y >= K) {
        if (bad_targets) atomicAdd(bad_targets, 1);
      } else {
        w = class_weight ? class_weight[y] : 1.0f;
        l = w * (m + logf(s) - load_f32(row, y));
      }
      row_loss[n] = l;
      row_weight[n] = w;
    }
  }
}

// One block: loss[0] = sum(values) / (weights ? sum(weights) : divisor), each sum in a fixed order.
static __global__ void loss_finish_kernel(std::int64_t count, const float* values, const float* weights,
                                          float divisor, float* loss, float* weight_sum) {
  float v = 0.0f, w = 0.0f;
  for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x) {
    v += values[i];
    if (weights) w += weights[i];
  }
  v = block_sum(v);
  w = block_sum(w);
  if (threadIdx.x != 0) return;
  if (weights) {
    loss[0] = v / w;
    if (weight_sum) weight_sum[0] = w;
  } else {
    loss[0] = v / divisor;
  }
}

template <class T>
static __global__ void loss_softmax_xent_bwd_kernel(std::int64_t N, std::int64_t K, const T* logits,
                                                    const std::int32_t* targets, const float* class_weight,
                                                    const float* weight_sum, const float* dloss, T* dlogits,
                                                    GradMode mode) {
  const int lane = threadIdx.x & 31;
  const std::int64_t warps_per_grid = grid_stride() / 32;
  const float g = dloss[0] / weight_sum[0];
  for (std::int64_t n = grid_start() / 32; n < N; n += warps_per_grid) {
    const T* row = logits + n * K;
    float m, s;
    row_max_and_sum(row, K, lane, m, s);
    const std::int32_t y = targets[n];
    const bool valid = y >= 0 && y < K;
    const float coef = valid ? g * (class_weight ? class_weight[y] : 1.0f) : 0.0f;
    for (std::int64_t k = lane; k < K; k += 32) {
      const float p = expf(load_f32(row, k) - m) / s;
      store_grad(dlogits, n * K + k, coef * (p - (k == y ? 1.0f : 0.0f)), mode);
    }
  }
}

template <class T>
static __global__ void loss_bce_partial_kernel(std::int64_t total, std::int64_t K, const T* logits, const T* targets,
                                               const float* pos_weight, float* partial) {
  float acc = 0.0f;
  for (std::int64_t i = grid_start(); i < total; i += grid_stride()) {
    const float z = load_f32(logits, i), t = load_f32(targets, i);
    const float p = pos_weight ? pos_weight[i % K] : 1.0f;
    acc += p * t * softplus(-z) + (1.0f - t) * softplus(z);
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

template <class T>
static __global__ void loss_bce_bwd_kernel(std::int64_t total, std::int64_t K, float count, const T* logits,
                                           const T* targets, const float* pos_weight, const float* dloss, T* dlogits,
                                           GradMode mode) {
  const float g = dloss[0] / count;
  for (std::int64_t i = grid_start(); i < total; i += grid_stride()) {
    const float z = load_f32(logits, i), t = load_f32(targets, i);
    const float p = pos_weight ? pos_weight[i % K] : 1.0f;
    store_grad(dlogits, i, g * (-p * t * sigmoid(-z) + (1.0f - t) * sigmoid(z)), mode);
  }
}

// ---- launchers -----------------------------------------------------------------------------------

void softmax_xent_fwd_cuda(const SoftmaxXentFwdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK_SHAPE(a.K > 0, "softmax_xent_fwd_cuda: need at least one class, got K = ", a.K);
  const cudaStream_t stream = ctx.stream();
  dispatch_float_dtype(a.dtype, "softmax_xent_fwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a.bad_targets) LOOM_CUDA_CHECK(cudaMemsetAsync(a.bad_targets, 0, sizeof(std::int32_t), stream));
    // Row losses and weights side by side in one workspace call (a second call could move the first).
    auto* row_loss = static_cast<float*>(ctx.workspace(2 * static_cast<std::size_t>(a.N) * sizeof(float)));
    float* row_weight = row_loss + a.N;
    if (a.N > 0) {
      launch<loss_softmax_xent_rows_kernel<T>>(blocks_for(a.N * 32), kBlock, stream,
          a.N, a.K, static_cast<const T*>(a.logits), a.targets, static_cast<const float*>(a.class_weight), row_loss,
          row_weight, a.bad_targets);
      LOOM_CUDA_CHECK_LAUNCH();
    }
    // N == 0 gives 0 / 0 = NaN, as PyTorch's mean over an empty batch.
    launch<loss_finish_kernel>(1, kBlock, stream, a.N, row_loss, row_weight, 0.0f, static_cast<float*>(a.loss),
                               static_cast<float*>(a.weight_sum));
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void softmax_xent_bwd_cuda(const SoftmaxXentBwdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK_SHAPE(a.K > 0, "softmax_xent_bwd_cuda: need at least one class, got K = ", a.K);
  if (a.N == 0) return;
  dispatch_float_dtype(a.dtype, "softmax_xent_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<loss_softmax_xent_bwd_kernel<T>>(blocks_for(a.N * 32), kBlock, ctx.stream(),
        a.N, a.K, static_cast<const T*>(a.logits), a.targets, static_cast<const float*>(a.class_weight),
        static_cast<const float*>(a.weight_sum), static_cast<const float*>(a.dloss), static_cast<T*>(a.dlogits),
        a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void bce_logits_fwd_cuda(const BceLogitsFwdArgs& a, const CudaContext& ctx) {
  const cudaStream_t stream = ctx.stream();
  dispatch_float_dtype(a.dtype, "bce_logits_fwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const std::int64_t total = a.N * a.K;
    const int blocks = static_cast<int>(std::min<std::int64_t>(kPartialBlocks, (total + kBlock - 1) / kBlock));
    auto* partial = static_cast<float*>(ctx.workspace(kPartialBlocks * sizeof(float)));
    if (blocks > 0) {
      launch<loss_bce_partial_kernel<T>>(blocks, kBlock, stream, total, a.K, static_cast<const T*>(a.logits),
                                         static_cast<const T*>(a.targets),
                                         static_cast<const float*>(a.pos_weight), partial);
      LOOM_CUDA_CHECK_LAUNCH();
    }
    // total == 0 gives 0 / 0 = NaN, as PyTorch's mean over nothing.
    launch<loss_finish_kernel>(1, kBlock, stream, blocks, partial, nullptr, static_cast<float>(total),
                               static_cast<float*>(a.loss), nullptr);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void bce_logits_bwd_cuda(const BceLogitsBwdArgs& a, const CudaContext& ctx) {
  const std::int64_t total = a.N * a.K;
  if (total == 0) return;
  dispatch_float_dtype(a.dtype, "bce_logits_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<loss_bce_bwd_kernel<T>>(blocks_for(total), kBlock, ctx.stream(),
        total, a.K, static_cast<float>(total), static_cast<const T*>(a.logits), static_cast<const T*>(a.targets),
        static_cast<const float*>(a.pos_weight), static_cast<const float*>(a.dloss), static_cast<T*>(a.dlogits),
        a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace loom::kernels
