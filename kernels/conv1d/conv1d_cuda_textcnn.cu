// kernels/conv1d/conv1d_cuda_textcnn.cu: the fused text-CNN block of Kim (2014), variant v3:
// conv -> bias -> ReLU -> masked max over time, for several filter widths in one launch, and its
// sparse backward.
//
// Math (kernels/conv1d/conv1d.h; width w has F_w filters of K_w taps, its own dilation and padding,
// and owns columns [off_w, off_w + F_w) of pooled [B, sum F]):
//   z[t', b, f]       = bias[f] + sum_k sum_c weight[f, k, c] x[t' + k*dil - pad_left, b, c]
//   pooled[b, off+f]  = max over t' < out_len_b of relu(z) = relu(max_t' z)      (0 if out_len_b = 0)
//   argmax[b, off+f]  = first t' attaining max_t' z                            (-1 if out_len_b = 0)
//   backward: only t* = argmax receives gradient, and only if the ReLU let it through:
//   g = dpooled[b, off+f] * [pooled > 0]
//   dbias[f] (+)= sum_b g            dweight[f, k, c] (+)= sum_b g x[t* + k*dil - pad_left, b, c]
//   dx[t, b, c] (+)= sum_w sum_f sum_k [t* + k*dil - pad_left = t] g weight[f, k, c]
//
// Forward, who does what: one block per (filter tile of 64 columns of one width, batch row b);
// grid.x runs over the tiles of all widths (each width's first tile is in the kernel-parameter
// args), grid.y over b. The block is the v2 implicit GEMM (conv1d_cuda_gemm.cuh, same policies:
// WMMA m16n16k16 for F16/BF16, SIMT FMA or TF32 WMMA for F32) with M = the row's valid outputs
// t' < out_len_b (64 per step), N = filters, reduction K*C. Instead of writing the [64 x 64] tile of
// z, threads 0..63 each own a filter column and fold the tile's rows into a running (max, argmax)
// kept in registers, in increasing t' (so the first maximum wins ties). Only pooled and argmax,
// B * sum F values each, are written: the [T', B, F] activation never exists. Rows past out_len_b
// are never computed, so padding costs nothing.
//
// Backward, who does what (every sum in a fixed order, no atomics):
//   params  conv1d_textcnn_bwd_param_kernel: grid.y = width; thread per dweight[f, k, c] (c fastest:
//           coalesced x reads, broadcast argmax/dpooled) or per dbias[f], looping over b in order.
//   dx      conv1d_textcnn_bwd_dx_kernel: block of 4 warps for (32 channels, batch row b, 128 time
//           steps); warp v owns rows [t0 + 32v, t0 + 32v + 32) x 32 channels as an F32 accumulator
//           tile in shared memory (lane = channel, so no bank conflicts and no two threads ever
//           share an address). The warp walks every (width, filter) of row b in order, skips those
//           with g = 0 or no argmax, and for the taps k whose row t* + k*dil - pad_left falls in its
//           32 rows adds g * weight[f, k, c]. Then it writes its rows once (GradMode applied), zeros
//           included, so dx needs no memset and no workspace.
//
// Work and traffic (s = storage bytes; textcnn_fwd_cost / textcnn_bwd_cost):
//   forward  2 * sum_w T'_w*B*F_w*K_w*C flops (over valid rows only); x T*B*C*s (re-read from L2 per
//            filter tile and tap) + weights sum_w F_w*K_w*C*s + pooled B*sumF*(s + 4) bytes.
//   backward 2 * 2*B*sum_w F_w*K_w*C flops (sparse: one window per (b, f) instead of T'), reads x
//            and weight once per use; dx T*B*C*s written (plus read when accumulating).
//   The dense alternative (cuDNN conv + ReLU + max pool) writes and re-reads [T', B, sum F] and runs a
//   backward T' times larger: the reason this block can beat it.
//
// Reference: kernels/conv1d/conv1d_reference.cc (textcnn_*_reference). Tests: tests/kernels/test_conv1d_cuda.cc.
// Bench: bench/bench_conv1d.cc. Tutorial: kernels/conv1d/README.md.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>

#include "kernels/conv1d/conv1d_cuda_gemm.cuh"
#include "kernels/conv1d/conv1d_cuda_internal.h"

namespace loom::kernels {
namespace {

using conv1d_gemm::kBM;
using conv1d_gemm::kBN;
using conv1d_gemm::kLDC;
using conv1d_gemm::Operand;

constexpr int kMaxK = 7;
constexpr int kDxChannels = 32;  // lanes of a warp
constexpr int kDxWarps = 4;
constexpr int kDxRows = 32;      // time rows per warp

struct WidthDev {
  std::int64_t F = 0, K = 1, dil = 1, pad_left = 0, pad_right = 0, out_T = 0;
  std::int64_t col = 0;     // first column of this width in pooled [B, sum F]
  std::int64_t tile0 = 0;   // first forward block (grid.x) of this width
  const void* weight = nullptr;
  const void* bias = nullptr;
  void* dweight = nullptr;
  void* dbias = nullptr;
};

struct TextCnnDev {
  WidthDev w[kMaxTextCnnWidths];
  int num_widths = 0;
  std::int64_t T = 0, B = 0, C = 0, sumF = 0;
  const void* x = nullptr;
  const std::int32_t* lengths = nullptr;
  const void* pooled = nullptr;
  void* pooled_out = nullptr;
  std::int32_t* argmax = nullptr;
  const void* dpooled = nullptr;
  void* dx = nullptr;
  GradMode input_mode = GradMode::Overwrite, param_mode = GradMode::Overwrite;
};

// a.w[i] with a run-time i, read with constant offsets (a dynamic index into a kernel parameter
// would copy the whole array to local memory).
__device__ __forceinline__ WidthDev width_of(const TextCnnDev& a, int i) {
  WidthDev w = a.w[0];
#pragma unroll
  for (int q = 1; q < kMaxTextCnnWidths; ++q)
    if (q == i) w = a.w[q];
  return w;
}

// Valid outputs of row b: conv1d_output_length of the header, on the device.
__device__ __forceinline__ std::int64_t out_length(const TextCnnDev& a, const WidthDev& w, std::int64_t b) {
  std::int64_t len = a.lengths ? static_cast<std::int64_t>(a.lengths[b]) : a.T;
  len = len < 0 ? 0 : (len > a.T ? a.T : len);
  const std::int64_t n = len + w.pad_left + w.pad_right - w.dil * (w.K - 1);
  return n < 0 ? 0 : (n > w.out_T ? w.out_T : n);
}

// g = dpooled * [pooled > 0] of column idx, 0 where there is no argmax.
template <class T>
__device__ __forceinline__ float pooled_grad(const TextCnnDev& a, std::int64_t idx, std::int32_t* t_star) {
  *t_star = a.argmax[idx];
  if (*t_star < 0) return 0.0f;
  return load_f32(static_cast<const T*>(a.pooled), idx) > 0.0f ? load_f32(static_cast<const T*>(a.dpooled), idx)
                                                                 : 0.0f;
}

}  // namespace

template <class P>
static __global__ void __launch_bounds__(P::NT, P::kMinBlocks) conv1d_textcnn_fwd_kernel(TextCnnDev a) {
  using T = typename P::T;
  __shared__ __align__(128) unsigned char smem[conv1d_gemm::smem_bytes<P>()];
  int wi = 0;  // the last width whose first tile is at or before this block (unused slots start past the end)
#pragma unroll
  for (int q = 1; q < kMaxTextCnnWidths; ++q)
    if (static_cast<std::int64_t>(blockIdx.x) >= a.w[q].tile0) wi = q;
  const WidthDev w = width_of(a, wi);
  const std::int64_t n0 = (static_cast<std::int64_t>(blockIdx.x) - w.tile0) * kBN;
  const int col = static_cast<int>(threadIdx.x);  // threads 0..63 own filter n0 + col
  const bool owner = col < kBN && n0 + col < w.F;
  const float bias = owner && w.bias ? load_f32(static_cast<const T*>(w.bias), n0 + col) : 0.0f;
  const float* Cs = reinterpret_cast<const float*>(smem);

  Operand<T> wop;  // (c, f) = weight[f, k, c]
  wop.p = static_cast<const T*>(w.weight);
  wop.si = 1;
  wop.sj = w.K * a.C;
  wop.I = a.C;
  wop.J = w.F;
  wop.tap_stride = a.C;

  for (std::int64_t b = blockIdx.y; b < a.B; b += gridDim.y) {
    const std::int64_t out_len = out_length(a, w, b);
    Operand<T> xop;  // (t', c) = x[t' + k*dil - pad_left, b, c]
    xop.p = static_cast<const T*>(a.x) + b * a.C;
    xop.si = a.B * a.C;
    xop.sj = 1;
    xop.I = out_len;
    xop.J = a.C;
    xop.shifted = 0;
    xop.shift0 = -w.pad_left;
    xop.shift_per_tap = w.dil;
    xop.rows = a.T;
    float best = -INFINITY;
    std::int32_t arg = -1;
    for (std::int64_t m0 = 0; m0 < out_len; m0 += kBM) {
      typename P::Acc acc;
      conv1d_gemm::gemm_mainloop<P, true, false>(xop, wop, 0, static_cast<int>(w.K), 0, a.C, m0, n0, smem, acc);
      P::store(acc, reinterpret_cast<float*>(smem));
      __syncthreads();
      if (owner) {
        const int rows = static_cast<int>(out_len - m0 < kBM ? out_len - m0 : kBM);
        for (int r = 0; r < rows; ++r) {
          const float v = Cs[r * kLDC + col] + bias;
          // The first row always enters; then larger wins, ties keep the first, and the first NaN
          // wins and stays (torch.max semantics, as the CPU reference).
          if (arg < 0 || v > best || (v != v && best == best)) {
            best = v;
            arg = static_cast<std::int32_t>(m0 + r);
          }
        }
      }
      __syncthreads();  // the next main loop overwrites Cs
    }
    if (owner) {
      const std::int64_t idx = b * a.sumF + w.col + n0 + col;
      // ReLU after the max (relu is monotone); `best < 0 ? 0 : best` lets a NaN through.
      store_from_f32(static_cast<T*>(a.pooled_out), idx, out_len > 0 && !(best < 0.0f) ? best : 0.0f);
      a.argmax[idx] = out_len > 0 ? arg : -1;
    }
  }
}

template <class T>
static __global__ void conv1d_textcnn_bwd_param_kernel(TextCnnDev a) {
  const WidthDev w = width_of(a, static_cast<int>(blockIdx.y));
  const std::int64_t nw = w.F * w.K * a.C, n = nw + w.F;
  const T* x = static_cast<const T*>(a.x);
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const bool is_bias = i >= nw;
    if (is_bias ? !w.dbias : !w.dweight) continue;
    const std::int64_t f = is_bias ? i - nw : i / (w.K * a.C);
    const std::int64_t k = is_bias ? 0 : (i / a.C) % w.K, c = is_bias ? 0 : i % a.C;
    const std::int64_t shift = k * w.dil - w.pad_left;
    float acc = 0.0f;
    for (std::int64_t b = 0; b < a.B; ++b) {
      std::int32_t t_star;
      const float g = pooled_grad<T>(a, b * a.sumF + w.col + f, &t_star);
      if (g == 0.0f) continue;
      if (is_bias) {
        acc += g;
      } else {
        const std::int64_t t = t_star + shift;
        if (t >= 0 && t < a.T) acc = fmaf(g, load_f32(x, (t * a.B + b) * a.C + c), acc);
      }
    }
    if (is_bias) store_grad(static_cast<T*>(w.dbias), f, acc, a.param_mode);
    else store_grad(static_cast<T*>(w.dweight), i, acc, a.param_mode);
  }
}

template <class T>
static __global__ void conv1d_textcnn_bwd_dx_kernel(TextCnnDev a) {
  __shared__ float tile[kDxWarps][kDxRows][kDxChannels];
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * kDxChannels + lane;
  const std::int64_t t0 = (static_cast<std::int64_t>(blockIdx.z) * kDxWarps + warp) * kDxRows;
  if (t0 >= a.T) return;  // no block-wide barrier below: warps are independent
  const std::int64_t t1 = t0 + kDxRows < a.T ? t0 + kDxRows : a.T;
  float* acc = &tile[warp][0][lane];  // row r at acc[r * kDxChannels]
  const bool live = c < a.C;
  for (std::int64_t b = blockIdx.y; b < a.B; b += gridDim.y) {
    for (int r = 0; r < kDxRows; ++r) acc[r * kDxChannels] = 0.0f;
    for (int wi = 0; wi < a.num_widths; ++wi) {
      const WidthDev w = width_of(a, wi);
      const T* weight = static_cast<const T*>(w.weight);
      for (std::int64_t f = 0; f < w.F; ++f) {
        std::int32_t t_star;
        const float g = pooled_grad<T>(a, b * a.sumF + w.col + f, &t_star);
        if (g == 0.0f) continue;
        // taps k with t0 <= t* - pad_left + k*dil < t1
        const std::int64_t base = t_star - w.pad_left;
        const std::int64_t lo = t0 - base, hi = t1 - base;
        if (hi <= 0) continue;
        const std::int64_t k_lo = lo <= 0 ? 0 : (lo + w.dil - 1) / w.dil;
        const std::int64_t k_hi = std::min<std::int64_t>(w.K, (hi + w.dil - 1) / w.dil);
        for (std::int64_t k = k_lo; k < k_hi; ++k) {
          const std::int64_t r = base + k * w.dil - t0;
          if (live) acc[r * kDxChannels] = fmaf(g, load_f32(weight, (f * w.K + k) * a.C + c), acc[r * kDxChannels]);
        }
      }
    }
    if (live)
      for (std::int64_t t = t0; t < t1; ++t)
        store_grad(static_cast<T*>(a.dx), (t * a.B + b) * a.C + c, acc[(t - t0) * kDxChannels], a.input_mode);
  }
}

namespace {

void check_supported(const TextCnnFwdArgs& a, const char* op) {
  std::string why;
  if (!textcnn_cuda_supports(a, &why)) LOOM_THROW(ShapeError, op, ": ", why);
  for (int i = 0; i < a.num_widths; ++i) {
    const TextCnnWidth& w = a.widths[i];
    Conv1dGeometry g;
    g.T = a.T;
    g.B = a.B;
    g.C = a.C;
    g.F = w.F;
    g.K = w.K;
    g.dilation = w.dilation;
    g.pad_left = w.pad_left;
    g.pad_right = w.pad_right;
    detail::conv1d_check_geometry(g, op);
  }
}

// The device view of the arguments; *tiles = forward blocks over all widths.
TextCnnDev device_args(const TextCnnFwdArgs& a, std::int64_t* tiles) {
  TextCnnDev d;
  d.num_widths = a.num_widths;
  d.T = a.T;
  d.B = a.B;
  d.C = a.C;
  d.x = a.x;
  d.lengths = a.lengths;
  d.pooled = a.pooled;
  d.pooled_out = a.pooled;
  d.argmax = a.argmax;
  std::int64_t col = 0, tile = 0;
  for (int i = 0; i < a.num_widths; ++i) {
    const TextCnnWidth& s = a.widths[i];
    WidthDev& w = d.w[i];
    w.F = s.F;
    w.K = s.K;
    w.dil = s.dilation;
    w.pad_left = s.pad_left;
    w.pad_right = s.pad_right;
    w.out_T = a.T + s.pad_left + s.pad_right - s.dilation * (s.K - 1);
    w.col = col;
    w.tile0 = tile;
    w.weight = s.weight;
    w.bias = s.bias;
    w.dweight = s.dweight;
    w.dbias = s.dbias;
    col += s.F;
    tile += (s.F + kBN - 1) / kBN;
  }
  // Unused slots start past the last tile, so the forward's width search never picks them.
  for (int i = a.num_widths; i < kMaxTextCnnWidths; ++i) d.w[i].tile0 = tile;
  d.sumF = col;
  *tiles = tile;
  return d;
}

unsigned grid_dim(std::int64_t n) { return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>(n, 65535))); }

}  // namespace

bool textcnn_cuda_supports(const TextCnnFwdArgs& a, std::string* why_not) {
  auto refuse = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return false;
  };
  if (a.dtype != DType::F32 && a.dtype != DType::F16 && a.dtype != DType::BF16)
    return refuse(std::string("the fused text-CNN block takes f32, f16 or bf16 storage (got ") +
                  dtype_name(a.dtype) + "; f64 runs on the CPU)");
  if (a.num_widths < 1 || a.num_widths > kMaxTextCnnWidths)
    return refuse("needs 1 to " + std::to_string(kMaxTextCnnWidths) + " widths (got " + std::to_string(a.num_widths) +
                  ")");
  std::int64_t sumF = 0;
  for (int i = 0; i < a.num_widths; ++i) {
    const TextCnnWidth& w = a.widths[i];
    if (w.K < 1 || w.K > kMaxK)
      return refuse("hand-tuned conv1d kernels target K in 1..7 (width " + std::to_string(i) + " has K = " +
                    std::to_string(w.K) + "); compose conv1d (--impl cudnn), relu and max pooling instead");
    if (w.F < 0 || w.dilation < 1 || w.pad_left < 0 || w.pad_right < 0)
      return refuse("width " + std::to_string(i) + " needs F >= 0, dilation >= 1 and padding >= 0");
    sumF += w.F;
  }
  // Tile coordinates (time, channel, filter) are 32-bit inside a block; offsets are 64-bit.
  if (a.T > INT_MAX || a.C > INT_MAX || sumF > INT_MAX)
    return refuse("T = " + std::to_string(a.T) + ", C = " + std::to_string(a.C) + " and sum F = " +
                  std::to_string(sumF) + " must each fit a 32-bit int");
  return true;
}

void textcnn_fwd_cuda(const TextCnnFwdArgs& a, const CudaContext& ctx) {
  check_supported(a, "textcnn_fwd_cuda");
  std::int64_t tiles = 0;
  const TextCnnDev d = device_args(a, &tiles);
  if (a.B == 0 || tiles == 0) return;
  conv1d_gemm::dispatch_policy(a.dtype, ctx.math_mode, "textcnn_fwd_cuda", [&](auto policy) {
    using P = decltype(policy);
    const dim3 grid(static_cast<unsigned>(tiles), grid_dim(a.B));
    launch<conv1d_textcnn_fwd_kernel<P>>(grid, P::NT, ctx.stream(), d);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void textcnn_bwd_cuda(const TextCnnBwdArgs& a, const CudaContext& ctx) {
  check_supported(a.fwd, "textcnn_bwd_cuda");
  std::int64_t tiles = 0;
  TextCnnDev d = device_args(a.fwd, &tiles);
  d.dpooled = a.dpooled;
  d.dx = a.dx;
  d.input_mode = a.input_mode;
  d.param_mode = a.param_mode;
  std::int64_t most = 0;
  bool params = false;
  for (int i = 0; i < a.fwd.num_widths; ++i) {
    const TextCnnWidth& w = a.fwd.widths[i];
    if (!w.dweight && !w.dbias) continue;
    params = true;
    most = std::max(most, w.F * w.K * a.fwd.C + w.F);
  }
  dispatch_float_dtype(a.fwd.dtype, "textcnn_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (params && most > 0) {
      const dim3 grid(blocks_for(most), static_cast<unsigned>(a.fwd.num_widths));
      launch<conv1d_textcnn_bwd_param_kernel<T>>(grid, kBlock, ctx.stream(), d);
      LOOM_CUDA_CHECK_LAUNCH();
    }
    if (a.dx && a.fwd.T * a.fwd.B * a.fwd.C > 0) {
      const std::int64_t rows_per_block = kDxWarps * kDxRows;
      const dim3 grid(static_cast<unsigned>((a.fwd.C + kDxChannels - 1) / kDxChannels), grid_dim(a.fwd.B),
                      grid_dim((a.fwd.T + rows_per_block - 1) / rows_per_block));
      LOOM_CHECK_SHAPE((a.fwd.T + rows_per_block - 1) / rows_per_block <= 65535, "textcnn_bwd_cuda: T = ", a.fwd.T,
                       " is too long for one launch (at most ", 65535 * rows_per_block, ")");
      launch<conv1d_textcnn_bwd_dx_kernel<T>>(grid, kDxWarps * 32, ctx.stream(), d);
      LOOM_CUDA_CHECK_LAUNCH();
    }
  });
}

}  // namespace loom::kernels
