// models/text_classifier.cc: the TextClassifier base: batch preparation, the head, state_dict
// loading. See models/text_classifier.h.
#include "models/text_classifier.h"

#include <algorithm>

#include "core/error.h"
#include "ops/elementwise.h"

namespace loom::models {
namespace {

layers::EmbeddingConfig embedding_config(const ModelConfig& c, DType dtype) {
  c.validate();  // before any layer is built, so a bad config names its field
  layers::EmbeddingConfig e;
  e.num_embeddings = c.embedding_rows();  // fasttext: + its n-gram buckets
  e.embedding_dim = c.embed_dim;
  e.init = c.init == Init::Keras ? layers::EmbeddingInit::Uniform : layers::EmbeddingInit::Normal;
  e.dtype = dtype;
  return e;
}

layers::LinearConfig head_config(const ModelConfig& c, DType dtype) {
  layers::LinearConfig l;
  l.in_features = c.feature_size();
  l.out_features = c.num_outputs;
  l.init = c.init == Init::Keras ? layers::LinearInit::Glorot : layers::LinearInit::Torch;
  l.dtype = dtype;
  return l;
}

}  // namespace

TextClassifier::TextClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : Classifier(config, device, dtype),
      embedding_(embedding_config(config, dtype), sub_seed(seed, 0), device),
      head_(head_config(config, dtype), sub_seed(seed, 1), device) {}

std::vector<layers::NamedTensor> TextClassifier::named_parameters() const {
  std::vector<layers::NamedTensor> out{{"embedding.weight", embedding_.weight()}};
  for (auto& p : body_parameters()) out.push_back(std::move(p));
  for (const auto& [name, t] : head_.named_parameters()) out.emplace_back("head." + name, t);
  return out;
}

TextClassifier::Inputs TextClassifier::prepare(const Tensor& tokens, const Tensor& lengths, std::int64_t min_len) const {
  LOOM_CHECK_SHAPE(tokens.defined() && tokens.dtype() == DType::I32 && tokens.ndim() == 2 && tokens.dim(0) >= 1 &&
                       tokens.dim(1) >= 1,
                   arch_name(config_.arch), " model: tokens must be i32 [T, B] with T, B >= 1, got ", describe(tokens));
  const std::int64_t T = tokens.dim(0), B = tokens.dim(1);
  LOOM_CHECK_SHAPE(lengths.defined() && lengths.dtype() == DType::I32 && lengths.shape() == Shape({B}),
                   arch_name(config_.arch), " model: lengths must be i32 [", B, "], got ", describe(lengths));
  const std::vector<std::int32_t> len = lengths.to_vector_i32();
  for (std::int64_t b = 0; b < B; ++b)
    LOOM_CHECK_SHAPE(len[b] >= 1 && len[b] <= T, arch_name(config_.arch), " model: lengths[", b, "] = ", len[b],
                     " is outside [1, T] = [1, ", T, "]");
  // One host pass over the ids (T*B ints, nothing next to the model's work): pad the time axis to
  // min_len and overwrite every position past a row's length with <pad>, whatever the batch held.
  const std::int64_t Tp = std::max(T, min_len);
  const std::vector<std::int32_t> ids = tokens.to_vector_i32();
  std::vector<std::int32_t> clean(static_cast<std::size_t>(Tp * B), 0);
  std::vector<std::int32_t> padded(len.size());
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < len[b]; ++t) clean[t * B + b] = ids[t * B + b];
    padded[b] = static_cast<std::int32_t>(std::max<std::int64_t>(len[b], min_len));
  }
  Inputs in;
  in.tokens = Tensor::from_vector(clean, {Tp, B}, device_);
  in.lengths = lengths.device() == device_ ? lengths : lengths.to(device_);
  in.padded_lengths = min_len > 1 ? Tensor::from_vector(padded, {B}, device_) : in.lengths;
  return in;
}

Tensor TextClassifier::head(const Tensor& features, layers::Phase phase, Generator& gen) const {
  const bool drop = phase == layers::Phase::Train && config_.dropout > 0.0f && config_.arch != Arch::Bow;
  return head_.forward(drop ? ops::dropout(features, config_.dropout, gen) : features);
}

}  // namespace loom::models
