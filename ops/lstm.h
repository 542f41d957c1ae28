// ops/lstm.h: the LSTM at two granularities, with autograd.
//
//   lstm_cell: ONE time step composed of primitive ops (linear, add, split, sigmoid, tanh, mul).
//              The tape records ~12 nodes per step, so a T-step loop shows backpropagation through
//              time unrolled: the teaching view (Tape::dump).
//   lstm_seq:  the whole sequence, one or two directions, as ONE fused node whose forward and
//              backward are one row of the LSTM variant table (kernels/lstm/lstm_variants.h: the
//              plain-loop reference, the CPU training path, our CUDA v1 and v2, cuDNN).
// Tests require both to give the same outputs and gradients (tests/layers/test_lstm_layer.cc).
//
// Parameters are PyTorch's: w_ih [4H, C], w_hh [4H, H], b_ih [4H], b_hh [4H], gate order i,f,g,o.
#pragma once

#include <string>
#include <vector>

#include "ops/impl.h"
#include "ops/tensor.h"

namespace loom::ops {

// Forward runs t = 0 .. len_b - 1; Reverse runs each row from its own last token back to t = 0.
enum class Direction { Forward, Reverse };

// Which of our hand-written CUDA kernels Impl::Cuda runs (kernels/lstm/README.md explains both):
//   Unfused (v1): one kernel per elementwise operation around cuBLAS GEMMs, the teaching baseline.
//   Fused   (v2): the input projection of all T steps in one GEMM, then per step one recurrent
//                 GEMM and ONE pointwise kernel for all gate math; backward mirrors it.
enum class LstmVariant { Unfused, Fused };

// The cuDNN algorithm Impl::Cudnn runs.
enum class CudnnRnnAlgo { Standard, PersistStatic };

struct LstmState {
  Tensor h;  // [B, H]
  Tensor c;  // [B, H]
};

// One step: z = x W_ih^T + b_ih + h W_hh^T + b_hh; i,f,g,o = split(z);
// c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = sigmoid(o) * tanh(c').
LstmState lstm_cell(const Tensor& x, const LstmState& state, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh);

struct LstmDirectionParams {
  Direction dir = Direction::Forward;
  Tensor w_ih, w_hh, b_ih, b_hh;  // PyTorch layout
  Tensor h0, c0;                  // [B, H] each, or undefined for zeros
};

struct LstmSeqOptions {
  Impl impl = Impl::Auto;                     // Auto: CPU -> cpu; CUDA -> cuda if supported, else cudnn
  LstmVariant variant = LstmVariant::Fused;   // for Impl::Cuda
  CudnnRnnAlgo cudnn_algo = CudnnRnnAlgo::Standard;  // for Impl::Cudnn
  // Tests and benches: run this row of the variant table by name ("reference", "cpu", "cuda-v1",
  // "cuda-v2", "cudnn", "cudnn-persist"), whatever the fields above say. Empty: use them.
  std::string row;
};

struct LstmSeqResult {
  Tensor y;                  // [T, B, D*H]; zero where t >= len_b
  std::vector<Tensor> h_n;   // D tensors [B, H]: the state after each row's last processed step
  std::vector<Tensor> c_n;   // D tensors [B, H]
  Impl impl = Impl::Auto;    // what actually ran: Cpu, Cuda or Cudnn
  std::string row;           // and which row of the variant table ("cpu", "cuda-v2", ...)
};

// x [T, B, C]; lengths I32 [B] on x's device, each in [0, T], or undefined for all T;
// dirs: one direction, or two (Forward then Reverse) for a bidirectional layer.
LstmSeqResult lstm_seq(const Tensor& x, const Tensor& lengths, const std::vector<LstmDirectionParams>& dirs,
                       const LstmSeqOptions& options = {});

}  // namespace loom::ops
