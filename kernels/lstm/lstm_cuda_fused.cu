// kernels/lstm/lstm_cuda_fused.cu: the hand-written CUDA LSTM over a whole sequence, variant v2
// (fused, the default), and the public launchers that pick a variant.
//
// Math, per direction, row b, processing step s (time t = s Forward, t = len_b - 1 - s Reverse):
//   forward   z = x_t W_ih^T + h_prev W_hh^T + b                                  [4H] = zi zf zg zo
//             i = sigmoid(zi)  f = sigmoid(zf)  g = tanh(zg)  o = sigmoid(zo)
//             c = f c_prev + i g            h = o tanh(c)
//   backward  (dh, dc arrive at h and c of step s: dh = dy_t + dh_rec, dc = dc_carry; at the row's
//             last step, s = len_b - 1, they are dy_t + dh_n and dc_n instead)
//             dc  += dh o (1 - tanh(c)^2)
//             dzi = dc g i (1 - i)     dzf = dc c_prev f (1 - f)
//             dzg = dc i (1 - g^2)     dzo = dh tanh(c) o (1 - o)
//             dc_carry = dc f          dh_rec = dz W_hh          (into the step before)
//             after the loop, over all T*B rows at once:
//             dW_ih (+)= dZ^T x   dW_hh (+)= dZ^T Hprev   db (+)= colsum(dZ)   dx (+)= dZ W_ih
//   Everything in F32; the derivatives use the saved post-activation gates (sigmoid' = s (1 - s),
//   tanh' = 1 - g^2) and the saved c, so no pre-activation is stored.
//
// The GPU schedule (lstm_cuda_common.cuh holds the shared skeleton):
//   forward   1 GEMM per direction: Z [T*B, 4H] (F32) = x W_ih^T                  (all steps at once)
//             per step s: 1 cuBLAS call for the recurrent GEMMs of both directions [B,H] x [H,4H],
//                         accumulating into Z[t] (beta = 1) or into a [B, 4H] scratch with lengths;
//                         1 launch of lstm_pointwise_fwd_kernel, one thread per (b, unit j), grid.y =
//                         direction: reads its 4 pre-activations at stride H (coalesced along j),
//                         adds the bias, computes the gates, c and h, writes y[t, b, dH + j], the
//                         running h (storage type) and c, and c/gates for backward when training.
//                         A row past its length (s >= len_b) writes the zero of y[s, b] instead (that
//                         position is padding in both directions), so y needs no memset and each
//                         (t, b) of y is written exactly once.
//             1 launch at the end copies the running state to h_n, c_n.
//   backward  per step s (s = T-1 .. 0): 1 launch of lstm_pointwise_bwd_kernel (same mapping) that
//             writes dz (storage type) into dZ[t] and the dc carry, then 1 cuBLAS call for the dh
//             GEMMs of both directions [B,4H] x [4H,H]. Inactive rows write the zeros of dZ[s, b]
//             (padding). After the loop: dh0/dc0 (1 launch), and per direction a gather of Hprev,
//             GEMMs for dW_hh, dW_ih, dx (kernels::gemm_cublas, F32 accumulation, GradMode through
//             beta, rounded once into the storage type), and db via kernels::reduce_sum_cuda
//             (fixed-order column sums, no atomics).
//   dZ is kept in the storage type: every backward GEMM then runs on tensor cores for F16/BF16
//   (cuBLAS needs one type for both operands), at the cost of rounding dz once. The cell state,
//   gates and every accumulation stay F32.
//
// Bytes moved per step and direction (s_t = storage bytes per element, 4 for F32 values):
//   forward   recurrent GEMM: W_hh 4H*H*s_t + h B*H*s_t + Z[t] 2*B*4H*4 (read + write)
//             pointwise: pre-activations B*4H*4 (+ B*4H*4 scratch with lengths) + bias 4H*s_t
//                        + c 2*B*H*4 + h, y 2*B*H*s_t (+ training: c B*H*4 + gates B*4H*4)
//   backward  pointwise: gates B*4H*4 + c, c_prev 2*B*H*4 + dy B*H*s_t + dh_rec, dc 3*B*H*4
//                        + dz B*4H*s_t (twice with lengths)
//             dh GEMM:   W_hh 4H*H*s_t + dz B*4H*s_t + dh_rec B*H*4
//   FLOPs: 2*B*4H*H per recurrent or dh GEMM and ~10*B*H pointwise, and once per sequence
//   2*T*B*4H*C (input projection; backward 2x for dW_ih and dx) + 2*T*B*4H*H (dW_hh)
//   (lstm_seq_fwd_cost / lstm_seq_bwd_cost). At small B the step is latency bound: W_hh streams from
//   L2 every step and the launches (2 per step) dominate; that is what a persistent kernel (v3)
//   would attack.
//
// Variants (LstmVariant, lstm.h): Unfused (v1, lstm_cuda_unfused.cu) runs the same skeleton with
// one kernel per elementwise operation; Fused (v2, here). Both F32/F16/BF16 storage.
//
// Reference: kernels/lstm/lstm_cpu.cc. Tests: tests/kernels/test_lstm_cuda.cc (suite "cuda", every
// variant x dtype against the CPU). Bench: bench/bench_lstm.cc. Tutorial: kernels/lstm/README.md.
#include <climits>
#include <cstdint>
#include <string>

#include "kernels/lstm/lstm_cuda_common.cuh"
#include "kernels/lstm/lstm_cuda_internal.h"

namespace loom::kernels {
namespace {

using lstm_cuda::BwdStep;
using lstm_cuda::BwdStepDir;
using lstm_cuda::FwdStep;
using lstm_cuda::FwdStepDir;
using lstm_cuda::row_length;
using lstm_cuda::sigmoidf_;
using lstm_cuda::time_of;

}  // namespace

template <class S>
static __global__ void lstm_pointwise_fwd_kernel(FwdStep<S> a, int s) {
  const int d = blockIdx.y;
  const FwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, ldy = a.D * H, n = B * H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t b = i / H, j = i - b * H;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    if (s >= len) {  // y[s, b] is padding for this direction: write its zero once, here
      a.y[(s * B + b) * ldy + d * H + j] = from_f32<S>(0.0f);
      continue;
    }
    const std::int64_t row = time_of(p.reverse, len, s) * B + b;
    const float* z = p.z + row * G;
    const float* r = p.rec ? p.rec + b * G : nullptr;
    float pre[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) pre[k] = z[k * H + j] + load_f32(p.bias, k * H + j) + (r ? r[k * H + j] : 0.0f);
    const float ig = sigmoidf_(pre[0]), fg = sigmoidf_(pre[1]), gg = tanhf(pre[2]), og = sigmoidf_(pre[3]);
    const float c = fg * p.c[i] + ig * gg;
    const S h = from_f32<S>(og * tanhf(c));
    p.c[i] = c;
    p.h[i] = h;
    a.y[row * ldy + d * H + j] = h;
    if (p.c_saved) p.c_saved[row * H + j] = c;
    if (p.gates_saved) {
      float* gs = p.gates_saved + row * G;
      gs[j] = ig;
      gs[H + j] = fg;
      gs[2 * H + j] = gg;
      gs[3 * H + j] = og;
    }
  }
}

template <class S>
static __global__ void lstm_pointwise_bwd_kernel(BwdStep<S> a, int s) {
  const int d = blockIdx.y;
  const BwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, n = B * H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t b = i / H, j = i - b * H;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    if (s >= len) {  // dZ[s, b] is padding: zero, so the GEMMs after the loop see nothing there
      S* dz = p.dz_all + (s * B + b) * G;
#pragma unroll
      for (int k = 0; k < 4; ++k) dz[k * H + j] = from_f32<S>(0.0f);
      if (p.dz_step) {
#pragma unroll
        for (int k = 0; k < 4; ++k) p.dz_step[b * G + k * H + j] = from_f32<S>(0.0f);
      }
      continue;
    }
    const std::int64_t t = time_of(p.reverse, len, s), row = t * B + b;
    const bool last = s == len - 1;  // the row's last forward step: where dh_n, dc_n arrive
    const float* gate = p.gates + row * G;
    const float ig = gate[j], fg = gate[H + j], gg = gate[2 * H + j], og = gate[3 * H + j];
    const float c = p.c_saved[row * H + j];
    float c_prev = 0.0f;
    if (s > 0) c_prev = p.c_saved[((p.reverse ? t + 1 : t - 1) * B + b) * H + j];
    else if (p.c0) c_prev = load_f32(p.c0, i);
    float dh = a.dy ? load_f32(a.dy, row * a.D * H + d * H + j) : 0.0f;
    float dc;
    if (last) {
      dh += p.dh_n ? load_f32(p.dh_n, i) : 0.0f;
      dc = p.dc_n ? load_f32(p.dc_n, i) : 0.0f;
    } else {
      dh += p.dh_rec[i];
      dc = p.dc[i];
    }
    const float tc = tanhf(c);
    dc += dh * og * (1.0f - tc * tc);
    const float dz[4] = {dc * gg * ig * (1.0f - ig), dc * c_prev * fg * (1.0f - fg), dc * ig * (1.0f - gg * gg),
                         dh * tc * og * (1.0f - og)};
    p.dc[i] = dc * fg;
    S* out = p.dz_all + row * G;
#pragma unroll
    for (int k = 0; k < 4; ++k) out[k * H + j] = from_f32<S>(dz[k]);
    if (p.dz_step) {
#pragma unroll
      for (int k = 0; k < 4; ++k) p.dz_step[b * G + k * H + j] = from_f32<S>(dz[k]);
    }
  }
}

namespace {

void check_supported(const LstmSeqFwdArgs& a, const char* op) {
  std::string why;
  if (!lstm_seq_cuda_supports(a, &why)) LOOM_THROW(ShapeError, op, ": ", why);
  LOOM_CHECK(a.y && (a.x || a.T * a.B == 0), op, ": x and y must be given");
  for (int d = 0; d < a.D; ++d)
    LOOM_CHECK(a.dirs[d].w_ih && a.dirs[d].w_hh && a.dirs[d].bias, op, ": direction ", d,
               " needs w_ih, w_hh and bias");
}

template <class S>
void fwd_fused(const LstmSeqFwdArgs& a, const CudaContext& ctx) {
  const dim3 grid(blocks_for(a.B * a.H), static_cast<unsigned>(a.D));
  lstm_cuda::lstm_fwd_run<S>(a, ctx, [&](const FwdStep<S>& step, int s) {
    lstm_pointwise_fwd_kernel<S><<<grid, kBlock, 0, ctx.stream()>>>(step, s);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

template <class S>
void bwd_fused(const LstmSeqBwdArgs& a, const CudaContext& ctx) {
  const dim3 grid(blocks_for(a.fwd.B * a.fwd.H), static_cast<unsigned>(a.fwd.D));
  lstm_cuda::lstm_bwd_run<S>(a, ctx, [&](const BwdStep<S>& step, int s) {
    lstm_pointwise_bwd_kernel<S><<<grid, kBlock, 0, ctx.stream()>>>(step, s);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

bool lstm_seq_cuda_supports(const LstmSeqFwdArgs& a, std::string* why_not) {
  auto refuse = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return false;
  };
  if (a.dtype != DType::F32 && a.dtype != DType::F16 && a.dtype != DType::BF16)
    return refuse(std::string("the CUDA LSTM takes f32, f16 or bf16 storage (got ") + dtype_name(a.dtype) +
                  "; f64 runs on the CPU)");
  if (a.D != 1 && a.D != 2) return refuse("D must be 1 or 2 directions (got " + std::to_string(a.D) + ")");
  if (a.H < 1 || a.C < 1 || a.T < 0 || a.B < 0)
    return refuse("needs H >= 1, C >= 1, T >= 0, B >= 0 (got H = " + std::to_string(a.H) +
                  ", C = " + std::to_string(a.C) + ", T = " + std::to_string(a.T) + ", B = " + std::to_string(a.B) + ")");
  // cuBLAS takes int dimensions: 4H, C, and T*B (the rows of the input projection) must fit.
  if (4 * a.H > INT_MAX || a.C > INT_MAX || a.T * a.B > INT_MAX)
    return refuse("4H = " + std::to_string(4 * a.H) + ", C = " + std::to_string(a.C) + " and T*B = " +
                  std::to_string(a.T * a.B) + " must each fit the 32-bit int cuBLAS takes");
  return true;
}

void lstm_seq_fwd_cuda(const LstmSeqFwdArgs& a, const CudaContext& ctx, LstmVariant variant) {
  check_supported(a, "lstm_seq_fwd_cuda");
  if (variant == LstmVariant::Unfused) {
    detail::lstm_seq_fwd_cuda_unfused(a, ctx);
    return;
  }
  dispatch_float_dtype(a.dtype, "lstm_seq_fwd_cuda", [&](auto tag) {
    using S = typename decltype(tag)::type;
    fwd_fused<S>(a, ctx);
  });
}

void lstm_seq_bwd_cuda(const LstmSeqBwdArgs& a, const CudaContext& ctx, LstmVariant variant) {
  check_supported(a.fwd, "lstm_seq_bwd_cuda");
  if (variant == LstmVariant::Unfused) {
    detail::lstm_seq_bwd_cuda_unfused(a, ctx);
    return;
  }
  dispatch_float_dtype(a.fwd.dtype, "lstm_seq_bwd_cuda", [&](auto tag) {
    using S = typename decltype(tag)::type;
    bwd_fused<S>(a, ctx);
  });
}

}  // namespace loom::kernels
