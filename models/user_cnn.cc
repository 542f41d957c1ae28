// models/user_cnn.cc: the user-level Kim CNN over tweet vectors (see models/user_cnn.h).
#include "models/user_cnn.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "models/classifier.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/shape_ops.h"

namespace loom::models {
namespace {

layers::TextCnnConfig block_config(const UserCnnConfig& c) {
  c.validate();  // before any layer is built, so a bad config names its field
  layers::TextCnnConfig t;
  t.in_channels = c.input_size;
  t.widths = c.widths;
  t.filters = c.filters;
  t.options.impl = c.conv_impl;  // valid padding, dilation 1 (Kim)
  t.dtype = c.dtype;
  return t;
}

layers::LinearConfig head_config(const UserCnnConfig& c) {
  layers::LinearConfig l;
  l.in_features = c.feature_size();
  l.out_features = c.num_outputs;
  l.dtype = c.dtype;
  return l;
}

}  // namespace

void UserCnnConfig::validate() const {
  LOOM_CHECK(input_size > 0, "user cnn: input_size (the tweet vector size) must be positive, got ", input_size);
  LOOM_CHECK(!widths.empty() && widths.size() <= static_cast<std::size_t>(ops::kMaxTextCnnWidths),
             "user cnn: between 1 and ", ops::kMaxTextCnnWidths, " widths, got ", widths.size());
  for (std::int64_t w : widths) LOOM_CHECK(w >= 1, "user cnn: every width must be >= 1, got ", w);
  LOOM_CHECK(filters > 0, "user cnn: filters must be positive, got ", filters);
  LOOM_CHECK(dropout >= 0.0f && dropout < 1.0f, "user cnn: dropout must be in [0, 1), got ", dropout);
  LOOM_CHECK(num_outputs > 0, "user cnn: num_outputs must be positive, got ", num_outputs);
  LOOM_CHECK(dtype == DType::F32 || dtype == DType::F64, "user cnn: parameters must be f32 or f64, got ",
             dtype_name(dtype));
}

nlohmann::json UserCnnConfig::to_json() const {
  return {{"input_size", input_size},
          {"widths", widths},
          {"filters", filters},
          {"dropout", dropout},
          {"num_outputs", num_outputs}};
}

UserCnnConfig UserCnnConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) LOOM_THROW(CheckpointError, "user cnn config: expected a JSON object, found ", j.type_name());
  static const std::set<std::string> known{"input_size", "widths", "filters", "dropout", "num_outputs"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) LOOM_THROW(CheckpointError, "user cnn config: unknown field '", it.key(), "'");
  for (const std::string& name : known)
    if (!j.contains(name)) LOOM_THROW(CheckpointError, "user cnn config: missing field '", name, "'");
  auto integer = [&](const char* name) {
    const nlohmann::json& v = j.at(name);
    if (!v.is_number_integer())
      LOOM_THROW(CheckpointError, "user cnn config: field '", name, "' must be an integer, found ", v.dump());
    return v.get<std::int64_t>();
  };
  UserCnnConfig c;
  c.input_size = integer("input_size");
  c.filters = integer("filters");
  c.num_outputs = integer("num_outputs");
  const nlohmann::json& w = j.at("widths");
  if (!w.is_array()) LOOM_THROW(CheckpointError, "user cnn config: field 'widths' must be an array, found ", w.dump());
  c.widths.clear();
  for (const auto& v : w) {
    if (!v.is_number_integer())
      LOOM_THROW(CheckpointError, "user cnn config: field 'widths' must hold integers, found ", v.dump());
    c.widths.push_back(v.get<std::int64_t>());
  }
  const nlohmann::json& d = j.at("dropout");
  if (!d.is_number()) LOOM_THROW(CheckpointError, "user cnn config: field 'dropout' must be a number, found ", d.dump());
  c.dropout = d.get<float>();
  try {
    c.validate();
  } catch (const Error& e) {
    LOOM_THROW(CheckpointError, "user cnn config: ", e.what());
  }
  return c;
}

UserCnn::UserCnn(const UserCnnConfig& config, std::uint64_t seed, Device device)
    : config_(config),
      device_(device),
      convs_(block_config(config), Classifier::sub_seed(seed, 0), device),
      head_(head_config(config), Classifier::sub_seed(seed, 1), device),
      min_len_(*std::max_element(config.widths.begin(), config.widths.end())) {}

Tensor UserCnn::features(const Tensor& x, const Tensor& counts) const {
  LOOM_CHECK_SHAPE(x.defined() && x.ndim() == 3 && x.dim(0) >= 1 && x.dim(1) >= 1 && x.dim(2) == config_.input_size,
                   "user cnn: x must be [n, B, ", config_.input_size, "] with n, B >= 1, got ",
                   x.defined() ? x.str() : std::string("an undefined tensor"));
  LOOM_CHECK_SHAPE(x.dtype() == config_.dtype && x.device() == device_, "user cnn: x must be ",
                   dtype_name(config_.dtype), " on ", device_.str(), ", got ", x.str());
  const std::int64_t n = x.dim(0), B = x.dim(1), D = x.dim(2);
  LOOM_CHECK_SHAPE(counts.defined() && counts.dtype() == DType::I32 && counts.shape() == Shape({B}),
                   "user cnn: counts must be i32 [", B, "], got ", counts.defined() ? counts.str() : "undefined");
  const std::vector<std::int32_t> cnt = counts.to_vector_i32();
  for (std::int64_t b = 0; b < B; ++b)
    LOOM_CHECK_SHAPE(cnt[b] >= 1 && cnt[b] <= n, "user cnn: counts[", b, "] = ", cnt[b], " is outside [1, n] = [1, ",
                     n, "]");
  // One gather builds the convolutions' input [T', B, D], T' = max(n, K_max): slot (t, b) reads
  // x[t, b] when t < count_b and otherwise an appended zero row. This zeroes what lies past each
  // count and pads the time axis in one op, and its backward routes the gradient to x's valid
  // slots only (the fine-tuned tweet encoder is differentiated through it).
  const std::int64_t Tp = std::max(n, min_len_);
  const std::int32_t zero_row = static_cast<std::int32_t>(n * B);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(Tp * B), zero_row);
  std::vector<std::int32_t> padded(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < cnt[b]; ++t) ids[t * B + b] = static_cast<std::int32_t>(t * B + b);
    padded[b] = static_cast<std::int32_t>(std::max<std::int64_t>(cnt[b], min_len_));
  }
  const Tensor table = ops::concat0({ops::reshape(x, {n * B, D}), Tensor::zeros({1, D}, x.dtype(), device_)});
  const Tensor xp = ops::embedding(table, Tensor::from_vector(ids, {Tp, B}, device_));  // [T', B, D]
  return convs_.forward(xp, Tensor::from_vector(padded, {B}, device_));
}

Tensor UserCnn::forward(const Tensor& x, const Tensor& counts, layers::Phase phase, Generator& gen) const {
  const Tensor f = features(x, counts);
  const bool drop = phase == layers::Phase::Train && config_.dropout > 0.0f;
  return head_.forward(drop ? ops::dropout(f, config_.dropout, gen) : f);
}

std::vector<layers::NamedTensor> UserCnn::named_parameters() const {
  std::vector<layers::NamedTensor> out = convs_.named_parameters();
  for (const auto& [name, t] : head_.named_parameters()) out.emplace_back("head." + name, t);
  return out;
}

std::vector<layers::NamedTensor> UserCnn::state_dict() const {
  std::vector<layers::NamedTensor> out = convs_.state_dict();
  for (const auto& [name, t] : head_.named_parameters()) out.emplace_back("head." + name, t);
  return out;
}

void UserCnn::load_state_dict(const std::vector<layers::NamedTensor>& tensors) {
  load_checked("load_state_dict (user cnn): ", named_parameters(), tensors);
}

}  // namespace loom::models
