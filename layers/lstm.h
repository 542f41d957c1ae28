// layers/lstm.h: a multi-layer, optionally bidirectional LSTM with PyTorch's interface.
//
//   x [T, B, C] (+ lengths [B]) -> layer 0 -> dropout -> layer 1 -> ... -> output [T, B, D*H]
//   h_n, c_n [L*D, B, H], row l*D + d for layer l, direction d (0 forward, 1 reverse)
//
// Each layer is one ops::lstm_seq call covering both directions (ops/lstm.cc), so the
// engine runs forward and reverse together. Padded positions (t >= len_b) of the output are zero.
// Parameters per layer l and direction suffix s ("" or "_reverse"), exactly torch.nn.LSTM's:
//   weight_ih_l{l}{s} [4H, C_l]   weight_hh_l{l}{s} [4H, H]   bias_ih_l{l}{s} [4H]   bias_hh_l{l}{s} [4H]
// with C_0 = C and C_l = D*H above. Gate order i, f, g, o.
//
// Initialization presets:
//   Torch (default): every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), as torch.nn.LSTM.
//   Keras: weight_ih Glorot-uniform over the [C, 4H] kernel (limit sqrt(6 / (C + 4H))),
//          weight_hh orthogonal per [H, 4H] recurrent kernel, bias_ih zero except the forget
//          gate = 1 (Keras' unit_forget_bias), bias_hh zero. (Keras keeps one bias; PyTorch's
//          two add up, so the pair reproduces it.)
#pragma once

#include <cstdint>

#include "ops/lstm.h"
#include "core/random.h"
#include "layers/module.h"

namespace loom::layers {

enum class LstmInit { Torch, Keras };
enum class Directions { Uni = 1, Bi = 2 };

struct LstmConfig {
  std::int64_t input_size = 0;   // C
  std::int64_t hidden_size = 0;  // H
  int num_layers = 1;            // L
  Directions directions = Directions::Uni;
  float dropout = 0.0f;          // between layers, training only (not after the last layer)
  LstmInit init = LstmInit::Torch;
  ops::LstmSeqOptions impl;      // --impl and the kernel variant, per layer
  DType dtype = DType::F32;      // parameter dtype (F64 for the models' gradient checks)
};

struct LstmOutput {
  Tensor output;  // [T, B, D*H]
  Tensor h_n;     // [L*D, B, H]
  Tensor c_n;     // [L*D, B, H]
};

class Lstm final : public Module {
 public:
  Lstm(const LstmConfig& config, std::uint64_t seed, Device device = Device::cpu());

  // lengths: I32 [B] on the input's device, or undefined for full length.
  // h0, c0: [L*D, B, H] or undefined for zeros.
  LstmOutput forward(const Tensor& x, const Tensor& lengths = Tensor(), const Tensor& h0 = Tensor(),
                     const Tensor& c0 = Tensor(), Phase phase = Phase::Train,
                     Generator& gen = default_generator()) const;

  std::vector<NamedTensor> named_parameters() const override;
  const LstmConfig& config() const { return config_; }
  int num_directions() const { return static_cast<int>(config_.directions); }

 private:
  struct DirectionWeights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  LstmConfig config_;
  std::vector<DirectionWeights> weights_;  // index l * D + d
};

}  // namespace loom::layers
