// models/cnn.cc: Kim's CNN (see models/cnn.h).
#include "models/cnn.h"

#include <algorithm>

namespace loom::models {

layers::TextCnnConfig textcnn_config(const ModelConfig& config, std::int64_t in_channels, DType dtype) {
  layers::TextCnnConfig c;
  c.in_channels = in_channels;
  c.widths = config.widths;
  c.filters = config.filters;
  c.options.impl = config.conv_impl;  // valid padding, dilation 1 (Kim)
  c.dtype = dtype;
  return c;
}

CnnClassifier::CnnClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : TextClassifier(config, seed, device, dtype),
      convs_(textcnn_config(config, config.embed_dim, dtype), sub_seed(seed, 2), device),
      min_len_(*std::max_element(config.widths.begin(), config.widths.end())) {}

Tensor CnnClassifier::encode(const Tensor& tokens, const Tensor& lengths, layers::Phase, Generator&) const {
  const Inputs in = prepare(tokens, lengths, min_len_);
  const Tensor x = embed(in.tokens);                             // [T', B, E]
  const Tensor pooled = convs_.forward(x, in.padded_lengths);    // [B, W*F]
  return pooled;
}

std::vector<layers::NamedTensor> CnnClassifier::body_parameters() const { return convs_.named_parameters(); }

}  // namespace loom::models
