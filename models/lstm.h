// models/lstm.h: the unidirectional LSTM classifier.
//
//   tokens [T, B] -> Embedding [T, B, E] -> LSTM (L layers, dropout between layers, lengths)
//                 -> h_n of the last layer [B, H]  (the state after step len_b - 1 of each row)
//                 -> Dropout -> Linear [B, K]
//
// The LSTM runs each row for exactly len_b steps (lengths go into the kernel, as
// pack_padded_sequence does in PyTorch), so h_n IS the last valid hidden state: no gather, and
// padding never enters the recurrence. State dict: embedding.weight, lstm.weight_ih_l{k}
// [4H, E or H], lstm.weight_hh_l{k} [4H, H], lstm.bias_ih_l{k}, lstm.bias_hh_l{k} [4H], head.weight
// [K, H], head.bias: torch.nn.LSTM's names under the attribute "lstm".
#pragma once

#include "layers/lstm.h"
#include "models/text_classifier.h"

namespace loom::models {

class LstmClassifier final : public TextClassifier {
 public:
  LstmClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);
  Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const override;

 protected:
  std::vector<layers::NamedTensor> body_parameters() const override;

 private:
  layers::Lstm lstm_;
};

// The LSTM stack of a model config (hidden, layers, dropout between layers, init, impl).
layers::LstmConfig lstm_config(const ModelConfig& config, std::int64_t input_size, layers::Directions directions,
                               DType dtype);
// "prefix." + each name of a sub-module's parameters.
std::vector<layers::NamedTensor> prefixed(const std::string& prefix, const std::vector<layers::NamedTensor>& params);
// Row `row` of h_n [L*D, B, H] as [B, H] (a recorded view).
Tensor state_row(const Tensor& h_n, std::int64_t row);

}  // namespace loom::models
