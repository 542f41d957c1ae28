// models/cnn_lstm.cc: conv -> ReLU -> max pool -> LSTM (see models/cnn_lstm.h).
#include "models/cnn_lstm.h"

#include "ops/elementwise.h"
#include "ops/pool.h"
#include "models/lstm.h"

namespace loom::models {
namespace {

layers::Conv1dConfig conv_config(const ModelConfig& config, DType dtype) {
  layers::Conv1dConfig c;
  c.in_channels = config.embed_dim;
  c.out_channels = config.filters;
  c.kernel_size = config.widths.front();
  c.options.impl = config.conv_impl;  // valid padding
  c.dtype = dtype;
  return c;
}

}  // namespace

CnnLstmClassifier::CnnLstmClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : TextClassifier(config, seed, device, dtype),
      conv_(conv_config(config, dtype), sub_seed(seed, 2), device),
      lstm_(lstm_config(config, config.filters, layers::Directions::Uni, dtype), sub_seed(seed, 3), device) {}

Tensor CnnLstmClassifier::encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase,
                                  Generator& gen) const {
  const std::int64_t K = conv_.config().kernel_size;
  const Inputs in = prepare(tokens, lengths, K + kPool - 1);
  const Tensor x = embed(in.tokens);                // [T', B, E]
  const Tensor c = ops::relu(conv_.forward(x));      // [T' - K + 1, B, F]
  const Tensor c_len = ops::conv1d_output_lengths(in.padded_lengths, ops::conv1d_geometry(x, conv_.weight(), conv_.config().options));
  const ops::MaxPool1dResult p = ops::max_pool1d(c, c_len, kPool, kPool);  // [T_p, B, F], lengths >= 1
  const layers::LstmOutput out = lstm_.forward(p.y, p.lengths, Tensor(), Tensor(), phase, gen);
  return state_row(out.h_n, config_.layers - 1);
}

std::vector<layers::NamedTensor> CnnLstmClassifier::body_parameters() const {
  std::vector<layers::NamedTensor> out = prefixed("conv", conv_.named_parameters());
  for (auto& p : prefixed("lstm", lstm_.named_parameters())) out.push_back(std::move(p));
  return out;
}

}  // namespace loom::models
