// layers/embedding.cc: the embedding table (see layers/embedding.h).
#include "layers/embedding.h"

namespace loom::layers {

Embedding::Embedding(const EmbeddingConfig& config, std::uint64_t seed, Device device) : config_(config) {
  const std::int64_t V = config.num_embeddings, E = config.embedding_dim;
  LOOM_CHECK(V > 0 && E > 0, "Embedding: num_embeddings and embedding_dim must be positive, got ", V, " and ", E);
  // Drawn on the CPU from the seed's Philox stream, so CPU and GPU models start identical.
  const Tensor w = config.init == EmbeddingInit::Normal
                       ? Tensor::normal({V, E}, 0.0f, 1.0f, seed, 0)
                       : Tensor::uniform({V, E}, -config.uniform_bound, config.uniform_bound, seed, 0);
  weight_ = w.to(config.dtype).to(device);
  weight_.set_requires_grad(true);
}

void Embedding::set_frozen(bool frozen) {
  weight_.set_requires_grad(!frozen);
  if (frozen) weight_.zero_grad();
}

}  // namespace loom::layers
