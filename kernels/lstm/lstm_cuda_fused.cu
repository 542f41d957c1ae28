// kernels/lstm/lstm_cuda_fused.cu: the hand-written CUDA LSTM over a whole sequence, variant v2
// (fused, row "cuda-v2" of the variant table): the time loop of lstm_cuda_time_loop.cuh with ONE
// pointwise kernel per step (lstm_pointwise_fwd_kernel / lstm_pointwise_bwd_kernel, in the same
// file as the loop), and what both CUDA variants accept (lstm_seq_cuda_supports).
//
// The math, the schedule and the bytes per step are in the comment block of
// lstm_cuda_time_loop.cuh. v1 (lstm_cuda_unfused.cu) runs the same loop with one kernel per
// elementwise operation. Both take F32/F16/BF16 storage.
//
// Reference: kernels/lstm/lstm_reference.cc. Tests: tests/kernels/test_lstm_cuda.cc (suite "cuda",
// every CUDA row x dtype against the reference). Bench: bench/bench_lstm.cc. Tutorial:
// kernels/lstm/README.md.
#include <climits>
#include <cstdint>
#include <string>

#include "kernels/lstm/lstm_cuda_time_loop.cuh"

namespace loom::kernels {
namespace {

using lstm_cuda::BwdStep;
using lstm_cuda::FwdStep;

template <class S>
void fwd_fused(const LstmSeqFwdArgs& a, const CudaContext& ctx) {
  const dim3 grid(blocks_for(a.B * a.H), static_cast<unsigned>(a.D));
  lstm_cuda::lstm_fwd_run<S>(a, ctx, [&](const FwdStep<S>& step, int s) {
    lstm_cuda::lstm_pointwise_fwd_kernel<S><<<grid, kBlock, 0, ctx.stream()>>>(step, s);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

template <class S>
void bwd_fused(const LstmSeqBwdArgs& a, const CudaContext& ctx) {
  const dim3 grid(blocks_for(a.fwd.B * a.fwd.H), static_cast<unsigned>(a.fwd.D));
  lstm_cuda::lstm_bwd_run<S>(a, ctx, [&](const BwdStep<S>& step, int s) {
    lstm_cuda::lstm_pointwise_bwd_kernel<S><<<grid, kBlock, 0, ctx.stream()>>>(step, s);
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
