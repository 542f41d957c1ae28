// models/meta_mlp.cc: the metadata tower (scaler + meta.0 + ReLU) and the meta-mlp classifier.
// See models/meta_mlp.h.
#include "models/meta_mlp.h"

#include <cmath>

#include "core/error.h"
#include "ops/elementwise.h"

namespace loom::models {

layers::LinearConfig dense_config(const ModelConfig& config, std::int64_t in, std::int64_t out, DType dtype) {
  layers::LinearConfig l;
  l.in_features = in;
  l.out_features = out;
  l.init = config.init == Init::Keras ? layers::LinearInit::Glorot : layers::LinearInit::Torch;
  l.dtype = dtype;
  return l;
}

namespace {

const ModelConfig& validated(const ModelConfig& c) {
  c.validate();  // before any layer is built, so a bad config names its field
  return c;
}

}  // namespace

// ---- MetaTower ------------------------------------------------------------------------------------

MetaTower::MetaTower(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : features_(validated(config).meta_features),
      device_(device),
      dtype_(dtype),
      linear_(dense_config(config, config.meta_features, config.meta_hidden, dtype), seed, device),
      mean_(Tensor::zeros({config.meta_features}, dtype, device)),
      std_(Tensor::full({config.meta_features}, 1.0, dtype, device)) {}

Tensor MetaTower::standardize(const Tensor& meta, const char* who) const {
  LOOM_CHECK_SHAPE(meta.defined() && is_floating(meta.dtype()) && meta.ndim() == 2 && meta.dim(0) >= 1 &&
                       meta.dim(1) == features_,
                   who, " model: meta must be float [B, ", features_, "] (the raw account features), got ",
                   describe(meta));
  const Tensor x = meta.to(device_).to(dtype_);  // inputs: no gradient flows back to them
  // 1/std from the buffer each call (F values, next to the host pass over the tokens): the buffer
  // stays the one source of truth whether set_meta_scaler or load_state_dict filled it.
  std::vector<double> inv = std_.to_vector_f64();
  for (double& v : inv) v = 1.0 / v;
  const Tensor inv_std = Tensor::from_vector(inv, {features_}, dtype_, device_);
  return ops::mul(ops::sub(x, mean_), inv_std);
}

Tensor MetaTower::forward(const Tensor& meta, const char* who) const {
  return ops::relu(linear_.forward(standardize(meta, who)));
}

std::vector<layers::NamedTensor> MetaTower::named_parameters() const {
  std::vector<layers::NamedTensor> out;
  for (const auto& [name, t] : linear_.named_parameters()) out.emplace_back("meta.0." + name, t);
  return out;
}

std::vector<layers::NamedTensor> MetaTower::named_buffers() const {
  return {{"meta_scaler.mean", mean_}, {"meta_scaler.std", std_}};
}

void MetaTower::set_scaler(const std::vector<float>& mean, const std::vector<float>& std) {
  LOOM_CHECK(static_cast<std::int64_t>(mean.size()) == features_ && static_cast<std::int64_t>(std.size()) == features_,
             "set_meta_scaler: the model reads ", features_, " metadata features, got ", mean.size(), " means and ",
             std.size(), " standard deviations");
  for (std::int64_t f = 0; f < features_; ++f) {
    LOOM_CHECK(std::isfinite(mean[f]), "set_meta_scaler: mean of feature ", f, " is ", mean[f]);
    LOOM_CHECK(std::isfinite(std[f]) && std[f] > 0.0f, "set_meta_scaler: std of feature ", f, " is ", std[f],
               " (must be finite and > 0; a constant feature gets 1)");
  }
  Tensor(mean_).copy_from(Tensor::from_vector(mean, {features_}, dtype_, device_));
  Tensor(std_).copy_from(Tensor::from_vector(std, {features_}, dtype_, device_));
}

// ---- MetaMlpClassifier ----------------------------------------------------------------------------

MetaMlpClassifier::MetaMlpClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : Classifier(config, device, dtype),
      tower_(config, sub_seed(seed, kMetaSeedIndex), device, dtype),
      head_(dense_config(config, config.meta_hidden, config.num_outputs, dtype), sub_seed(seed, kMetaHeadSeedIndex),
            device) {}

Tensor MetaMlpClassifier::features(const ModelInputs& in, layers::Phase, Generator&) const {
  return tower_.forward(in.meta, "meta-mlp");
}

Tensor MetaMlpClassifier::forward(const ModelInputs& in, layers::Phase phase, Generator& gen) const {
  const Tensor h = features(in, phase, gen);
  const bool drop = phase == layers::Phase::Train && config_.dropout > 0.0f;
  return head_.forward(drop ? ops::dropout(h, config_.dropout, gen) : h);
}

std::vector<layers::NamedTensor> MetaMlpClassifier::named_parameters() const {
  std::vector<layers::NamedTensor> out = tower_.named_parameters();
  for (const auto& [name, t] : head_.named_parameters()) out.emplace_back("head." + name, t);
  return out;
}

}  // namespace loom::models
