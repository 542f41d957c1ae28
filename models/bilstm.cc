// models/bilstm.cc: the bidirectional LSTM classifier (see models/bilstm.h).
#include "models/bilstm.h"

#include "ops/shape_ops.h"
#include "models/lstm.h"

namespace loom::models {

BilstmClassifier::BilstmClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : TextClassifier(config, seed, device, dtype),
      lstm_(lstm_config(config, config.embed_dim, layers::Directions::Bi, dtype), sub_seed(seed, 2), device) {}

Tensor BilstmClassifier::encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase,
                                 Generator& gen) const {
  const Inputs in = prepare(tokens, lengths, 1);
  const Tensor x = embed(in.tokens);  // [T, B, E]
  const layers::LstmOutput out = lstm_.forward(x, in.lengths, Tensor(), Tensor(), phase, gen);
  const std::int64_t last = 2 * static_cast<std::int64_t>(config_.layers) - 2;  // the last layer's forward row
  const Tensor both = ops::concat_last({state_row(out.h_n, last), state_row(out.h_n, last + 1)});  // [B, 2H]
  return both;
}

std::vector<layers::NamedTensor> BilstmClassifier::body_parameters() const {
  return prefixed("lstm", lstm_.named_parameters());
}

}  // namespace loom::models
