// models/lstm_cnn.h: an LSTM reads the tweet, convolutions pick n-gram features from its states.
//
//   tokens [T, B] -> Embedding [T', B, E] -> LSTM (L layers, lengths) full sequence [T', B, H]
//                    (zero at t >= len_b)
//                 -> for each width K_i: Conv1d(H -> F, K_i, valid) -> ReLU -> max over the row's
//                    valid windows [B, F]     (one fused node: layers::TextCnnBlock)
//                 -> concat [B, W*F] -> Dropout -> Linear [B, K]
//
// The convolution stage is Kim's block (models/cnn.h) applied to the LSTM's outputs instead of
// the embeddings, with the same rule for short rows: T' = max(T, K_max), and a row shorter than
// K_max is seen with padded length max(len_b, K_max). Here the positions past len_b hold the
// LSTM's zeros, so a short row's windows read exactly the zeros a zero-padded convolution would.
// State dict: embedding.weight, lstm.* (input E), convs.{i}.weight [F, H, K_i], convs.{i}.bias,
// head.weight [K, W*F], head.bias.
#pragma once

#include "layers/conv1d.h"
#include "layers/lstm.h"
#include "models/text_classifier.h"

namespace loom::models {

class LstmCnnClassifier final : public TextClassifier {
 public:
  LstmCnnClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);
  Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const override;

 protected:
  std::vector<layers::NamedTensor> body_parameters() const override;

 private:
  layers::Lstm lstm_;
  layers::TextCnnBlock convs_;
  std::int64_t min_len_;  // K_max
};

}  // namespace loom::models
