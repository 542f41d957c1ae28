// ops/lstm.h: the LSTM at two granularities, with autograd.
//
//   lstm_cell: ONE time step composed of primitive ops (linear, add, split, sigmoid, tanh, mul).
//              The tape records ~12 nodes per step, so a T-step loop shows backpropagation through
//              time unrolled: the teaching view (Tape::dump).
//   lstm_seq:  the whole sequence, one or two directions, as ONE fused node whose forward and
//              backward are the kernels of kernels/lstm/ (CPU reference, our CUDA, or cuDNN).
// Tests require both to give the same outputs and gradients (tests/layers/test_lstm_ops.cc).
//
// Parameters are PyTorch's: w_ih [4H, C], w_hh [4H, H], b_ih [4H], b_hh [4H], gate order i,f,g,o.
#pragma once

#include <vector>

#include "ops/impl.h"
#include "ops/tensor.h"
#include "kernels/lstm/lstm.h"

namespace loom::ops {

using kernels::CudnnRnnAlgo;
using kernels::Direction;
using kernels::LstmVariant;

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
};

struct LstmSeqResult {
  Tensor y;                  // [T, B, D*H]; zero where t >= len_b
  std::vector<Tensor> h_n;   // D tensors [B, H]: the state after each row's last processed step
  std::vector<Tensor> c_n;   // D tensors [B, H]
  Impl impl = Impl::Auto;    // what actually ran
};

// x [T, B, C]; lengths I32 [B] on x's device, each in [0, T], or undefined for all T;
// dirs: one direction, or two (Forward then Reverse) for a bidirectional layer.
LstmSeqResult lstm_seq(const Tensor& x, const Tensor& lengths, const std::vector<LstmDirectionParams>& dirs,
                       const LstmSeqOptions& options = {});

// The implementation Auto would pick for these arguments, and why (for LOOM_TRACE and errors).
Impl resolve_lstm_impl(const Tensor& x, const kernels::LstmSeqFwdArgs& args, const LstmSeqOptions& options,
                       std::string* reason);

}  // namespace loom::ops
