// kernels/lstm/lstm_cuda_time_loop.cu: the hand-written CUDA LSTM's time loop and its fused
// pointwise kernels, the end of the reading path (kernels/lstm/README.md). It holds variant v2
// (row "cuda-v2": one pointwise launch per step) and what both variants accept
// (lstm_seq_cuda_supports); variant v1 (lstm_cuda_unfused.cu) runs the same loop with one launch
// per elementwise operation, through lstm_cuda_time_loop.cuh.
//
// Math, per direction, row b, processing step s (time t = time_of(reverse, len_b, s)):
//   forward   z = x_t W_ih^T + h_prev W_hh^T + b                                  [4H] = zi zf zg zo
//             i = sigmoid(zi)  f = sigmoid(zf)  g = tanh(zg)  o = sigmoid(zo)
//             c = f c_prev + i g            h = o tanh(c)
//   backward  (dh_t, dc_t arrive at h and c of step s: dh_t = dy_t + dh_rec, dc_t = dc carry; at the
//             row's last step, s = len_b - 1, they are dy_t + dh_n and dc_n instead)
//             dc_t += dh_t o (1 - tanh(c)^2)
//             dzi = dc_t g i (1 - i)     dzf = dc_t c_prev f (1 - f)
//             dzg = dc_t i (1 - g^2)     dzo = dh_t tanh(c) o (1 - o)
//             dc carry = dc_t f          dh_rec = dz W_hh          (into the step before)
//             after the loop, over all T*B rows at once:
//             dW_ih (+)= dZ^T x   dW_hh (+)= dZ^T Hprev   db (+)= colsum(dZ)   dx (+)= dZ W_ih
//   Everything in F32; the derivatives use the saved post-activation gates (sigmoid' = s (1 - s),
//   tanh' = 1 - g^2) and the saved c, so no pre-activation is stored.
//
// The schedule:
//   forward   lstm_fwd_run(args, ctx, step): Z [T*B, 4H] (F32) = x W_ih^T, one GEMM per direction
//             over all steps; the initial state; then for s = 0 .. T-1 the recurrent GEMM of every
//             direction (one cuBLAS call) followed by step(FwdStep, s), the variant's pointwise work
//             (v2: one launch of lstm_pointwise_fwd_kernel); then h_n, c_n. A row past its length
//             writes the zero of y[s, b] instead (padding in both directions), so y needs no memset.
//   backward  lstm_bwd_run(args, ctx, step): for s = T-1 .. 0, step(BwdStep, s) (v2: one launch of
//             lstm_pointwise_bwd_kernel, which writes dz into dZ[t] and the dc carry), then the dh
//             GEMM of every direction (one cuBLAS call); then dh0/dc0, and per direction dW_hh, dW_ih,
//             dx as one GEMM each over T*B rows and db as a deterministic column sum of dZ.
//   dZ is kept in the storage type: every backward GEMM then runs on tensor cores for F16/BF16, at
//   the cost of rounding dz once. The cell state, gates and every accumulation stay F32.
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
// Both directions of a BiLSTM advance together: at step s, direction d (blockIdx.y = d in every
// per-step kernel) handles time s (Forward) or len_b - 1 - s (Reverse), and the two recurrent GEMMs
// of the step are one cublasGemmBatchedEx call of batch 2. Two independent recurrences thus cost
// the launches of one, and each launch has twice the parallelism, which is what a step of a small
// batch lacks. (Two streams would also overlap them, but would double the launches, need a cuBLAS
// workspace per stream and break the one-stream ordering the allocator relies on.)
//
// Where the recurrent GEMM writes: when every direction's rows of step s come from one time step
// (forward, or reverse without lengths), the GEMM accumulates into Z[t] in place (beta = 1) and the
// pointwise kernel reads one buffer. With lengths, the reverse direction's rows sit at different t,
// so the GEMM writes a per-step F32 scratch Zh [B, 4H] (beta = 0) and the pointwise kernel adds
// Z[t_b, b]. One batched call has one beta, so a BiLSTM with lengths uses the scratch for both.
//
// Precision: GEMM operands are in the storage type and accumulate in F32 (CUBLAS_COMPUTE_32F;
// CUBLAS_COMPUTE_32F_FAST_TF32 only for F32 storage with MathMode::AllowTf32). Pre-activations, the
// cell state and the saved gates are F32; the running h is kept in the storage type because it is
// the next GEMM's operand (the same bits as y).
//
// Reference: kernels/lstm/lstm_reference.cc. Tests: tests/kernels/test_lstm_cuda.cc (suite "cuda",
// every CUDA row x dtype against the reference). Bench: bench/bench_lstm.cc. Tutorial:
// kernels/lstm/README.md.
#include <cublas_v2.h>

#include <climits>
#include <cstdint>
#include <string>

#include "core/workspace.h"
#include "kernels/common/launch.cuh"
#include "kernels/gemm/gemm.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_cuda_step_gemm.cuh"
#include "kernels/lstm/lstm_cuda_time_loop.cuh"
#include "kernels/reduce/reduce.h"

namespace loom::kernels::lstm_cuda {

// ---- the fused pointwise kernels (v2): all of a step's gate math in ONE launch ------------------------
//
// One thread per (row b, unit j), grid.y = direction. The thread reads its four pre-activations at
// stride H (neighbouring threads read neighbouring addresses), adds the bias, computes the gates,
// c and h, and writes y, the running state and, when training, the saved c and gates. Backward
// mirrors it with the saved gates and c. The same names as the CPU twin (lstm_cpu.cc): i f g o, c,
// c_prev, tanh_c, dh_t, dc_t, Z / dZ, time_of.

template <class S>
static __global__ void lstm_pointwise_fwd_kernel(FwdStep<S> a, int s) {
  const int d = blockIdx.y;
  const FwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, ldy = a.D * H, n = B * H;
  for (std::int64_t bj = grid_start(); bj < n; bj += grid_stride()) {
    const std::int64_t b = bj / H, j = bj - b * H;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    if (s >= len) {  // y[s, b] is padding for this direction: write its zero once, here
      a.y[(s * B + b) * ldy + d * H + j] = from_f32<S>(0.0f);
      continue;
    }
    const std::int64_t row = time_of(p.reverse, len, s) * B + b;
    const float* z = p.Z + row * G;
    const float* zh = p.Zh ? p.Zh + b * G : nullptr;
    float pre[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) pre[k] = z[k * H + j] + load_f32(p.bias, k * H + j) + (zh ? zh[k * H + j] : 0.0f);
    const float i = sigmoidf_(pre[0]), f = sigmoidf_(pre[1]), g = tanhf(pre[2]), o = sigmoidf_(pre[3]);
    const float c = f * p.c[bj] + i * g;
    const S h = from_f32<S>(o * tanhf(c));
    p.c[bj] = c;
    p.h[bj] = h;
    a.y[row * ldy + d * H + j] = h;
    if (p.c_saved) p.c_saved[row * H + j] = c;
    if (p.gates_saved) {
      float* gs = p.gates_saved + row * G;
      gs[j] = i;
      gs[H + j] = f;
      gs[2 * H + j] = g;
      gs[3 * H + j] = o;
    }
  }
}

template <class S>
static __global__ void lstm_pointwise_bwd_kernel(BwdStep<S> a, int s) {
  const int d = blockIdx.y;
  const BwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, n = B * H;
  for (std::int64_t bj = grid_start(); bj < n; bj += grid_stride()) {
    const std::int64_t b = bj / H, j = bj - b * H;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    if (s >= len) {  // dZ[s, b] is padding: zero, so the GEMMs after the loop see nothing there
      S* dz = p.dZ + (s * B + b) * G;
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
    const float i = gate[j], f = gate[H + j], g = gate[2 * H + j], o = gate[3 * H + j];
    const float c = p.c_saved[row * H + j];
    float c_prev = 0.0f;
    if (s > 0) c_prev = p.c_saved[((p.reverse ? t + 1 : t - 1) * B + b) * H + j];
    else if (p.c0) c_prev = load_f32(p.c0, bj);
    // dh_t, dc_t: what reaches h and c of this step, from y and from step s + 1 (or h_n, c_n).
    float dh_t = a.dy ? load_f32(a.dy, row * a.D * H + d * H + j) : 0.0f;
    float dc_t;
    if (last) {
      dh_t += p.dh_n ? load_f32(p.dh_n, bj) : 0.0f;
      dc_t = p.dc_n ? load_f32(p.dc_n, bj) : 0.0f;
    } else {
      dh_t += p.dh_rec[bj];
      dc_t = p.dc[bj];
    }
    const float tanh_c = tanhf(c);
    dc_t += dh_t * o * (1.0f - tanh_c * tanh_c);
    const float dz[4] = {dc_t * g * i * (1.0f - i), dc_t * c_prev * f * (1.0f - f), dc_t * i * (1.0f - g * g),
                         dh_t * tanh_c * o * (1.0f - o)};
    p.dc[bj] = dc_t * f;
    S* out = p.dZ + row * G;
#pragma unroll
    for (int k = 0; k < 4; ++k) out[k * H + j] = from_f32<S>(dz[k]);
    if (p.dz_step) {
#pragma unroll
      for (int k = 0; k < 4; ++k) p.dz_step[b * G + k * H + j] = from_f32<S>(dz[k]);
    }
  }
}


// ---- small kernels of the skeleton ------------------------------------------------------------------

template <class S>
struct StateDir {
  const S* h0 = nullptr;   // [B, H] nullable
  const S* c0 = nullptr;   // [B, H] nullable
  S* h_n = nullptr;        // [B, H] nullable
  S* c_n = nullptr;        // [B, H] nullable
  const S* dh_n = nullptr; // backward: [B, H] nullable
  const S* dc_n = nullptr;
  S* dh0 = nullptr;        // backward: [B, H] nullable
  S* dc0 = nullptr;
};

template <class S>
struct StateArgs {
  StateDir<S> dir[kMaxDirs];
  std::int64_t B = 0, H = 0, T = 0;
  const std::int32_t* lengths = nullptr;
  S* h = nullptr;             // [D, B, H] running h (forward)
  float* c = nullptr;         // [D, B, H] running c (forward) or dc carry (backward)
  const float* dh = nullptr;  // [D, B, H] dh_rec after the last GEMM (backward)
  GradMode mode = GradMode::Overwrite;
};

// h, c = h0, c0 (zeros where absent), direction blockIdx.y.
template <class S>
static __global__ void lstm_init_state_kernel(StateArgs<S> a) {
  const int d = blockIdx.y;
  const StateDir<S>& p = a.dir[d];
  const std::int64_t n = a.B * a.H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    a.h[d * n + i] = p.h0 ? p.h0[i] : from_f32<S>(0.0f);
    a.c[d * n + i] = p.c0 ? load_f32(p.c0, i) : 0.0f;
  }
}

// h_n, c_n = the running state, which rows stopped updating after their last step (a row of
// length 0 never updated, so it hands back h0, c0).
template <class S>
static __global__ void lstm_final_state_kernel(StateArgs<S> a) {
  const int d = blockIdx.y;
  const StateDir<S>& p = a.dir[d];
  const std::int64_t n = a.B * a.H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    if (p.h_n) p.h_n[i] = a.h[d * n + i];
    if (p.c_n) store_from_f32(p.c_n, i, a.c[d * n + i]);
  }
}

// dh0, dc0 (+)= the carries after step 0; a row of length 0 passes dh_n, dc_n straight through.
template <class S>
static __global__ void lstm_initial_state_grad_kernel(StateArgs<S> a) {
  const int d = blockIdx.y;
  const StateDir<S>& p = a.dir[d];
  const std::int64_t n = a.B * a.H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const bool empty = row_length(a.lengths, i / a.H, a.T) == 0;
    if (p.dh0) store_grad(p.dh0, i, empty ? (p.dh_n ? load_f32(p.dh_n, i) : 0.0f) : a.dh[d * n + i], a.mode);
    if (p.dc0) store_grad(p.dc0, i, empty ? (p.dc_n ? load_f32(p.dc_n, i) : 0.0f) : a.c[d * n + i], a.mode);
  }
}

// Hprev[t, b] = the h_prev that valid (t, b) of direction d used: h0 at the row's first processed
// step, else y at the neighbouring time (t - 1 Forward, t + 1 Reverse); zero at padding.
template <class S>
static __global__ void lstm_gather_h_prev_kernel(std::int64_t T, std::int64_t B, std::int64_t H, int D, int d,
                                                 int reverse, const std::int32_t* lengths, const S* y, const S* h0,
                                                 S* h_prev) {
  const std::int64_t n = T * B * H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t t = i / (B * H), b = (i / H) % B, j = i % H;
    const std::int64_t len = row_length(lengths, b, T);
    S v = from_f32<S>(0.0f);
    if (t < len) {
      const bool first = reverse ? t == len - 1 : t == 0;
      if (first) {
        if (h0) v = h0[b * H + j];
      } else {
        v = y[((reverse ? t + 1 : t - 1) * B + b) * D * H + static_cast<std::int64_t>(d) * H + j];
      }
    }
    h_prev[i] = v;
  }
}

inline bool lstm_rows_contiguous_in_time(const LstmSeqFwdArgs& a, int d) {
  return !a.dirs[d].reverse || a.lengths == nullptr;
}

void check_supported(const LstmSeqFwdArgs& a, const char* op) {
  std::string why;
  if (!lstm_seq_cuda_supports(a, &why)) LOOM_THROW(ShapeError, op, ": ", why);
  // An empty input (T*B == 0) has empty x and y, whose pointers may be null.
  LOOM_CHECK((a.y && a.x) || a.T * a.B == 0, op, ": x and y must be given");
  for (int d = 0; d < a.D; ++d)
    LOOM_CHECK(a.dirs[d].w_ih && a.dirs[d].w_hh && a.dirs[d].bias, op, ": direction ", d,
               " needs w_ih, w_hh and bias");
}

// ---- forward skeleton -------------------------------------------------------------------------------

template <class S>
void lstm_fwd_run(const LstmSeqFwdArgs& a, const CudaContext& ctx, const FwdStepFn<S>& step) {
  const std::int64_t T = a.T, B = a.B, H = a.H, C = a.C, G = 4 * H;
  const int D = a.D;
  const cudaStream_t stream = ctx.stream();
  const std::size_t elem = dtype_size(a.dtype);

  bool in_place = true;  // the recurrent GEMM accumulates into Z[t] (see the file comment)
  bool any_h0 = false;
  for (int d = 0; d < D; ++d) {
    in_place = in_place && lstm_rows_contiguous_in_time(a, d);
    any_h0 = any_h0 || a.dirs[d].h0 != nullptr;
  }
  // Scratch is stream ordered (core/workspace.h): freed when this function returns, it is handed
  // out again only to work queued after the kernels below.
  Workspace ws(Device::cuda(ctx.device()));
  float* Z = ws.alloc<float>(D * T * B * G);
  float* Zh = in_place ? nullptr : ws.alloc<float>(D * B * G);
  S* h_state = ws.alloc<S>(D * B * H);
  float* c_state = ws.alloc<float>(D * B * H);

  // 1. Z_d [T*B, 4H] = x [T*B, C] W_ih_d^T, one GEMM per direction over all time steps.
  const float one = 1.0f, zero = 0.0f;
  if (T * B > 0) {
    for (int d = 0; d < D; ++d) {
      LOOM_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(G),
                                     static_cast<int>(T * B), static_cast<int>(C), &one, a.dirs[d].w_ih,
                                     lstm_cuda_type(a.dtype), static_cast<int>(C), a.x, lstm_cuda_type(a.dtype),
                                     static_cast<int>(C), &zero, Z + d * T * B * G, CUDA_R_32F,
                                     static_cast<int>(G), lstm_compute_type(a.dtype, ctx), CUBLAS_GEMM_DEFAULT));
    }
  }

  // 2. The running state starts at (h0, c0).
  StateArgs<S> st;
  st.B = B;
  st.H = H;
  st.T = T;
  st.lengths = a.lengths;
  st.h = h_state;
  st.c = c_state;
  for (int d = 0; d < D; ++d) {
    st.dir[d].h0 = static_cast<const S*>(a.dirs[d].h0);
    st.dir[d].c0 = static_cast<const S*>(a.dirs[d].c0);
    st.dir[d].h_n = static_cast<S*>(a.dirs[d].h_n);
    st.dir[d].c_n = static_cast<S*>(a.dirs[d].c_n);
  }
  const dim3 state_grid(blocks_for(B * H), static_cast<unsigned>(D));
  launch<lstm_init_state_kernel<S>>(state_grid, kBlock, stream, st);
  LOOM_CUDA_CHECK_LAUNCH();

  // 3. Recurrent GEMM of step s, [B, H] x [H, 4H] per direction. Column-major: C^T [4H, B] =
  //    (W_hh viewed [H, 4H])^T h^T [H, B].
  StepGemm g;
  g.ta = CUBLAS_OP_T;
  g.tb = CUBLAS_OP_N;
  g.m = static_cast<int>(G);
  g.n = static_cast<int>(B);
  g.k = static_cast<int>(H);
  g.lda = static_cast<int>(H);
  g.ldb = static_cast<int>(H);
  g.ldc = static_cast<int>(G);
  g.beta = in_place ? 1.0f : 0.0f;
  FwdStep<S> fs;
  fs.lengths = a.lengths;
  fs.y = static_cast<S*>(a.y);
  fs.steps = T;
  fs.B = B;
  fs.H = H;
  fs.D = D;
  for (int d = 0; d < D; ++d) {
    const LstmDirection& p = a.dirs[d];
    const int reverse = p.reverse ? 1 : 0;
    float* Z_d = Z + d * T * B * G;
    float* Zh_d = in_place ? nullptr : Zh + d * B * G;
    g.spec.base[0][d] = static_cast<const char*>(p.w_hh);
    g.spec.base[1][d] = reinterpret_cast<const char*>(h_state) + d * B * H * elem;
    g.spec.base[2][d] = reinterpret_cast<const char*>(in_place ? Z_d : Zh_d);
    g.spec.step_bytes[2][d] = in_place ? static_cast<std::int64_t>(B * G * sizeof(float)) : 0;
    g.spec.reverse[2][d] = in_place ? reverse : 0;
    FwdStepDir<S>& q = fs.dir[d];
    q.Z = Z_d;
    q.Zh = Zh_d;
    q.bias = static_cast<const S*>(p.bias);
    q.h = st.h + d * B * H;
    q.c = st.c + d * B * H;
    q.c_saved = static_cast<float*>(p.c_saved);
    q.gates_saved = static_cast<float*>(p.gates_saved);
    q.reverse = reverse;
  }
  lstm_make_pointer_table(g, T, D, ctx, ws);

  // 4. The recurrence. At s = 0 without any h0 the recurrent term is zero: no GEMM.
  for (std::int64_t s = 0; s < T; ++s) {
    const bool skip = s == 0 && !any_h0;
    if (!skip) lstm_step_gemm(g, s, T, D, a.dtype, ctx);
    FwdStep<S> now = fs;
    if (skip)
      for (int d = 0; d < D; ++d) now.dir[d].Zh = nullptr;
    step(now, static_cast<int>(s));
  }

  // 5. h_n, c_n.
  launch<lstm_final_state_kernel<S>>(state_grid, kBlock, stream, st);
  LOOM_CUDA_CHECK_LAUNCH();
}

// ---- backward skeleton ------------------------------------------------------------------------------

template <class S>
void lstm_bwd_run(const LstmSeqBwdArgs& gargs, const CudaContext& ctx, const BwdStepFn<S>& step) {
  const LstmSeqFwdArgs& a = gargs.fwd;
  const std::int64_t T = a.T, B = a.B, H = a.H, C = a.C, G = 4 * H;
  const int D = a.D;
  const cudaStream_t stream = ctx.stream();
  const std::size_t elem = dtype_size(a.dtype);
  for (int d = 0; d < D; ++d) {
    LOOM_CHECK((a.dirs[d].c_saved && a.dirs[d].gates_saved) || T * B == 0, "lstm_seq_bwd_cuda: direction ", d,
               " has no saved c/gates (run the forward with c_saved and gates_saved)");
  }

  bool need_dh0 = false, any_step_scratch = false;
  for (int d = 0; d < D; ++d) {
    need_dh0 = need_dh0 || gargs.grads[d].dh0 != nullptr;
    any_step_scratch = any_step_scratch || !lstm_rows_contiguous_in_time(a, d);
  }
  Workspace ws(Device::cuda(ctx.device()));  // stream ordered, as in lstm_fwd_run
  S* dZ = ws.alloc<S>(D * T * B * G);
  S* dz_step = any_step_scratch ? ws.alloc<S>(D * B * G) : nullptr;
  float* dh_rec = ws.alloc<float>(D * B * H);
  float* dc = ws.alloc<float>(D * B * H);

  // dh_rec [B, H] = dz [B, 4H] W_hh [4H, H]. Column-major: dh^T [H, B] = (W_hh viewed [H, 4H]) dz^T [4H, B].
  StepGemm g;
  g.ta = CUBLAS_OP_N;
  g.tb = CUBLAS_OP_N;
  g.m = static_cast<int>(H);
  g.n = static_cast<int>(B);
  g.k = static_cast<int>(G);
  g.lda = static_cast<int>(H);
  g.ldb = static_cast<int>(G);
  g.ldc = static_cast<int>(H);
  g.beta = 0.0f;
  BwdStep<S> bs;
  bs.lengths = a.lengths;
  bs.dy = static_cast<const S*>(gargs.dy);
  bs.steps = T;
  bs.B = B;
  bs.H = H;
  bs.D = D;
  for (int d = 0; d < D; ++d) {
    const LstmDirection& p = a.dirs[d];
    const LstmDirectionGrad& q = gargs.grads[d];
    const int reverse = p.reverse ? 1 : 0;
    const bool contiguous = lstm_rows_contiguous_in_time(a, d);
    S* dZ_d = dZ + d * T * B * G;
    S* dz_step_d = contiguous ? nullptr : dz_step + d * B * G;
    float* dh_d = dh_rec + d * B * H;
    g.spec.base[0][d] = static_cast<const char*>(p.w_hh);
    g.spec.base[1][d] = reinterpret_cast<const char*>(contiguous ? dZ_d : dz_step_d);
    g.spec.step_bytes[1][d] = contiguous ? static_cast<std::int64_t>(B * G * elem) : 0;
    g.spec.reverse[1][d] = contiguous ? reverse : 0;
    g.spec.base[2][d] = reinterpret_cast<const char*>(dh_d);
    BwdStepDir<S>& r = bs.dir[d];
    r.gates = static_cast<const float*>(p.gates_saved);
    r.c_saved = static_cast<const float*>(p.c_saved);
    r.c0 = static_cast<const S*>(p.c0);
    r.dh_n = static_cast<const S*>(q.dh_n);
    r.dc_n = static_cast<const S*>(q.dc_n);
    r.dh_rec = dh_d;
    r.dc = dc + d * B * H;
    r.dZ = dZ_d;
    r.dz_step = dz_step_d;
    r.reverse = reverse;
  }
  lstm_make_pointer_table(g, T, D, ctx, ws);

  // 1. Backpropagation through time. The last GEMM (step 0) only feeds dh0.
  for (std::int64_t s = T - 1; s >= 0; --s) {
    step(bs, static_cast<int>(s));
    if (s > 0 || need_dh0) lstm_step_gemm(g, s, T, D, a.dtype, ctx);
  }

  // 2. dh0, dc0.
  StateArgs<S> st;
  st.B = B;
  st.H = H;
  st.T = T;
  st.lengths = a.lengths;
  st.c = dc;
  st.dh = dh_rec;
  st.mode = gargs.input_mode;
  bool any_state_grad = false;
  for (int d = 0; d < D; ++d) {
    st.dir[d].dh_n = static_cast<const S*>(gargs.grads[d].dh_n);
    st.dir[d].dc_n = static_cast<const S*>(gargs.grads[d].dc_n);
    st.dir[d].dh0 = static_cast<S*>(gargs.grads[d].dh0);
    st.dir[d].dc0 = static_cast<S*>(gargs.grads[d].dc0);
    any_state_grad = any_state_grad || st.dir[d].dh0 || st.dir[d].dc0;
  }
  if (any_state_grad) {
    launch<lstm_initial_state_grad_kernel<S>>(dim3(blocks_for(B * H), static_cast<unsigned>(D)), kBlock, stream, st);
    LOOM_CUDA_CHECK_LAUNCH();
  }

  // 3. The big GEMMs over all T*B rows, and db. dZ is zero at padding, so padding adds nothing.
  const float param_beta = gargs.param_mode == GradMode::Accumulate ? 1.0f : 0.0f;
  S* h_prev = nullptr;
  for (int d = 0; d < D; ++d) {
    const LstmDirection& p = a.dirs[d];
    const LstmDirectionGrad& q = gargs.grads[d];
    const S* dZ_d = dZ + d * T * B * G;
    GemmArgs w;  // dW [4H, K] (+)= dZ^T [4H, T*B] X [T*B, K]
    w.trans_a = Transpose::Yes;
    w.M = G;
    w.K = T * B;
    w.beta = param_beta;
    w.dtype = a.dtype;
    w.A = dZ_d;
    w.lda = G;
    if (q.dw_hh) {
      if (h_prev == nullptr) h_prev = ws.alloc<S>(T * B * H);
      launch<lstm_gather_h_prev_kernel<S>>(blocks_for(T * B * H), kBlock, stream,
          T, B, H, D, d, p.reverse ? 1 : 0, a.lengths, static_cast<const S*>(a.y), static_cast<const S*>(p.h0),
          h_prev);
      LOOM_CUDA_CHECK_LAUNCH();
      w.N = H;
      w.B = h_prev;
      w.ldb = H;
      w.C = q.dw_hh;
      w.ldc = H;
      gemm_cublas(w, ctx);
    }
    if (q.dw_ih) {
      w.N = C;
      w.B = a.x;
      w.ldb = C;
      w.C = q.dw_ih;
      w.ldc = C;
      gemm_cublas(w, ctx);
    }
    if (q.dbias) {
      ReduceArgs r;
      r.rows = T * B;
      r.cols = G;
      r.dtype = a.dtype;
      r.dim = ReduceDim::First;
      r.x = dZ_d;
      r.y = q.dbias;
      r.mode = gargs.param_mode;
      reduce_sum_cuda(r, ctx);
    }
    if (gargs.dx) {  // dx [T*B, C] (+)= dZ [T*B, 4H] W_ih [4H, C]; the second direction adds on
      GemmArgs x;
      x.M = T * B;
      x.N = C;
      x.K = G;
      x.beta = (d > 0 || gargs.input_mode == GradMode::Accumulate) ? 1.0f : 0.0f;
      x.dtype = a.dtype;
      x.A = dZ_d;
      x.lda = G;
      x.B = p.w_ih;
      x.ldb = C;
      x.C = gargs.dx;
      x.ldc = C;
      gemm_cublas(x, ctx);
    }
  }
}

template void lstm_fwd_run<float>(const LstmSeqFwdArgs&, const CudaContext&, const FwdStepFn<float>&);
template void lstm_fwd_run<__half>(const LstmSeqFwdArgs&, const CudaContext&, const FwdStepFn<__half>&);
template void lstm_fwd_run<__nv_bfloat16>(const LstmSeqFwdArgs&, const CudaContext&,
                                          const FwdStepFn<__nv_bfloat16>&);
template void lstm_bwd_run<float>(const LstmSeqBwdArgs&, const CudaContext&, const BwdStepFn<float>&);
template void lstm_bwd_run<__half>(const LstmSeqBwdArgs&, const CudaContext&, const BwdStepFn<__half>&);
template void lstm_bwd_run<__nv_bfloat16>(const LstmSeqBwdArgs&, const CudaContext&,
                                          const BwdStepFn<__nv_bfloat16>&);

}  // namespace loom::kernels::lstm_cuda

// ---- variant v2: the loop above with the fused pointwise kernels ------------------------------------

namespace loom::kernels {
namespace {

using lstm_cuda::BwdStep;
using lstm_cuda::FwdStep;

template <class S>
void fwd_fused(const LstmSeqFwdArgs& a, const CudaContext& ctx) {
  const dim3 grid(blocks_for(a.B * a.H), static_cast<unsigned>(a.D));
  lstm_cuda::lstm_fwd_run<S>(a, ctx, [&](const FwdStep<S>& step, int s) {
    launch<lstm_cuda::lstm_pointwise_fwd_kernel<S>>(grid, kBlock, ctx.stream(), step, s);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

template <class S>
void bwd_fused(const LstmSeqBwdArgs& a, const CudaContext& ctx) {
  const dim3 grid(blocks_for(a.fwd.B * a.fwd.H), static_cast<unsigned>(a.fwd.D));
  lstm_cuda::lstm_bwd_run<S>(a, ctx, [&](const BwdStep<S>& step, int s) {
    launch<lstm_cuda::lstm_pointwise_bwd_kernel<S>>(grid, kBlock, ctx.stream(), step, s);
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

void lstm_seq_fwd_cuda_v2(const LstmSeqFwdArgs& a, const CudaContext& ctx) {
  lstm_cuda::check_supported(a, "lstm_seq_fwd_cuda_v2");
  dispatch_float_dtype(a.dtype, "lstm_seq_fwd_cuda_v2", [&](auto tag) {
    using S = typename decltype(tag)::type;
    fwd_fused<S>(a, ctx);
  });
}

void lstm_seq_bwd_cuda_v2(const LstmSeqBwdArgs& a, const CudaContext& ctx) {
  lstm_cuda::check_supported(a.fwd, "lstm_seq_bwd_cuda_v2");
  dispatch_float_dtype(a.fwd.dtype, "lstm_seq_bwd_cuda_v2", [&](auto tag) {
    using S = typename decltype(tag)::type;
    bwd_fused<S>(a, ctx);
  });
}

}  // namespace loom::kernels
