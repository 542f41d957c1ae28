// models/fasttext.cc: the fastText classifier (see models/fasttext.h).
#include "models/fasttext.h"

#include "ops/pool.h"

namespace loom::models {

FastTextClassifier::FastTextClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : TextClassifier(config, seed, device, dtype) {}

Tensor FastTextClassifier::encode(const Tensor& tokens, const Tensor& lengths, layers::Phase, Generator&) const {
  const Inputs in = prepare(tokens, lengths, 1);
  const Tensor x = embed(in.tokens);                   // [T, B, E]: words and n-grams alike
  return ops::global_mean_pool(x, in.lengths);         // [B, E]: the mean over each row's ids
}

}  // namespace loom::models
