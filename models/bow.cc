// models/bow.cc: the bag-of-embeddings baseline (see models/bow.h).
#include "models/bow.h"

#include "ops/pool.h"

namespace loom::models {

BowClassifier::BowClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : TextClassifier(config, seed, device, dtype) {}

Tensor BowClassifier::encode(const Tensor& tokens, const Tensor& lengths, layers::Phase, Generator&) const {
  const Inputs in = prepare(tokens, lengths, 1);
  const Tensor x = embed(in.tokens);                        // [T, B, E]
  const Tensor mean = ops::global_mean_pool(x, in.lengths);  // [B, E]
  return mean;
}

}  // namespace loom::models
