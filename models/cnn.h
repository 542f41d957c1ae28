// models/cnn.h: Kim (2014) CNN for sentence classification.
//
//   tokens [T, B] -> Embedding [T', B, E] -> for each width K_i (3, 4, 5):
//                    Conv1d(E -> F, K_i, valid) [T' - K_i + 1, B, F] -> ReLU -> max over the row's
//                    valid windows [B, F]
//                 -> concat [B, W*F] -> Dropout -> Linear [B, K]
//
// The conv -> ReLU -> masked max stage is ONE fused node (layers::TextCnnBlock -> ops::textcnn),
// whose backward touches only the argmax positions.
// Short inputs (any T >= 1, any len_b >= 1 works): T' = max(T, K_max), and a row shorter than the
// widest kernel is convolved as if padded with <pad> tokens up to K_max (its "padded length"
// max(len_b, K_max)), so it still gets at least one window per width. That is what PyTorch users
// get by padding every batch to at least K_max tokens; windows past a row's padded length never
// win the max, so neither the batch's padding nor the other rows change a row's logits.
// State dict: embedding.weight, convs.{i}.weight [F, E, K_i], convs.{i}.bias [F], head.weight
// [K, W*F], head.bias.
#pragma once

#include "layers/conv1d.h"
#include "models/text_classifier.h"

namespace loom::models {

class CnnClassifier final : public TextClassifier {
 public:
  CnnClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);
  Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const override;

 protected:
  std::vector<layers::NamedTensor> body_parameters() const override;

 private:
  layers::TextCnnBlock convs_;
  std::int64_t min_len_;  // K_max
};

// The text-CNN block of a model config: widths x filters, valid padding, the config's conv impl.
layers::TextCnnConfig textcnn_config(const ModelConfig& config, std::int64_t in_channels, DType dtype);

}  // namespace loom::models
