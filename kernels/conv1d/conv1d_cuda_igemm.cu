// kernels/conv1d/conv1d_cuda_igemm.cu: 1-D convolution over time as an implicit GEMM (variant v2,
// the default), and the public launchers of v1 and v2 (conv1d_*_cuda_direct, conv1d_*_cuda_igemm).
//
// Math (kernels/conv1d/conv1d.h; x [T, B, C], weight [F, K, C], y [T', B, F], s_k = k*dil - pad_left):
//   forward     y[t', b, f]  = bias[f] + sum_k sum_c weight[f, k, c] x[t' + s_k, b, c]
//   back data   dx[t, b, c] (+)= sum_k sum_f dy[t - s_k, b, f] weight[f, k, c]     (0 <= t - s_k < T')
//   back weight dweight[f, k, c] (+)= sum_t' sum_b dy[t', b, f] x[t' + s_k, b, c]
//   back bias   dbias[f] (+)= sum_t' sum_b dy[t', b, f]
// Time-major rows make each of them a GEMM over flattened rows m = t*B + b, with the tap shift a
// row offset of s_k*B (conv1d_cuda_gemm.cuh explains the operand descriptors):
//   forward     Y [T'B, F]  = sum_k  X[rows + s_k*B] (T'B x C)  .  W_k^T (C x F)
//   back data   dX [TB, C]  = sum_k  dY[rows - s_k*B] (TB x F)  .  W_k (F x C)
//   back weight dW_k [F, C] = dY^T (F x T'B)  .  X[rows + s_k*B] (T'B x C)         (one GEMM per tap)
// Shifted rows outside the tensor read as zero: that is the padding, never stored.
//
// Who does what: one block per 64 x 64 output tile (grid.x over N tiles, grid.y over M tiles with a
// grid-stride loop past 65535); the tile machinery and the per-dtype policies (F32 SIMT FMA, TF32
// WMMA with MathMode::AllowTf32, F16/BF16 WMMA m16n16k16, all F32 accumulators) are in
// conv1d_cuda_gemm.cuh. The backward weight GEMM has a small output (F x C per tap) and a long
// reduction (T'*B rows), so it is split: grid.z = tap x split, each split sums a fixed range of rows
// into an F32 partial [splits, F, K, C] in the context workspace, and conv1d_weight_finish_kernel
// adds the partials in split order. The split count is a function of the shape only (never of the
// GPU), so results are bit-identical run to run; no atomics anywhere. The bias gradient is a
// deterministic column sum of dy (reduce_sum_cuda).
//
// Work and traffic (s = storage bytes; conv1d_fwd_cost / conv1d_bwd_cost):
//   forward  2*T'*B*F*K*C flops; at least x T*B*C*s + weight F*K*C*s + y T'*B*F*s bytes. Each x row
//            is read once per tap and N tile (from L2 after the first), each weight element once per
//            M tile: the 64 x 64 tile gives 64 flops per loaded element pair.
//   backward twice the forward flops (data + weight) + T'*B*F adds for the bias; dx, dweight,
//            partials 4*splits*F*K*C bytes.
//
// Variants (rows of conv1d_variants.h): cuda-v1 (direct, conv1d_cuda_direct.cu), cuda-v2 (implicit
// GEMM, here), and cuda-v3 of the text-CNN table (the fused block, conv1d_cuda_textcnn.cu).
// Hand-tuned kernels target K in 1..7.
//
// Reference: kernels/conv1d/conv1d_reference.cc. Tests: tests/kernels/test_conv1d_cuda.cc (suite "cuda").
// Bench: bench/bench_conv1d.cc. Tutorial: kernels/conv1d/README.md.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "kernels/conv1d/conv1d_cuda_gemm.cuh"
#include "kernels/conv1d/conv1d_cuda_internal.h"
#include "kernels/reduce/reduce.h"

namespace loom::kernels {
namespace {

using conv1d_gemm::kBM;
using conv1d_gemm::kBN;
using conv1d_gemm::kLDC;
using conv1d_gemm::Operand;

constexpr int kMaxK = 7;                   // hand-tuned kernels target K in 1..7
constexpr std::int64_t kSplitTargetBlocks = 256;  // backward weight: aim for this many blocks
constexpr std::int64_t kMinSplitRows = 256;       // ... but never split below this many rows
constexpr std::int64_t kMaxSplits = 64;

// Where the tile's results go.
template <class T>
struct Epilogue {
  T* out = nullptr;             // element (tap, m, n) at tap*tap_stride + m*ld + n
  std::int64_t ld = 0, tap_stride = 0;
  const T* bias = nullptr;      // [N] added (forward) or nullptr
  GradMode mode = GradMode::Overwrite;
  float* partial = nullptr;     // split-K: partial[split*partial_stride + same offset], F32
  std::int64_t partial_stride = 0;
};

template <class T>
struct IgemmArgs {
  Operand<T> a, b;
  std::int64_t M = 0, N = 0, R = 0;  // R: reduction length of one tap
  int taps = 1;                      // taps summed inside one block
  int tap_from_z = 0;                // backward weight: blockIdx.z = tap * splits + split
  int splits = 1;
  std::int64_t split_len = 0;
  Epilogue<T> out;
};

}  // namespace

template <class P, bool kAJFast, bool kBJFast>
static __global__ void __launch_bounds__(P::NT, P::kMinBlocks) conv1d_igemm_kernel(IgemmArgs<typename P::T> g) {
  __shared__ __align__(128) unsigned char smem[conv1d_gemm::smem_bytes<P>()];
  int k0 = 0, k1 = g.taps, split = 0, out_tap = 0;
  if (g.tap_from_z) {
    k0 = static_cast<int>(blockIdx.z) / g.splits;
    k1 = k0 + 1;
    split = static_cast<int>(blockIdx.z) % g.splits;
    out_tap = k0;
  }
  const std::int64_t r0 = split * g.split_len;
  const std::int64_t r1 = std::min(g.R, r0 + g.split_len);
  const std::int64_t n0 = static_cast<std::int64_t>(blockIdx.x) * kBN;
  const float* Cs = reinterpret_cast<const float*>(smem);
  for (std::int64_t m0 = static_cast<std::int64_t>(blockIdx.y) * kBM; m0 < g.M;
       m0 += static_cast<std::int64_t>(gridDim.y) * kBM) {
    typename P::Acc acc;
    conv1d_gemm::gemm_mainloop<P, kAJFast, kBJFast>(g.a, g.b, k0, k1, r0, r1, m0, n0, smem, acc);
    P::store(acc, reinterpret_cast<float*>(smem));
    __syncthreads();
#pragma unroll 1
    for (int e = static_cast<int>(threadIdx.x); e < kBM * kBN; e += P::NT) {
      const std::int64_t m = m0 + e / kBN, n = n0 + e % kBN;
      if (m >= g.M || n >= g.N) continue;
      float v = Cs[(e / kBN) * kLDC + e % kBN];
      const std::int64_t off = out_tap * g.out.tap_stride + m * g.out.ld + n;
      if (g.out.partial) {
        g.out.partial[split * g.out.partial_stride + off] = v;
      } else {
        if (g.out.bias) v += load_f32(g.out.bias, n);
        store_grad(g.out.out, off, v, g.out.mode);
      }
    }
    __syncthreads();  // the next tile's main loop overwrites Cs
  }
}

// dweight[i] (+)= sum over splits s, in order, of partial[s * n + i].
template <class T>
static __global__ void conv1d_weight_finish_kernel(std::int64_t n, int splits, const float* partial, T* dweight,
                                                   GradMode mode) {
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    float acc = 0.0f;
    for (int s = 0; s < splits; ++s) acc += partial[s * n + i];
    store_grad(dweight, i, acc, mode);
  }
}

namespace {

// kAJFast / kBJFast: whether the loaders of A / B walk j (the operand's contiguous index) or i.
// Fixed at compile time: a run-time choice keeps both address patterns live (~100 more registers).
template <class P, bool kAJFast, bool kBJFast>
void launch_igemm(const IgemmArgs<typename P::T>& g, unsigned grid_z, const CudaContext& ctx) {
  const std::int64_t m_tiles = (g.M + kBM - 1) / kBM;
  const dim3 grid(static_cast<unsigned>((g.N + kBN - 1) / kBN),
                  static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>(m_tiles, 65535))), grid_z);
  launch<conv1d_igemm_kernel<P, kAJFast, kBJFast>>(grid, P::NT, ctx.stream(), g);
  LOOM_CUDA_CHECK_LAUNCH();
}

// Operand for "row m of the time-major [rows, width] matrix p, shifted by tap k": element (m, j)
// = p[(m + shift0 + k*shift_per_tap) * width + j], shifted rows outside [0, rows) read zero.
template <class T>
Operand<T> shifted_rows(const T* p, std::int64_t width, std::int64_t M, std::int64_t shift0,
                        std::int64_t shift_per_tap, std::int64_t rows) {
  Operand<T> o;
  o.p = p;
  o.si = width;
  o.sj = 1;
  o.I = M;
  o.J = width;
  o.shifted = 0;
  o.shift0 = shift0;
  o.shift_per_tap = shift_per_tap;
  o.rows = rows;
  return o;
}

template <class P>
void fwd_igemm(const Conv1dFwdArgs& a, const CudaContext& ctx) {
  using T = typename P::T;
  const Conv1dGeometry& g = a.g;
  const std::int64_t To = g.out_T(), B = g.B, C = g.C, F = g.F, K = g.K;
  IgemmArgs<T> q;
  q.M = To * B;
  q.N = F;
  q.R = C;
  q.taps = static_cast<int>(K);
  q.split_len = C;
  // A: X rows shifted by s_k*B;  B operand (c, f) = weight[f, k, c].
  q.a = shifted_rows(static_cast<const T*>(a.x), C, q.M, -g.pad_left * B, g.dilation * B, g.T * B);
  q.b.p = static_cast<const T*>(a.weight);
  q.b.si = 1;
  q.b.sj = K * C;
  q.b.I = C;
  q.b.J = F;
  q.b.tap_stride = C;
  q.out.out = static_cast<T*>(a.y);
  q.out.ld = F;
  q.out.bias = static_cast<const T*>(a.bias);
  launch_igemm<P, true, false>(q, 1, ctx);
}

template <class P>
void bwd_igemm(const Conv1dBwdArgs& a, const CudaContext& ctx) {
  using T = typename P::T;
  const Conv1dGeometry& g = a.g;
  const std::int64_t To = g.out_T(), T_ = g.T, B = g.B, C = g.C, F = g.F, K = g.K;
  const T* dy = static_cast<const T*>(a.dy);
  if (a.dx && T_ * B * C > 0) {
    // dX rows m read dY rows m - s_k*B;  B operand (f, c) = weight[f, k, c].
    IgemmArgs<T> q;
    q.M = T_ * B;
    q.N = C;
    q.R = F;
    q.taps = static_cast<int>(K);
    q.split_len = F;
    q.a = shifted_rows(dy, F, q.M, g.pad_left * B, -g.dilation * B, To * B);
    q.b.p = static_cast<const T*>(a.weight);
    q.b.si = K * C;
    q.b.sj = 1;
    q.b.I = F;
    q.b.J = C;
    q.b.tap_stride = C;
    q.out.out = static_cast<T*>(a.dx);
    q.out.ld = C;
    q.out.mode = a.input_mode;
    launch_igemm<P, true, true>(q, 1, ctx);
  }
  if (a.dweight && F * K * C > 0) {
    // dW_k (f, c) = sum over rows r of dY[r, f] X[r + s_k*B, c]: A = dY^T, B = shifted X rows.
    IgemmArgs<T> q;
    q.M = F;
    q.N = C;
    q.R = To * B;
    q.taps = 1;
    q.tap_from_z = 1;
    q.a.p = dy;
    q.a.si = 1;
    q.a.sj = F;
    q.a.I = F;
    q.a.J = q.R;
    q.b = shifted_rows(static_cast<const T*>(a.x), C, q.R, -g.pad_left * B, g.dilation * B, T_ * B);
    q.out.out = static_cast<T*>(a.dweight);
    q.out.ld = K * C;
    q.out.tap_stride = C;
    q.out.mode = a.param_mode;
    // Split the rows so the grid has about kSplitTargetBlocks blocks (a function of the shape only).
    const std::int64_t tiles = ((F + kBM - 1) / kBM) * ((C + kBN - 1) / kBN) * K;
    std::int64_t splits = std::max<std::int64_t>(1, (kSplitTargetBlocks + tiles - 1) / tiles);
    splits = std::min({splits, kMaxSplits, std::max<std::int64_t>(1, q.R / kMinSplitRows)});
    q.split_len = (q.R + splits - 1) / splits;
    q.split_len = std::max<std::int64_t>(P::BK, (q.split_len + P::BK - 1) / P::BK * P::BK);
    splits = std::max<std::int64_t>(1, (q.R + q.split_len - 1) / q.split_len);
    q.splits = static_cast<int>(splits);
    const std::int64_t n = F * K * C;
    if (splits > 1) {
      q.out.partial = static_cast<float*>(ctx.workspace(static_cast<std::size_t>(splits * n) * sizeof(float)));
      q.out.partial_stride = n;
    }
    launch_igemm<P, false, true>(q, static_cast<unsigned>(K * splits), ctx);
    if (splits > 1) {
      launch<conv1d_weight_finish_kernel<T>>(blocks_for(n), kBlock, ctx.stream(), n, q.splits, q.out.partial,
                                             static_cast<T*>(a.dweight),
                                             a.param_mode);
      LOOM_CUDA_CHECK_LAUNCH();
    }
  }
  if (a.dbias && F > 0) detail::conv1d_bias_grad_cuda(a.dtype, To * B, F, a.dy, a.dbias, a.param_mode, ctx);
}

void check_supported(const Conv1dFwdArgs& a, const char* op) {
  detail::conv1d_check_geometry(a.g, op);
  std::string why;
  if (!conv1d_cuda_supports(a, &why)) LOOM_THROW(ShapeError, op, ": ", why);
}

Conv1dFwdArgs fwd_view(const Conv1dBwdArgs& a) {
  Conv1dFwdArgs f;
  f.g = a.g;
  f.dtype = a.dtype;
  f.x = a.x;
  f.weight = a.weight;
  return f;
}

}  // namespace

namespace detail {

void conv1d_check_geometry(const Conv1dGeometry& g, const char* op) {
  LOOM_CHECK_SHAPE(g.T >= 0 && g.B >= 0 && g.C >= 0 && g.F >= 0, op, ": T, B, C, F must be >= 0 (got T = ", g.T,
                   ", B = ", g.B, ", C = ", g.C, ", F = ", g.F, ")");
  LOOM_CHECK_SHAPE(g.K >= 1 && g.dilation >= 1, op, ": needs K >= 1 and dilation >= 1 (got K = ", g.K,
                   ", dilation = ", g.dilation, ")");
  LOOM_CHECK_SHAPE(g.pad_left >= 0 && g.pad_right >= 0, op, ": padding must be >= 0 (got ", g.pad_left, ", ",
                   g.pad_right, ")");
  LOOM_CHECK_SHAPE(g.out_T() >= 1, op, ": output length T' = T + pad_left + pad_right - dilation*(K-1) = ", g.T,
                   " + ", g.pad_left, " + ", g.pad_right, " - ", g.dilation, "*", g.K - 1, " = ", g.out_T(),
                   " < 1: the input is shorter than the kernel's span ", g.dilation * (g.K - 1) + 1,
                   " (pad it, or use padding 'same')");
}

void conv1d_bias_grad_cuda(DType dtype, std::int64_t rows, std::int64_t F, const void* dy, void* dbias,
                           GradMode mode, const CudaContext& ctx) {
  ReduceArgs r;
  r.rows = rows;
  r.cols = F;
  r.dtype = dtype;
  r.dim = ReduceDim::First;
  r.x = dy;
  r.y = dbias;
  r.mode = mode;
  reduce_sum_cuda(r, ctx);
}

}  // namespace detail

bool conv1d_cuda_supports(const Conv1dFwdArgs& a, std::string* why_not) {
  auto refuse = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return false;
  };
  if (a.dtype != DType::F32 && a.dtype != DType::F16 && a.dtype != DType::BF16)
    return refuse(std::string("the CUDA conv1d takes f32, f16 or bf16 storage (got ") + dtype_name(a.dtype) +
                  "; f64 runs on the CPU)");
  if (a.g.K < 1 || a.g.K > kMaxK)
    return refuse("hand-tuned conv1d kernels target K in 1..7 (got K = " + std::to_string(a.g.K) +
                  "); use --impl cudnn");
  if (a.g.dilation < 1 || a.g.pad_left < 0 || a.g.pad_right < 0)
    return refuse("needs dilation >= 1 and padding >= 0 (got dilation = " + std::to_string(a.g.dilation) +
                  ", padding " + std::to_string(a.g.pad_left) + ", " + std::to_string(a.g.pad_right) + ")");
  // Tile indices are 32-bit inside a block: the tiled dimensions must fit.
  const std::int64_t rows = std::max(a.g.T, a.g.out_T()) * a.g.B;
  if (rows > INT_MAX || a.g.C > INT_MAX || a.g.F > INT_MAX)
    return refuse("T*B = " + std::to_string(rows) + ", C and F must each fit a 32-bit int");
  return true;
}

void conv1d_fwd_cuda_direct(const Conv1dFwdArgs& a, const CudaContext& ctx) {
  check_supported(a, "conv1d_fwd_cuda_direct");
  if (a.g.out_T() * a.g.B * a.g.F == 0) return;
  detail::conv1d_fwd_direct_launch(a, ctx);
}

void conv1d_bwd_cuda_direct(const Conv1dBwdArgs& a, const CudaContext& ctx) {
  check_supported(fwd_view(a), "conv1d_bwd_cuda_direct");
  detail::conv1d_bwd_direct_launch(a, ctx);
}

void conv1d_fwd_cuda_igemm(const Conv1dFwdArgs& a, const CudaContext& ctx) {
  check_supported(a, "conv1d_fwd_cuda_igemm");
  if (a.g.out_T() * a.g.B * a.g.F == 0) return;
  conv1d_gemm::dispatch_policy(a.dtype, ctx.math_mode, "conv1d_fwd_cuda_igemm", [&](auto policy) {
    fwd_igemm<decltype(policy)>(a, ctx);
  });
}

void conv1d_bwd_cuda_igemm(const Conv1dBwdArgs& a, const CudaContext& ctx) {
  check_supported(fwd_view(a), "conv1d_bwd_cuda_igemm");
  conv1d_gemm::dispatch_policy(a.dtype, ctx.math_mode, "conv1d_bwd_cuda_igemm", [&](auto policy) {
    bwd_igemm<decltype(policy)>(a, ctx);
  });
}

}  // namespace loom::kernels
