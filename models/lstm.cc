// models/lstm.cc: the LSTM classifier (see models/lstm.h), and the helpers the other LSTM
// models share. Step 1 of the reading path models -> layers/lstm.cc -> ops/lstm.cc -> kernels.
#include "models/lstm.h"

#include "ops/shape_ops.h"

namespace loom::models {

layers::LstmConfig lstm_config(const ModelConfig& config, std::int64_t input_size, layers::Directions directions,
                               DType dtype) {
  layers::LstmConfig c;
  c.input_size = input_size;
  c.hidden_size = config.hidden;
  c.num_layers = config.layers;
  c.directions = directions;
  c.dropout = config.layers > 1 ? config.dropout : 0.0f;  // between layers only, as torch.nn.LSTM
  c.init = config.init == Init::Keras ? layers::LstmInit::Keras : layers::LstmInit::Torch;
  c.impl = config.lstm_impl;
  c.dtype = dtype;
  return c;
}

std::vector<layers::NamedTensor> prefixed(const std::string& prefix, const std::vector<layers::NamedTensor>& params) {
  std::vector<layers::NamedTensor> out;
  for (const auto& [name, t] : params) out.emplace_back(prefix + "." + name, t);
  return out;
}

Tensor state_row(const Tensor& h_n, std::int64_t row) {
  return ops::reshape(ops::slice0(h_n, row, row + 1), {h_n.dim(1), h_n.dim(2)});
}

LstmClassifier::LstmClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : TextClassifier(config, seed, device, dtype),
      lstm_(lstm_config(config, config.embed_dim, layers::Directions::Uni, dtype), sub_seed(seed, 2), device) {}

Tensor LstmClassifier::encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const {
  const Inputs in = prepare(tokens, lengths, 1);
  const Tensor x = embed(in.tokens);                                                    // [T, B, E]
  const layers::LstmOutput out = lstm_.forward(x, in.lengths, Tensor(), Tensor(), phase, gen);
  return state_row(out.h_n, config_.layers - 1);                                       // [B, H]
}

std::vector<layers::NamedTensor> LstmClassifier::body_parameters() const {
  return prefixed("lstm", lstm_.named_parameters());
}

}  // namespace loom::models
