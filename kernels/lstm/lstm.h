// kernels/lstm/lstm.h: the LSTM over a whole sequence, forward and backward, for one or two
// directions in one call (a BiLSTM layer runs both directions together).
//
// Conventions (the same as torch.nn.LSTM and cuDNN):
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
//   t = time_of(reverse, len_b, s) = s               (reverse == false)
//                                  = len_b - 1 - s   (reverse == true: each row runs backwards from
//                                                     its own last token, with no reversed copy)
// Positions t >= len_b of y are zero. The final state (h_n, c_n) is the state after the row's last
// processed step (t = len_b - 1 forward, t = 0 reverse); len_b == 0 is allowed: y is zero for the
// whole row and the final state equals the initial state.
//
// Training or inference: a forward is a training forward when it has somewhere to save, i.e.
// dirs[d].c_saved != nullptr (and gates_saved). Our kernels fill those buffers; cuDNN keeps its own
// opaque state instead and hands it back as its BackendSaved object (kernels/common/variants.h).
//
// Precision: x, weights, bias, h0, c0, y, h_n, c_n are in `dtype` (F32, F16, BF16; F64 on the CPU
// only). Everything is computed in F32 (F64 for F64), and the saved cell states and gates are F32
// (F64 for F64) whatever the storage type, so backward does not lose bits to half precision.
//
// The implementations (each a row of the variant table, kernels/lstm/lstm_variants.h):
//   lstm_reference.cc      plain loops, the oracle of the tests
//   lstm_cpu.cc            threaded + BLAS, the CPU training path
//   lstm_cuda_time_loop.cu (v2) / lstm_cuda_unfused.cu (v1)   hand-written CUDA
//   lstm_cudnn.cc          cuDNN's RNN API
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"
#include "kernels/common/variants.h"

namespace loom::kernels {

inline constexpr char kGateOrder[] = "ifgo";

// One direction's parameters, inputs and outputs. Every pointer lives on the device of x.
struct LstmDirection {
  bool reverse = false;        // runs each row from its last valid token back to t = 0
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

// The naive reference: plain loops, one thread, no BLAS (lstm_reference.cc). F64, F32; F16/BF16
// widened to F32.
void lstm_seq_fwd_reference(const LstmSeqFwdArgs&);
void lstm_seq_bwd_reference(const LstmSeqBwdArgs&);

// The CPU training path: OpenMP threads own blocks of rows, GEMMs on BLAS (lstm_cpu.cc).
void lstm_seq_fwd_cpu(const LstmSeqFwdArgs&);
void lstm_seq_bwd_cpu(const LstmSeqBwdArgs&);

// Hand-written CUDA (F32, F16, BF16 storage). v1 unfused (lstm_cuda_unfused.cu): one kernel per
// elementwise operation; v2 fused (lstm_cuda_time_loop.cu): one pointwise kernel per step. Both run
// the time loop of lstm_cuda_time_loop.cu.
void lstm_seq_fwd_cuda_v1(const LstmSeqFwdArgs&, const CudaContext&);
void lstm_seq_bwd_cuda_v1(const LstmSeqBwdArgs&, const CudaContext&);
void lstm_seq_fwd_cuda_v2(const LstmSeqFwdArgs&, const CudaContext&);
void lstm_seq_bwd_cuda_v2(const LstmSeqBwdArgs&, const CudaContext&);
bool lstm_seq_cuda_supports(const LstmSeqFwdArgs&, std::string* why_not);

// cuDNN (F32, F16; BF16 where the cuDNN version supports it). A training forward returns what its
// backward needs (cuDNN's reserve space) and the backward takes it back; inference returns nullptr.
enum class CudnnLstmAlgo { Standard, PersistStatic };
std::unique_ptr<BackendSaved> lstm_seq_fwd_cudnn(const LstmSeqFwdArgs&, const CudaContext&, CudnnLstmAlgo);
void lstm_seq_bwd_cudnn(const LstmSeqBwdArgs&, const CudaContext&, CudnnLstmAlgo, const BackendSaved* saved);
bool lstm_seq_cudnn_supports(const LstmSeqFwdArgs&, CudnnLstmAlgo, std::string* why_not);

}  // namespace loom::kernels
