// kernels/pool/pool_cuda.cu: pooling over time with per-row lengths on the GPU: MaxPool1d (kernel
// k, stride s, floor mode) and the global max / mean over each row's valid prefix.
//
// Math (kernels/pool/pool.h; x [T, B, C] time-major, len_b = lengths[b] or T):
//   maxpool  T_out = (T - k) / s + 1 windows, window w covers t in [w*s, w*s + k); row b has
//            out_len_b = len_b >= k ? (len_b - k) / s + 1 : 0 valid windows.
//            y[w, b, c] = max_t x[t, b, c], argmax = first t attaining it (w < out_len_b); else 0, -1.
//            backward: dx[t, b, c] (+)= sum over windows w containing t, in increasing w, of
//            dy[w, b, c] * [argmax[w, b, c] = t]  (windows overlap when s < k)
//   global   max:  y[b, c] = max_{t < len_b} x[t, b, c], argmax = first t;   0 and -1 if len_b = 0
//            mean: y[b, c] = (1 / len_b) sum_{t < len_b} x[t, b, c];         0 if len_b = 0
//            backward: max  dx[t, b, c] (+)= dy[b, c] * [t = argmax[b, c]]
//                      mean dx[t, b, c] (+)= dy[b, c] (1 / len_b) [t < len_b]
//   A NaN wins a max (the first one), as in torch.max and the CPU reference.
// Comparisons and sums in F32 on the storage values, so the maxima (and their ties) are exactly
// those the CPU reference finds.
//
// Who does what: one thread per OUTPUT element everywhere, c fastest (a warp reads and writes 32
// consecutive channels of one (t, b) row: coalesced), in grid-stride loops.
//   maxpool fwd   thread per y[w, b, c] scans its k inputs.
//   maxpool bwd   thread per dx[t, b, c] GATHERS: it visits the at most ceil(k / s) windows that
//                 contain t, in window order, and adds dy where that window chose t. Each sum has one
//                 owner, so there are no atomics and the order is fixed: deterministic. Positions no
//                 window chose get 0 (Overwrite) or are left as they were (Accumulate adds 0).
//   global fwd    thread per (b, c) walks t < len_b in order (F32 sum or running max).
//   global bwd    thread per dx[t, b, c]: one compare or one multiply.
//   out_lengths   one thread per row.
// Traffic (s = storage bytes): maxpool fwd reads T_out*k*B*C*s (each x once when s >= k) and writes
// T_out*B*C*(s + 4); bwd reads dy and argmax once per window containing each t, writes T*B*C*s;
// global fwd reads T*B*C*s, writes B*C*(s + 4); bwd writes T*B*C*s. About one flop per element
// read: all memory-bound (maxpool1d_fwd_cost, global_pool_fwd_cost).
//
// Reference: kernels/pool/pool_cpu.cc. Tests: tests/kernels/test_pool_cuda.cc (suite "cuda").
// Tutorial: kernels/conv1d/README.md (the text-CNN block pools over time).
#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/pool/pool.h"

namespace loom::kernels {
namespace {

__device__ __forceinline__ std::int64_t row_length(const std::int32_t* lengths, std::int64_t b, std::int64_t T) {
  if (!lengths) return T;
  const std::int64_t len = lengths[b];
  return len < 0 ? 0 : (len > T ? T : len);
}

// Does v replace the running max? Larger wins, ties keep the first, and the first NaN wins and
// stays (torch.max semantics, the same rule as the CPU reference), so a NaN reaches the loss.
__device__ __forceinline__ bool beats(float v, float best) { return v > best || (v != v && best == best); }

// maxpool1d_out_length of the header, on the device.
__device__ __forceinline__ std::int64_t windows_of(std::int64_t len, std::int64_t k, std::int64_t s) {
  return len >= k ? (len - k) / s + 1 : 0;
}

}  // namespace

template <class T>
static __global__ void pool_maxpool_fwd_kernel(MaxPool1dFwdArgs a, std::int64_t T_out) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  const std::int64_t n = T_out * a.B * a.C;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t c = i % a.C, b = (i / a.C) % a.B, w = i / (a.C * a.B);
    float best = 0.0f;
    std::int32_t arg = -1;
    if (w < windows_of(row_length(a.lengths, b, a.T), a.kernel, a.stride)) {
      const std::int64_t t0 = w * a.stride;
      best = load_f32(x, (t0 * a.B + b) * a.C + c);
      arg = static_cast<std::int32_t>(t0);
      for (std::int64_t t = t0 + 1; t < t0 + a.kernel; ++t) {
        const float v = load_f32(x, (t * a.B + b) * a.C + c);
        if (beats(v, best)) {
          best = v;
          arg = static_cast<std::int32_t>(t);
        }
      }
    }
    store_from_f32(y, i, best);
    a.argmax[i] = arg;
  }
}

static __global__ void pool_out_lengths_kernel(std::int64_t B, std::int64_t T, std::int64_t k, std::int64_t s,
                                               const std::int32_t* lengths, std::int32_t* out_lengths) {
  for (std::int64_t b = grid_start(); b < B; b += grid_stride())
    out_lengths[b] = static_cast<std::int32_t>(windows_of(row_length(lengths, b, T), k, s));
}

template <class T>
static __global__ void pool_maxpool_bwd_kernel(MaxPool1dBwdArgs a, std::int64_t T_out) {
  const T* dy = static_cast<const T*>(a.dy);
  T* dx = static_cast<T*>(a.dx);
  const std::int64_t n = a.T * a.B * a.C;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t bc = i % (a.B * a.C), t = i / (a.B * a.C);
    // Windows containing t: w*s <= t < w*s + k, i.e. ceil((t - k + 1) / s) <= w <= floor(t / s).
    const std::int64_t lo_num = t - a.kernel + 1;
    const std::int64_t w_lo = lo_num <= 0 ? 0 : (lo_num + a.stride - 1) / a.stride;
    const std::int64_t w_hi = t / a.stride < T_out - 1 ? t / a.stride : T_out - 1;
    float acc = 0.0f;
    for (std::int64_t w = w_lo; w <= w_hi; ++w) {
      const std::int64_t j = w * a.B * a.C + bc;
      if (a.argmax[j] == t) acc += load_f32(dy, j);
    }
    store_grad(dx, i, acc, a.mode);
  }
}

template <class T>
static __global__ void pool_global_fwd_kernel(GlobalPoolFwdArgs a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  const std::int64_t n = a.B * a.C;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t b = i / a.C;
    const std::int64_t len = row_length(a.lengths, b, a.T);
    if (a.op == TimeReduce::Mean) {
      float sum = 0.0f;
      for (std::int64_t t = 0; t < len; ++t) sum += load_f32(x, t * n + i);
      store_from_f32(y, i, len > 0 ? sum * (1.0f / static_cast<float>(len)) : 0.0f);
      continue;
    }
    float best = 0.0f;
    std::int32_t arg = -1;
    if (len > 0) {
      best = load_f32(x, i);
      arg = 0;
      for (std::int64_t t = 1; t < len; ++t) {
        const float v = load_f32(x, t * n + i);
        if (beats(v, best)) {
          best = v;
          arg = static_cast<std::int32_t>(t);
        }
      }
    }
    store_from_f32(y, i, best);
    if (a.argmax) a.argmax[i] = arg;
  }
}

template <class T>
static __global__ void pool_global_bwd_kernel(GlobalPoolBwdArgs a) {
  const T* dy = static_cast<const T*>(a.dy);
  T* dx = static_cast<T*>(a.dx);
  const std::int64_t bc_n = a.B * a.C, n = a.T * bc_n;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t bc = i % bc_n, t = i / bc_n;
    float v = 0.0f;
    if (a.op == TimeReduce::Max) {
      if (a.argmax[bc] == t) v = load_f32(dy, bc);
    } else {
      const std::int64_t len = row_length(a.lengths, bc / a.C, a.T);
      if (t < len) v = load_f32(dy, bc) * (1.0f / static_cast<float>(len));
    }
    store_grad(dx, i, v, a.mode);
  }
}

// ---- launchers -----------------------------------------------------------------------------------

void maxpool1d_fwd_cuda(const MaxPool1dFwdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK_SHAPE(a.kernel >= 1 && a.stride >= 1, "maxpool1d_fwd_cuda: kernel and stride must be >= 1 (got ",
                   a.kernel, ", ", a.stride, ")");
  const std::int64_t T_out = maxpool1d_out_T(a.T, a.kernel, a.stride);
  dispatch_float_dtype(a.dtype, "maxpool1d_fwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (T_out * a.B * a.C > 0) {
      launch<pool_maxpool_fwd_kernel<T>>(blocks_for(T_out * a.B * a.C), kBlock, ctx.stream(), a, T_out);
      LOOM_CUDA_CHECK_LAUNCH();
    }
  });
  if (a.out_lengths && a.B > 0) {
    launch<pool_out_lengths_kernel>(blocks_for(a.B), kBlock, ctx.stream(), a.B, a.T, a.kernel, a.stride, a.lengths,
                                    a.out_lengths);
    LOOM_CUDA_CHECK_LAUNCH();
  }
}

void maxpool1d_bwd_cuda(const MaxPool1dBwdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK_SHAPE(a.kernel >= 1 && a.stride >= 1, "maxpool1d_bwd_cuda: kernel and stride must be >= 1 (got ",
                   a.kernel, ", ", a.stride, ")");
  const std::int64_t T_out = maxpool1d_out_T(a.T, a.kernel, a.stride);
  dispatch_float_dtype(a.dtype, "maxpool1d_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a.T * a.B * a.C == 0) return;
    launch<pool_maxpool_bwd_kernel<T>>(blocks_for(a.T * a.B * a.C), kBlock, ctx.stream(), a, T_out);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void global_pool_fwd_cuda(const GlobalPoolFwdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK_SHAPE(a.op == TimeReduce::Mean || a.argmax, "global_pool_fwd_cuda: max pooling needs an argmax buffer");
  dispatch_float_dtype(a.dtype, "global_pool_fwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a.B * a.C == 0) return;
    launch<pool_global_fwd_kernel<T>>(blocks_for(a.B * a.C), kBlock, ctx.stream(), a);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void global_pool_bwd_cuda(const GlobalPoolBwdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK_SHAPE(a.op == TimeReduce::Mean || a.argmax, "global_pool_bwd_cuda: max pooling needs the argmax");
  dispatch_float_dtype(a.dtype, "global_pool_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a.T * a.B * a.C == 0) return;
    launch<pool_global_bwd_kernel<T>>(blocks_for(a.T * a.B * a.C), kBlock, ctx.stream(), a);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace loom::kernels
