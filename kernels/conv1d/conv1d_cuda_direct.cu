// kernels/conv1d/conv1d_cuda_direct.cu: 1-D convolution over time, variant v1 (direct): one thread
// per output element, the formula written as loops. The teaching baseline the implicit GEMM (v2,
// conv1d_cuda_igemm.cu) is measured against.
//
// Math (x [T, B, C], weight [F, K, C], y [T', B, F], s_k = k*dil - pad_left; x outside [0, T) is 0):
//   forward     y[t', b, f] = bias[f] + sum_k sum_c weight[f, k, c] x[t' + s_k, b, c]
//   back data   dx[t, b, c] (+)= sum_k sum_f dy[t - s_k, b, f] weight[f, k, c]   (0 <= t - s_k < T')
//     (y depends on x[t] through every (t', k) with t' + s_k = t, so dx gathers those dy rows)
//   back weight dweight[f, k, c] (+)= sum_t' sum_b dy[t', b, f] x[t' + s_k, b, c]
//   back bias   dbias[f] (+)= sum_t' sum_b dy[t', b, f]
//
// Who does what (every sum is one thread's F32 loop in a fixed order: deterministic, no atomics):
//   forward      thread per y[t', b, f] (f fastest, so a warp writes 32 consecutive outputs and
//                reads the same x row, a broadcast): loops k, then c.
//   back data    thread per dx[t, b, c] (c fastest): loops k, then f; reads dy[t - s_k, b, :]
//                (broadcast) and weight[:, k, c] (consecutive c: coalesced).
//   back weight  thread per dweight[f, k, c] (c fastest): loops t', then b, reading dy (broadcast)
//                and x rows (coalesced).
//   back bias    reduce_sum_cuda column sums of dy (the same call v2 makes).
// Nothing is reused through shared memory: each weight element is re-read by every output that uses
// it (T'*B times) and each x element by F*K outputs, so v1 moves ~2*T'*B*F*K*C*s bytes through the
// caches for 2*T'*B*F*K*C flops, about 1 flop per byte: far below a GPU's ridge, which is the point of
// the comparison with v2 (tiles reuse each loaded element 64 times). Minimum traffic and flops are
// the same as v2 (conv1d_fwd_cost / conv1d_bwd_cost).
//
// Reference: kernels/conv1d/conv1d_reference.cc (the same loops on the CPU, one output at a time).
// Tests: tests/kernels/test_conv1d_cuda.cc. Bench: bench/bench_conv1d.cc. Tutorial: kernels/conv1d/README.md.
#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/conv1d/conv1d_cuda_internal.h"

namespace loom::kernels {
namespace {

struct Geo {
  std::int64_t T, B, C, F, K, dil, pad_left, To;
};

Geo geo(const Conv1dGeometry& g) { return {g.T, g.B, g.C, g.F, g.K, g.dilation, g.pad_left, g.out_T()}; }

}  // namespace

template <class T>
static __global__ void conv1d_direct_fwd_kernel(Geo g, const T* __restrict__ x, const T* __restrict__ weight,
                                                const T* __restrict__ bias, T* __restrict__ y) {
  const std::int64_t n = g.To * g.B * g.F;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t f = i % g.F, b = (i / g.F) % g.B, to = i / (g.F * g.B);
    float acc = bias ? load_f32(bias, f) : 0.0f;
    for (std::int64_t k = 0; k < g.K; ++k) {
      const std::int64_t t = to + k * g.dil - g.pad_left;
      if (t < 0 || t >= g.T) continue;
      const T* xr = x + (t * g.B + b) * g.C;
      const T* wr = weight + (f * g.K + k) * g.C;
      for (std::int64_t c = 0; c < g.C; ++c) acc = fmaf(load_f32(wr, c), load_f32(xr, c), acc);
    }
    store_from_f32(y, i, acc);
  }
}

template <class T>
static __global__ void conv1d_direct_bwd_data_kernel(Geo g, const T* __restrict__ dy, const T* __restrict__ weight,
                                                     T* __restrict__ dx, GradMode mode) {
  const std::int64_t n = g.T * g.B * g.C;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t c = i % g.C, b = (i / g.C) % g.B, t = i / (g.C * g.B);
    float acc = 0.0f;
    for (std::int64_t k = 0; k < g.K; ++k) {
      const std::int64_t to = t - k * g.dil + g.pad_left;
      if (to < 0 || to >= g.To) continue;
      const T* dyr = dy + (to * g.B + b) * g.F;
      for (std::int64_t f = 0; f < g.F; ++f) acc = fmaf(load_f32(dyr, f), load_f32(weight, (f * g.K + k) * g.C + c), acc);
    }
    store_grad(dx, i, acc, mode);
  }
}

template <class T>
static __global__ void conv1d_direct_bwd_weight_kernel(Geo g, const T* __restrict__ x, const T* __restrict__ dy,
                                                       T* __restrict__ dweight, GradMode mode) {
  const std::int64_t n = g.F * g.K * g.C;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t c = i % g.C, k = (i / g.C) % g.K, f = i / (g.C * g.K);
    // Only t' with 0 <= t' + s_k < T read real x; the others read padding (zero).
    const std::int64_t s = k * g.dil - g.pad_left;
    const std::int64_t lo = s < 0 ? -s : 0, hi = g.To < g.T - s ? g.To : g.T - s;
    float acc = 0.0f;
    for (std::int64_t to = lo; to < hi; ++to) {
      const T* dyr = dy + to * g.B * g.F + f;
      const T* xr = x + (to + s) * g.B * g.C + c;
      for (std::int64_t b = 0; b < g.B; ++b) acc = fmaf(load_f32(dyr, b * g.F), load_f32(xr, b * g.C), acc);
    }
    store_grad(dweight, i, acc, mode);
  }
}

namespace detail {

void conv1d_fwd_direct_launch(const Conv1dFwdArgs& a, const CudaContext& ctx) {
  const Geo g = geo(a.g);
  dispatch_float_dtype(a.dtype, "conv1d_fwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<conv1d_direct_fwd_kernel<T>>(blocks_for(g.To * g.B * g.F), kBlock, ctx.stream(),
        g, static_cast<const T*>(a.x), static_cast<const T*>(a.weight), static_cast<const T*>(a.bias),
        static_cast<T*>(a.y));
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void conv1d_bwd_direct_launch(const Conv1dBwdArgs& a, const CudaContext& ctx) {
  const Geo g = geo(a.g);
  dispatch_float_dtype(a.dtype, "conv1d_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* dy = static_cast<const T*>(a.dy);
    if (a.dx && g.T * g.B * g.C > 0) {
      launch<conv1d_direct_bwd_data_kernel<T>>(blocks_for(g.T * g.B * g.C), kBlock, ctx.stream(),
          g, dy, static_cast<const T*>(a.weight), static_cast<T*>(a.dx), a.input_mode);
      LOOM_CUDA_CHECK_LAUNCH();
    }
    if (a.dweight && g.F * g.K * g.C > 0) {
      launch<conv1d_direct_bwd_weight_kernel<T>>(blocks_for(g.F * g.K * g.C), kBlock, ctx.stream(),
          g, static_cast<const T*>(a.x), dy, static_cast<T*>(a.dweight), a.param_mode);
      LOOM_CUDA_CHECK_LAUNCH();
    }
  });
  if (a.dbias && g.F > 0) detail::conv1d_bias_grad_cuda(a.dtype, g.To * g.B, g.F, a.dy, a.dbias, a.param_mode, ctx);
}

}  // namespace detail
}  // namespace loom::kernels
