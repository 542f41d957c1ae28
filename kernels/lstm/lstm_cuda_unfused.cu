// kernels/lstm/lstm_cuda_unfused.cu: the hand-written CUDA LSTM, variant v1 (unfused): the
// eager-framework baseline that v2 (lstm_cuda_time_loop.cu) is measured against.
//
// Math: identical to v2 (forward z -> i, f, g, o -> c, h; backward dz and the dc
// carry from the saved gates and c), and the same time loop (lstm_cuda_time_loop.cu, entered through its .cuh): the input
// projection for all steps, one recurrent GEMM call per step, one dh GEMM call per step, and the
// weight/input gradients as one GEMM each after the loop. What differs is the pointwise part of
// a step: here every elementwise operation is its own kernel over a contiguous F32 [B, *] step
// buffer, the way torch.nn.LSTMCell runs in an eager framework:
//   forward   gather (Z + Zh + bias into P [B, 4H])  sigmoid(i, f)  tanh(g)  sigmoid(o)
//             f*c  i*g  add  tanh(c)  o*tanh(c)  commit (state, y, saved c and gates)   = 10 launches
//   backward  gather (gates, c, c_prev, dh, dc)  tanh(c)  dh*o  *tanh'  add  dh*tanh(c)
//             dc*g  dc*c_prev  dc*i  dc*f  sigmoid'(i) sigmoid'(f) tanh'(g) sigmoid'(o)
//             commit (dZ[t], dc carry)                                               = 15 launches
// Threads: one per element of the [B, cols] block, grid.y = direction, grid-stride loops.
//
// Bytes: each elementwise launch reads its one or two operands and writes its result, B*H*4
// bytes each way per direction (B*4H*4 for the gate-wide ones), so a forward step moves roughly
// 3x the bytes of v2's single pointwise kernel and pays 10 launch latencies instead of 1. That
// difference, at identical GEMMs, is what the bench shows as the value of fusion.
//
// Reference: kernels/lstm/lstm_reference.cc. Tests: tests/kernels/test_lstm_cuda.cc. Bench:
// bench/bench_lstm.cc. Tutorial: kernels/lstm/README.md.
#include <cstdint>

#include "core/workspace.h"
#include "kernels/lstm/lstm_cuda_time_loop.cuh"

namespace loom::kernels {
namespace {

using lstm_cuda::BwdStep;
using lstm_cuda::BwdStepDir;
using lstm_cuda::FwdStep;
using lstm_cuda::FwdStepDir;
using lstm_cuda::row_length;
using lstm_cuda::time_of;

enum class EwOp { Sigmoid, Tanh, Mul, Add, SigmoidBwd, TanhBwd };

// A column block of a per-direction F32 step buffer [D][B][ld]: element (d, b, c) at
// p + d * dir_stride + b * ld + c.
struct Block {
  const float* p = nullptr;
  std::int64_t ld = 0, dir_stride = 0;
};

__device__ __forceinline__ float ew_value(EwOp op, float a, float b) {
  switch (op) {
    case EwOp::Sigmoid: return 1.0f / (1.0f + expf(-a));
    case EwOp::Tanh: return tanhf(a);
    case EwOp::Mul: return a * b;
    case EwOp::Add: return a + b;
    case EwOp::SigmoidBwd: return a * b * (1.0f - b);  // a = d(output), b = sigmoid output
    case EwOp::TanhBwd: return a * (1.0f - b * b);     // a = d(output), b = tanh output
  }
  return a;
}

}  // namespace

// out = op(a[, b]) over a [B, cols] block of each direction (blockIdx.y).
static __global__ void lstm_v1_elementwise_kernel(EwOp op, std::int64_t rows, std::int64_t cols, Block a, Block b,
                                                  float* out, std::int64_t ldo, std::int64_t out_dir_stride) {
  const int d = blockIdx.y;
  const std::int64_t n = rows * cols;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t r = i / cols, c = i - r * cols;
    const float av = a.p[d * a.dir_stride + r * a.ld + c];
    const float bv = b.p ? b.p[d * b.dir_stride + r * b.ld + c] : 0.0f;
    out[d * out_dir_stride + r * ldo + c] = ew_value(op, av, bv);
  }
}

// P[d][b, :] = Z[t_b, b, :] + Zh[b, :] + bias for active rows; zeros for inactive rows.
template <class S>
static __global__ void lstm_v1_gather_fwd_kernel(FwdStep<S> a, int s, float* P) {
  const int d = blockIdx.y;
  const FwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, n = B * G;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t b = i / G, col = i - b * G;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    float v = 0.0f;
    if (s < len) {
      const std::int64_t row = time_of(p.reverse, len, s) * B + b;
      v = p.Z[row * G + col] + load_f32(p.bias, col) + (p.Zh ? p.Zh[b * G + col] : 0.0f);
    }
    P[d * B * G + i] = v;
  }
}

// Active rows: c, h <- c_new, h_new; y[t_b], c_saved, gates_saved. Inactive rows: y[s, b] = 0.
template <class S>
static __global__ void lstm_v1_commit_fwd_kernel(FwdStep<S> a, int s, const float* P, const float* c_new,
                                                 const float* h_new) {
  const int d = blockIdx.y;
  const FwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, ldy = a.D * H, n = B * H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t b = i / H, j = i - b * H;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    if (s >= len) {
      a.y[(s * B + b) * ldy + d * H + j] = from_f32<S>(0.0f);
      continue;
    }
    const std::int64_t row = time_of(p.reverse, len, s) * B + b;
    const float c = c_new[d * n + i];
    const S h = from_f32<S>(h_new[d * n + i]);
    p.c[i] = c;
    p.h[i] = h;
    a.y[row * ldy + d * H + j] = h;
    if (p.c_saved) p.c_saved[row * H + j] = c;
    if (p.gates_saved) {
      for (int k = 0; k < 4; ++k) p.gates_saved[row * G + k * H + j] = P[d * B * G + b * G + k * H + j];
    }
  }
}

// Step buffers of the backward: gates [B, 4H], c, c_prev, dh, dc_in [B, H] (zeros for inactive rows).
template <class S>
static __global__ void lstm_v1_gather_bwd_kernel(BwdStep<S> a, int s, float* gates, float* c, float* c_prev,
                                                 float* dh, float* dc_in) {
  const int d = blockIdx.y;
  const BwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, n = B * H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t b = i / H, j = i - b * H, o = d * n + i;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    float g4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    float cv = 0.0f, cp = 0.0f, dhv = 0.0f, dcv = 0.0f;
    if (s < len) {
      const std::int64_t t = time_of(p.reverse, len, s), row = t * B + b;
      for (int k = 0; k < 4; ++k) g4[k] = p.gates[row * G + k * H + j];
      cv = p.c_saved[row * H + j];
      if (s > 0) cp = p.c_saved[((p.reverse ? t + 1 : t - 1) * B + b) * H + j];
      else if (p.c0) cp = load_f32(p.c0, i);
      dhv = a.dy ? load_f32(a.dy, row * a.D * H + d * H + j) : 0.0f;
      if (s == len - 1) {
        dhv += p.dh_n ? load_f32(p.dh_n, i) : 0.0f;
        dcv = p.dc_n ? load_f32(p.dc_n, i) : 0.0f;
      } else {
        dhv += p.dh_rec[i];
        dcv = p.dc[i];
      }
    }
    for (int k = 0; k < 4; ++k) gates[d * B * G + b * G + k * H + j] = g4[k];
    c[o] = cv;
    c_prev[o] = cp;
    dh[o] = dhv;
    dc_in[o] = dcv;
  }
}

// Active rows: dZ[t_b] = dz, dc carry = dc_prev. Inactive rows: dZ[s, b] = 0.
template <class S>
static __global__ void lstm_v1_commit_bwd_kernel(BwdStep<S> a, int s, const float* dz, const float* dc_prev) {
  const int d = blockIdx.y;
  const BwdStepDir<S>& p = a.dir[d];
  const std::int64_t H = a.H, G = 4 * H, B = a.B, n = B * H;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t b = i / H, j = i - b * H;
    const std::int64_t len = row_length(a.lengths, b, a.steps);
    const bool active = s < len;
    const std::int64_t row = (active ? time_of(p.reverse, len, s) : s) * B + b;
    for (int k = 0; k < 4; ++k) {
      const S v = from_f32<S>(active ? dz[d * B * G + b * G + k * H + j] : 0.0f);
      p.dZ[row * G + k * H + j] = v;
      if (p.dz_step) p.dz_step[b * G + k * H + j] = v;
    }
    if (active) p.dc[i] = dc_prev[d * n + i];
  }
}

namespace {

// Launches one elementwise op over the [B, cols] blocks of all D directions.
struct Ew {
  const CudaContext& ctx;
  std::int64_t B;
  int D;
  void operator()(EwOp op, std::int64_t cols, Block a, Block b, float* out, std::int64_t ldo,
                  std::int64_t out_dir_stride) const {
    const dim3 grid(blocks_for(B * cols), static_cast<unsigned>(D));
    launch<lstm_v1_elementwise_kernel>(grid, kBlock, ctx.stream(), op, B, cols, a, b, out, ldo, out_dir_stride);
    LOOM_CUDA_CHECK_LAUNCH();
  }
};

template <class S>
void fwd_unfused(const LstmSeqFwdArgs& a, const CudaContext& ctx) {
  const std::int64_t B = a.B, H = a.H, G = 4 * H;
  const int D = a.D;
  // Step buffers, per direction: P [B, 4H] (pre-activations, then gates), f*c, i*g, c_new,
  // tanh(c_new), h_new [B, H].
  Workspace ws(Device::cuda(ctx.device()));  // stream ordered: see core/workspace.h
  float* P = ws.alloc<float>(D * B * (G + 5 * H));
  float* fc = P + D * B * G;
  float* ig = fc + D * B * H;
  float* cn = ig + D * B * H;
  float* tc = cn + D * B * H;
  float* hn = tc + D * B * H;
  const Ew ew{ctx, B, D};
  const std::int64_t sg = B * G, sh = B * H;  // direction strides
  auto gate = [&](int k) { return Block{P + k * H, G, sg}; };
  auto hblk = [&](const float* p) { return Block{p, H, sh}; };
  const dim3 grid_g(blocks_for(B * G), static_cast<unsigned>(D)), grid_h(blocks_for(B * H), static_cast<unsigned>(D));

  lstm_cuda::lstm_fwd_run<S>(a, ctx, [&](const FwdStep<S>& step, int s) {
    launch<lstm_v1_gather_fwd_kernel<S>>(grid_g, kBlock, ctx.stream(), step, s, P);
    LOOM_CUDA_CHECK_LAUNCH();
    ew(EwOp::Sigmoid, 2 * H, Block{P, G, sg}, Block{}, P, G, sg);          // i, f
    ew(EwOp::Tanh, H, gate(2), Block{}, P + 2 * H, G, sg);                 // g
    ew(EwOp::Sigmoid, H, gate(3), Block{}, P + 3 * H, G, sg);              // o
    // The running c of direction d is step.dir[d].c = c_state + d * B * H, so its block has
    // direction stride B * H from direction 0's pointer.
    ew(EwOp::Mul, H, gate(1), hblk(step.dir[0].c), fc, H, sh);             // f * c_prev
    ew(EwOp::Mul, H, gate(0), gate(2), ig, H, sh);                         // i * g
    ew(EwOp::Add, H, hblk(fc), hblk(ig), cn, H, sh);                       // c
    ew(EwOp::Tanh, H, hblk(cn), Block{}, tc, H, sh);                       // tanh(c)
    ew(EwOp::Mul, H, gate(3), hblk(tc), hn, H, sh);                        // h = o * tanh(c)
    launch<lstm_v1_commit_fwd_kernel<S>>(grid_h, kBlock, ctx.stream(), step, s, P, cn, hn);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

template <class S>
void bwd_unfused(const LstmSeqBwdArgs& g, const CudaContext& ctx) {
  const std::int64_t B = g.fwd.B, H = g.fwd.H, G = 4 * H;
  const int D = g.fwd.D;
  // Step buffers, per direction: gates, d(gates), dz [B, 4H]; c, c_prev, dh, dc_in, tanh(c), tmp,
  // dc, dc_prev [B, H].
  Workspace ws(Device::cuda(ctx.device()));
  float* gates = ws.alloc<float>(D * B * (3 * G + 8 * H));
  float* dgates = gates + D * B * G;
  float* dz = dgates + D * B * G;
  float* c = dz + D * B * G;
  float* c_prev = c + D * B * H;
  float* dh = c_prev + D * B * H;
  float* dc_in = dh + D * B * H;
  float* tc = dc_in + D * B * H;
  float* tmp = tc + D * B * H;
  float* dc = tmp + D * B * H;
  float* dc_prev = dc + D * B * H;
  const Ew ew{ctx, B, D};
  const std::int64_t sg = B * G, sh = B * H;
  auto gate = [&](int k) { return Block{gates + k * H, G, sg}; };
  auto dgate = [&](int k) { return Block{dgates + k * H, G, sg}; };
  auto hblk = [&](const float* p) { return Block{p, H, sh}; };
  const dim3 grid_h(blocks_for(B * H), static_cast<unsigned>(D));

  lstm_cuda::lstm_bwd_run<S>(g, ctx, [&](const BwdStep<S>& step, int s) {
    launch<lstm_v1_gather_bwd_kernel<S>>(grid_h, kBlock, ctx.stream(), step, s, gates, c, c_prev, dh, dc_in);
    LOOM_CUDA_CHECK_LAUNCH();
    ew(EwOp::Tanh, H, hblk(c), Block{}, tc, H, sh);                          // tanh(c)
    ew(EwOp::Mul, H, hblk(dh), gate(3), tmp, H, sh);                         // dh * o
    ew(EwOp::TanhBwd, H, hblk(tmp), hblk(tc), tmp, H, sh);                   //   * (1 - tanh(c)^2)
    ew(EwOp::Add, H, hblk(dc_in), hblk(tmp), dc, H, sh);                     // dc
    ew(EwOp::Mul, H, hblk(dh), hblk(tc), dgates + 3 * H, G, sg);             // d o = dh * tanh(c)
    ew(EwOp::Mul, H, hblk(dc), gate(2), dgates, G, sg);                      // d i = dc * g
    ew(EwOp::Mul, H, hblk(dc), hblk(c_prev), dgates + H, G, sg);             // d f = dc * c_prev
    ew(EwOp::Mul, H, hblk(dc), gate(0), dgates + 2 * H, G, sg);              // d g = dc * i
    ew(EwOp::Mul, H, hblk(dc), gate(1), dc_prev, H, sh);                     // dc carry = dc * f
    ew(EwOp::SigmoidBwd, H, dgate(0), gate(0), dz, G, sg);                   // dzi
    ew(EwOp::SigmoidBwd, H, dgate(1), gate(1), dz + H, G, sg);               // dzf
    ew(EwOp::TanhBwd, H, dgate(2), gate(2), dz + 2 * H, G, sg);              // dzg
    ew(EwOp::SigmoidBwd, H, dgate(3), gate(3), dz + 3 * H, G, sg);           // dzo
    launch<lstm_v1_commit_bwd_kernel<S>>(grid_h, kBlock, ctx.stream(), step, s, dz, dc_prev);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

void lstm_seq_fwd_cuda_v1(const LstmSeqFwdArgs& a, const CudaContext& ctx) {
  lstm_cuda::check_supported(a, "lstm_seq_fwd_cuda_v1");
  dispatch_float_dtype(a.dtype, "lstm_seq_fwd_cuda_v1", [&](auto tag) {
    using S = typename decltype(tag)::type;
    fwd_unfused<S>(a, ctx);
  });
}

void lstm_seq_bwd_cuda_v1(const LstmSeqBwdArgs& a, const CudaContext& ctx) {
  lstm_cuda::check_supported(a.fwd, "lstm_seq_bwd_cuda_v1");
  dispatch_float_dtype(a.fwd.dtype, "lstm_seq_bwd_cuda_v1", [&](auto tag) {
    using S = typename decltype(tag)::type;
    bwd_unfused<S>(a, ctx);
  });
}

}  // namespace loom::kernels
