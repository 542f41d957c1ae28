// models/meta_mlp.cc: the metadata tower (scaler + meta.0 + ReLU) and the meta-mlp classifier.
// See models/meta_mlp.h.
#include "models/meta_mlp.h"

#include <algorithm>
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

std::int64_t bins_of(const ModelConfig& c) { return c.meta_encoding == "ple" ? c.meta_bins : 0; }

}  // namespace

// ---- MetaTower ------------------------------------------------------------------------------------

MetaTower::MetaTower(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : features_(validated(config).meta_features),
      bins_(bins_of(config)),
      device_(device),
      dtype_(dtype),
      linear_(dense_config(config, config.meta_features * std::max<std::int64_t>(bins_, 1), config.meta_hidden, dtype),
              seed, device),
      mean_(Tensor::zeros({config.meta_features}, dtype, device)),
      std_(Tensor::full({config.meta_features}, 1.0, dtype, device)) {
  if (bins_ > 0) {
    lo_ = Tensor::zeros({features_ * bins_}, dtype, device);
    inv_width_ = Tensor::zeros({features_ * bins_}, dtype, device);
  }
}

Tensor MetaTower::encode(const Tensor& meta, const char* who) const {
  if (bins_ == 0) return standardize(meta, who);
  const Tensor x = checked_input(meta, who);
  const std::int64_t n = features_ * bins_, rows = x.dim(0);
  // Each column repeated m times, on the host: the features are inputs (no gradient flows back to
  // them) and a copy, unlike a matmul with a 0/1 matrix, stays exact under autocast. z is then the
  // same sub and mul as standardize(), so its values are the same.
  const std::vector<double> xs = x.to_vector_f64(), mean = mean_.to_vector_f64(), sd = std_.to_vector_f64();
  std::vector<double> rep(static_cast<std::size_t>(rows * n)), mean_rep(static_cast<std::size_t>(n)),
      inv_std_rep(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < features_; ++j)
    for (std::int64_t b = 0; b < bins_; ++b) {
      mean_rep[static_cast<std::size_t>(j * bins_ + b)] = mean[static_cast<std::size_t>(j)];
      inv_std_rep[static_cast<std::size_t>(j * bins_ + b)] = 1.0 / sd[static_cast<std::size_t>(j)];
      for (std::int64_t r = 0; r < rows; ++r)
        rep[static_cast<std::size_t>(r * n + j * bins_ + b)] = xs[static_cast<std::size_t>(r * features_ + j)];
    }
  const Tensor z = ops::mul(ops::sub(Tensor::from_vector(rep, {rows, n}, dtype_, device_),
                                     Tensor::from_vector(mean_rep, {n}, dtype_, device_)),
                            Tensor::from_vector(inv_std_rep, {n}, dtype_, device_));
  // t = (z_j - lo_jb) * inv_width_jb; then v = t + low * relu(-t) - high * relu(t - 1), where
  // low = 1 clamps below (every bin but a feature's first) and high = 1 clamps above (every used
  // bin but its last): relu(t) - relu(t - 1) in the middle, min(t, 1) first, max(t, 0) last, t
  // alone for a one-bin feature. Unused slots (inv_width 0) give t = 0, so v = 0. The masks come
  // from the buffer each call, which stays the one source of truth after load_state_dict.
  const std::vector<double> inv = inv_width_.to_vector_f64();
  std::vector<double> low(static_cast<std::size_t>(n), 0.0), high(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t j = 0; j < features_; ++j) {
    std::int64_t used = 0;
    while (used < bins_ && inv[static_cast<std::size_t>(j * bins_ + used)] != 0.0) ++used;
    for (std::int64_t b = 0; b < used; ++b) {
      low[static_cast<std::size_t>(j * bins_ + b)] = b > 0 ? 1.0 : 0.0;
      high[static_cast<std::size_t>(j * bins_ + b)] = b + 1 < used ? 1.0 : 0.0;
    }
  }
  const Tensor low_t = Tensor::from_vector(low, {n}, dtype_, device_);
  const Tensor high_t = Tensor::from_vector(high, {n}, dtype_, device_);
  const Tensor one = Tensor::full({n}, 1.0, dtype_, device_);
  const Tensor t = ops::mul(ops::sub(z, lo_), inv_width_);
  const Tensor below = ops::mul(ops::relu(ops::scale(t, -1.0f)), low_t);
  const Tensor above = ops::mul(ops::relu(ops::sub(t, one)), high_t);
  return ops::sub(ops::add(t, below), above);
}

void MetaTower::set_encoding(const std::vector<float>& lo, const std::vector<float>& inv_width) {
  LOOM_CHECK(bins_ > 0, "set_meta_encoding: the model was built with meta_encoding standardize (no bins)");
  const std::size_t n = static_cast<std::size_t>(features_ * bins_);
  LOOM_CHECK(lo.size() == n && inv_width.size() == n, "set_meta_encoding: the model has ", features_, " features x ",
             bins_, " bins = ", n, " slots, got ", lo.size(), " lo and ", inv_width.size(), " inv_width values");
  for (std::size_t k = 0; k < n; ++k) {
    LOOM_CHECK(std::isfinite(lo[k]) && std::isfinite(inv_width[k]) && inv_width[k] >= 0.0f, "set_meta_encoding: slot ",
               k, " (feature ", k / bins_, ", bin ", k % bins_, ") has lo ", lo[k], ", inv_width ", inv_width[k],
               " (must be finite, inv_width >= 0)");
    LOOM_CHECK(k % bins_ == 0 || inv_width[k] == 0.0f || inv_width[k - 1] != 0.0f, "set_meta_encoding: feature ",
               k / bins_, " has a used bin ", k % bins_, " after an unused one");
  }
  Tensor(lo_).copy_from(Tensor::from_vector(lo, {features_ * bins_}, dtype_, device_));
  Tensor(inv_width_).copy_from(Tensor::from_vector(inv_width, {features_ * bins_}, dtype_, device_));
}

PleBins fit_ple_bins(const std::vector<std::vector<float>>& rows, const std::vector<float>& mean,
                     const std::vector<float>& std, std::int64_t bins) {
  LOOM_CHECK(bins >= 1, "PLE bins: need >= 1 bin per feature, got ", bins);
  LOOM_CHECK(mean.size() == std.size(), "PLE bins: ", mean.size(), " means but ", std.size(), " standard deviations");
  LOOM_CHECK(!rows.empty(), "PLE bins: no training rows to take quantiles of");
  const std::size_t f = mean.size(), m = static_cast<std::size_t>(bins), n = rows.size();
  PleBins out;
  out.lo.assign(f * m, 0.0f);
  out.inv_width.assign(f * m, 0.0f);
  std::vector<float> z(n);
  for (std::size_t j = 0; j < f; ++j) {
    // The tower's own arithmetic in F32: (x - mean) * (1 / std).
    const float inv_std = static_cast<float>(1.0 / static_cast<double>(std[j]));
    for (std::size_t i = 0; i < n; ++i) {
      LOOM_CHECK(rows[i].size() == f, "PLE bins: row ", i, " has ", rows[i].size(), " features, expected ", f);
      z[i] = (rows[i][j] - mean[j]) * inv_std;
    }
    std::sort(z.begin(), z.end());
    std::vector<float> edges;
    for (std::size_t k = 0; k <= m; ++k) {
      // The nearest order statistic (no interpolation): a two-valued feature keeps two edges.
      const std::size_t idx = static_cast<std::size_t>(std::llround(static_cast<double>(k) * (n - 1) / m));
      if (edges.empty() || z[idx] > edges.back()) edges.push_back(z[idx]);
    }
    for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
      out.lo[j * m + b] = edges[b];
      out.inv_width[j * m + b] = static_cast<float>(1.0 / (static_cast<double>(edges[b + 1]) - edges[b]));
    }
  }
  return out;
}

Tensor MetaTower::checked_input(const Tensor& meta, const char* who) const {
  LOOM_CHECK_SHAPE(meta.defined() && is_floating(meta.dtype()) && meta.ndim() == 2 && meta.dim(0) >= 1 &&
                       meta.dim(1) == features_,
                   who, " model: meta must be float [B, ", features_, "] (the raw account features), got ",
                   describe(meta));
  return meta.to(device_).to(dtype_);  // inputs: no gradient flows back to them
}

Tensor MetaTower::standardize(const Tensor& meta, const char* who) const {
  const Tensor x = checked_input(meta, who);
  // 1/std from the buffer each call (F values, next to the host pass over the tokens): the buffer
  // stays the one source of truth whether set_meta_scaler or load_state_dict filled it.
  std::vector<double> inv = std_.to_vector_f64();
  for (double& v : inv) v = 1.0 / v;
  const Tensor inv_std = Tensor::from_vector(inv, {features_}, dtype_, device_);
  return ops::mul(ops::sub(x, mean_), inv_std);
}

Tensor MetaTower::forward(const Tensor& meta, const char* who) const {
  return ops::relu(linear_.forward(encode(meta, who)));
}

std::vector<layers::NamedTensor> MetaTower::named_parameters() const {
  std::vector<layers::NamedTensor> out;
  for (const auto& [name, t] : linear_.named_parameters()) out.emplace_back("meta.0." + name, t);
  return out;
}

std::vector<layers::NamedTensor> MetaTower::named_buffers() const {
  std::vector<layers::NamedTensor> out{{"meta_scaler.mean", mean_}, {"meta_scaler.std", std_}};
  if (bins_ > 0) {
    out.emplace_back("meta_encoding.lo", lo_);
    out.emplace_back("meta_encoding.inv_width", inv_width_);
  }
  return out;
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
