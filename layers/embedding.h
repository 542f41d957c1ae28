// layers/embedding.h: a token embedding table with PyTorch's interface.
//
//   ids [S...] I32 -> weight[ids] [S..., E]        weight [V, E], state_dict name "weight"
//
// Init: Normal (default) N(0, 1) as torch.nn.Embedding; Uniform U(-a, a) (Keras' Embedding uses
// a = 0.05). No padding_idx: the <pad> row (id 0) is an ordinary trainable row, as in
// nn.Embedding without padding_idx; the models never let a padded position reach the output, so
// the row is not special (models/README.md). Freezing (--freeze-embeddings) turns the weight's
// requires_grad off: the lookup then records nothing and no [V, E] gradient is ever formed.
#pragma once

#include <cstdint>

#include "ops/embedding.h"
#include "layers/module.h"

namespace loom::layers {

enum class EmbeddingInit { Normal, Uniform };

struct EmbeddingConfig {
  std::int64_t num_embeddings = 0;  // V
  std::int64_t embedding_dim = 0;   // E
  EmbeddingInit init = EmbeddingInit::Normal;
  float uniform_bound = 0.05f;      // Uniform only
  DType dtype = DType::F32;
};

class Embedding final : public Module {
 public:
  Embedding(const EmbeddingConfig& config, std::uint64_t seed, Device device = Device::cpu());
  Tensor forward(const Tensor& ids) const { return ops::embedding(weight_, ids); }
  std::vector<NamedTensor> named_parameters() const override { return {{"weight", weight_}}; }
  const Tensor& weight() const { return weight_; }
  const EmbeddingConfig& config() const { return config_; }
  // Frozen: excluded from training (requires_grad off, any stale gradient dropped).
  void set_frozen(bool frozen);
  bool frozen() const { return !weight_.requires_grad(); }

 private:
  EmbeddingConfig config_;
  Tensor weight_;
};

}  // namespace loom::layers
