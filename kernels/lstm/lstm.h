// kernels/lstm/lstm.h: the LSTM over a whole sequence, forward and backward, for one or two
// directions in one call (a BiLSTM layer runs both directions together).
//
// Conventions (architecture section 6; the same as torch.nn.LSTM and cuDNN):
//   gate order i, f, g, o in every [4H] vector and every [4H, *] weight;
//   sequences are time-major: x [T, B, C], y [T, B, D*H], direction d owns columns [d*H, (d+1)*H);
//   weights in PyTorch's layout: w_ih [4H, C], w_hh [4H, H]; kernels take the folded bias
//   b = b_ih + b_hh [4H] (ops/lstm.cc folds it, and its autograd splits the gradient back).
//
// Per step, row b, with z = x_t W_ih^T + h_prev W_hh^T + b   ([4H], split into zi, zf, zg, zo):
//   i = sigmoid(zi)  f = sigmoid(zf)  g = tanh(zg)  o = sigmoid(zo)
//   c = f * c_prev + i * g          h = o * tanh(c)
//
// Variable lengths are a kernel argument, not a caller's chore. Row b has len_b valid steps
// (lengths == nullptr: all T). Processing step s = 0 .. T-1 touches row b only if s < len_b, at time
//   t = s                  (Direction::Forward)
//   t = len_b - 1 - s      (Direction::Reverse: each row runs backwards from its own last token,
//                           inside the kernel, with no reversed copy of the input)
// Positions t >= len_b of y are zero. The final state (h_n, c_n) is the state after the row's last
// processed step (t = len_b - 1 forward, t = 0 reverse); len_b == 0 is allowed: y is zero for the
// whole row and the final state equals the initial state.
//
// Precision: x, weights, bias, h0, c0, y, h_n, c_n are in `dtype` (F32, F16, BF16; F64 on the CPU
// only). Everything is computed in F32 (F64 for F64), and the saved cell states and gates are F32
// (F64 for F64) whatever the storage type, so backward does not lose bits to half precision.
#pragma once

#include <cstddef>
#include <string>

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

inline constexpr char kGateOrder[] = "ifgo";

enum class Direction { Forward, Reverse };

// Implementation variants of the hand-written CUDA LSTM. Tests and benches loop over all of them.
//   Unfused (v1): one kernel per elementwise operation around cuBLAS GEMMs, the way an eager
//                 framework runs an LSTM cell: the teaching baseline.
//   Fused   (v2): the input projection of all T steps in one GEMM before the loop; per step the
//                 recurrent GEMM accumulates into the pre-activations (beta = 1) and ONE pointwise
//                 kernel does all gate math; backward mirrors it.
enum class LstmVariant { Unfused, Fused };
const char* lstm_variant_name(LstmVariant);

// The cuDNN algorithm used by the cuDNN fallback.
enum class CudnnRnnAlgo { Standard, PersistStatic };

// One direction's parameters, inputs and outputs. Every pointer lives on the device of x.
struct LstmDirection {
  Direction dir = Direction::Forward;
  const void* w_ih = nullptr;  // [4H, C]     dtype
  const void* w_hh = nullptr;  // [4H, H]     dtype
  const void* bias = nullptr;  // [4H]        dtype, b_ih + b_hh
  const void* h0 = nullptr;    // [B, H]      dtype, nullable = zeros
  const void* c0 = nullptr;    // [B, H]      dtype, nullable = zeros
  void* h_n = nullptr;         // [B, H]      dtype, out
  void* c_n = nullptr;         // [B, H]      dtype, out
  // Saved for backward (training); both nullptr in inference. F32 (F64 for F64 storage).
  void* c_saved = nullptr;      // [T, B, H]  cell state at each valid (t, b); padding untouched
  void* gates_saved = nullptr;  // [T, B, 4H] post-activation i, f, g, o at each valid (t, b)
};

struct LstmSeqFwdArgs {
  std::int64_t T = 0, B = 0, C = 0, H = 0;
  int D = 1;                             // 1 or 2 directions
  DType dtype = DType::F32;
  const void* x = nullptr;               // [T, B, C]
  const std::int32_t* lengths = nullptr; // [B], each in [0, T]; nullable = all T
  LstmDirection dirs[2];                 // dirs[0 .. D-1]
  void* y = nullptr;                     // [T, B, D*H] out
  // cuDNN path only: the opaque reserve space its training forward fills and its backward reads
  // (lstm_seq_cudnn_reserve_bytes); nullptr in inference. Our own kernels use c_saved/gates_saved.
  void* cudnn_reserve = nullptr;
  std::size_t cudnn_reserve_bytes = 0;
};

// Backward of one direction. Gradients of parameters honour param_mode, of inputs input_mode.
struct LstmDirectionGrad {
  void* dw_ih = nullptr;  // [4H, C]  dtype
  void* dw_hh = nullptr;  // [4H, H]  dtype
  void* dbias = nullptr;  // [4H]     dtype
  void* dh0 = nullptr;    // [B, H]   dtype, nullable (not needed)
  void* dc0 = nullptr;    // [B, H]   dtype, nullable
  const void* dh_n = nullptr;  // [B, H] dtype, nullable = zeros (gradient arriving at the final state)
  const void* dc_n = nullptr;  // [B, H] dtype, nullable = zeros
};

struct LstmSeqBwdArgs {
  LstmSeqFwdArgs fwd;             // the forward call's arguments, with y and the saved buffers filled
  const void* dy = nullptr;       // [T, B, D*H] gradient of y (padding ignored), nullable = zeros
  LstmDirectionGrad grads[2];
  void* dx = nullptr;             // [T, B, C] nullable (not needed); written for all t (zero at padding)
  GradMode param_mode = GradMode::Accumulate;  // dw_ih, dw_hh, dbias
  GradMode input_mode = GradMode::Overwrite;   // dx, dh0, dc0
};

// FLOPs and minimum bytes, as the comment in lstm_cpu.cc derives them:
//   forward per direction: 2*T*B*4H*(C + H) GEMM flops + 23*T*B*H pointwise;
//   backward per direction: 2*T*B*4H*H for dh_prev, plus 2*T*B*4H*H (dW_hh), 2*T*B*4H*C (dW_ih)
//   and 2*T*B*4H*C (dx) for each gradient wanted (2*T*B*4H*(2C + 2H) with all of them),
//   + 25*T*B*H pointwise (+ 4*T*B*H for the db column sum).
Cost lstm_seq_fwd_cost(const LstmSeqFwdArgs&);
Cost lstm_seq_bwd_cost(const LstmSeqBwdArgs&);

// The CPU reference and training path (float and double inside; F16/BF16 widened to F32).
void lstm_seq_fwd_cpu(const LstmSeqFwdArgs&);
void lstm_seq_bwd_cpu(const LstmSeqBwdArgs&);

// Hand-written CUDA (F32, F16, BF16 storage).
void lstm_seq_fwd_cuda(const LstmSeqFwdArgs&, const CudaContext&, LstmVariant = LstmVariant::Fused);
void lstm_seq_bwd_cuda(const LstmSeqBwdArgs&, const CudaContext&, LstmVariant = LstmVariant::Fused);
bool lstm_seq_cuda_supports(const LstmSeqFwdArgs&, std::string* why_not);

// cuDNN fallback and baseline (F32, F16; BF16 where the cuDNN version supports it).
void lstm_seq_fwd_cudnn(const LstmSeqFwdArgs&, const CudaContext&, CudnnRnnAlgo = CudnnRnnAlgo::Standard);
void lstm_seq_bwd_cudnn(const LstmSeqBwdArgs&, const CudaContext&, CudnnRnnAlgo = CudnnRnnAlgo::Standard);
bool lstm_seq_cudnn_supports(const LstmSeqFwdArgs&, CudnnRnnAlgo, std::string* why_not);
std::size_t lstm_seq_cudnn_reserve_bytes(const LstmSeqFwdArgs&, const CudaContext&, CudnnRnnAlgo);

}  // namespace loom::kernels
