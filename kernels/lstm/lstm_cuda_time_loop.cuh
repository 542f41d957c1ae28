// kernels/lstm/lstm_cuda_time_loop.cuh: what the two hand-written CUDA LSTMs share, included by
// lstm_cuda_time_loop.cu (the time loop, the fused pointwise kernels and variant v2) and
// lstm_cuda_unfused.cu (variant v1): the per-step arguments a variant's pointwise work receives,
// the small device helpers both use, and the time loop's entry, which takes that work as a callback.
//
//   lstm_cuda::lstm_fwd_run<S>(args, ctx, [&](const FwdStep<S>& step, int s) { ...launch... });
#pragma once

#include <cstdint>
#include <functional>

#include "kernels/common/launch.cuh"
#include "kernels/lstm/lstm.h"

namespace loom::kernels::lstm_cuda {

constexpr int kMaxDirs = 2;

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ std::int64_t row_length(const std::int32_t* lengths, std::int64_t b, std::int64_t T) {
  return lengths ? static_cast<std::int64_t>(lengths[b]) : T;
}

// The time index processing step s touches in a row of length len (s < len); reverse starts from
// the row's own last token.
__device__ __forceinline__ std::int64_t time_of(int reverse, std::int64_t len, std::int64_t s) {
  return reverse ? len - 1 - s : s;
}

// ---- what the per-step kernels of a variant receive ------------------------------------------------

template <class S>
struct FwdStepDir {
  const float* Z = nullptr;      // [T, B, 4H] x W_ih^T (+ h_prev W_hh^T of step s when in place)
  const float* Zh = nullptr;     // [B, 4H] h_prev W_hh^T of step s, or nullptr (in Z, or h_prev = 0)
  const S* bias = nullptr;       // [4H]
  S* h = nullptr;                // [B, H] running h (storage type: the next GEMM's operand)
  float* c = nullptr;            // [B, H] running c
  float* c_saved = nullptr;      // [T, B, H] or nullptr (inference)
  float* gates_saved = nullptr;  // [T, B, 4H] or nullptr
  int reverse = 0;
};

template <class S>
struct FwdStep {
  FwdStepDir<S> dir[kMaxDirs];
  const std::int32_t* lengths = nullptr;  // [B] or nullptr (all T)
  S* y = nullptr;                         // [T, B, D*H]
  std::int64_t steps = 0, B = 0, H = 0;
  int D = 1;
};

template <class S>
struct BwdStepDir {
  const float* gates = nullptr;    // [T, B, 4H] saved post-activation gates
  const float* c_saved = nullptr;  // [T, B, H]
  const S* c0 = nullptr;           // [B, H] or nullptr
  const S* dh_n = nullptr;         // [B, H] or nullptr
  const S* dc_n = nullptr;         // [B, H] or nullptr
  const float* dh_rec = nullptr;   // [B, H] dz_{s+1} W_hh, valid for rows active at s + 1
  float* dc = nullptr;             // [B, H] dc carry (dc_total * f of the step after)
  S* dZ = nullptr;                 // [T, B, 4H] dz of every step of this direction (zero at padding)
  S* dz_step = nullptr;            // [B, 4H] dz of step s for the dh GEMM, or nullptr (it reads dZ)
  int reverse = 0;
};

template <class S>
struct BwdStep {
  BwdStepDir<S> dir[kMaxDirs];
  const std::int32_t* lengths = nullptr;
  const S* dy = nullptr;  // [T, B, D*H] or nullptr (zeros)
  std::int64_t steps = 0, B = 0, H = 0;
  int D = 1;
};

// A variant's pointwise work for step s, launched on ctx's stream after the step's GEMM (forward)
// or before it (backward).
template <class S>
using FwdStepFn = std::function<void(const FwdStep<S>&, int s)>;
template <class S>
using BwdStepFn = std::function<void(const BwdStep<S>&, int s)>;

// The time loops (lstm_cuda_time_loop.cu), for S = float, __half, __nv_bfloat16. They trust
// arguments check_supported() accepted.
template <class S>
void lstm_fwd_run(const LstmSeqFwdArgs& a, const CudaContext& ctx, const FwdStepFn<S>& step);
template <class S>
void lstm_bwd_run(const LstmSeqBwdArgs& a, const CudaContext& ctx, const BwdStepFn<S>& step);

// Throws ShapeError with lstm_seq_cuda_supports()'s reason, or Error for a missing pointer.
void check_supported(const LstmSeqFwdArgs& a, const char* op);

}  // namespace loom::kernels::lstm_cuda
