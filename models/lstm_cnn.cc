// models/lstm_cnn.cc: LSTM -> text-CNN block (see models/lstm_cnn.h).
#include "models/lstm_cnn.h"

#include <algorithm>

#include "models/cnn.h"
#include "models/lstm.h"

namespace loom::models {

LstmCnnClassifier::LstmCnnClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : TextClassifier(config, seed, device, dtype),
      lstm_(lstm_config(config, config.embed_dim, layers::Directions::Uni, dtype), sub_seed(seed, 2), device),
      convs_(textcnn_config(config, config.hidden, dtype), sub_seed(seed, 3), device),
      min_len_(*std::max_element(config.widths.begin(), config.widths.end())) {}

Tensor LstmCnnClassifier::encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase,
                                  Generator& gen) const {
  const Inputs in = prepare(tokens, lengths, min_len_);
  const Tensor x = embed(in.tokens);  // [T', B, E]
  const layers::LstmOutput out = lstm_.forward(x, in.lengths, Tensor(), Tensor(), phase, gen);  // [T', B, H]
  const Tensor pooled = convs_.forward(out.output, in.padded_lengths);                          // [B, W*F]
  return pooled;
}

std::vector<layers::NamedTensor> LstmCnnClassifier::body_parameters() const {
  std::vector<layers::NamedTensor> out = prefixed("lstm", lstm_.named_parameters());
  for (auto& p : convs_.named_parameters()) out.push_back(std::move(p));
  return out;
}

}  // namespace loom::models
