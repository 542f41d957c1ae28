// models/bow.h: the bag-of-embeddings baseline (fastText-style), the model users compare against.
//
//   tokens [T, B] -> Embedding [T, B, E] -> mean over each row's len_b tokens [B, E] -> Linear [B, K]
//
// The mean runs over valid tokens only (global_mean_pool with lengths), so padding never dilutes
// it. No dropout: the baseline is the plain linear model on averaged embeddings, and its
// dropout would act on only E numbers per tweet (config.dropout is ignored, documented in
// models/README.md). State dict: embedding.weight [V, E], head.weight [K, E], head.bias [K].
#pragma once

#include "models/text_classifier.h"

namespace loom::models {

class BowClassifier final : public TextClassifier {
 public:
  BowClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);
  Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const override;

 protected:
  std::vector<layers::NamedTensor> body_parameters() const override { return {}; }
};

}  // namespace loom::models
