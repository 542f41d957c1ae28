// models/hybrid.cc: the hybrid text + metadata classifier. See models/hybrid.h.
#include "models/hybrid.h"

#include "core/error.h"
#include "models/factory.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/shape_ops.h"

namespace loom::models {
namespace {

const ModelConfig& validated(const ModelConfig& c) {
  c.validate();  // before any layer is built, so a bad config names its field
  LOOM_CHECK(c.arch == Arch::Hybrid, "HybridClassifier: config.arch is ", arch_name(c.arch), ", not hybrid");
  return c;
}

}  // namespace

ModelConfig text_encoder_config(const ModelConfig& config) {
  ModelConfig c = config;
  c.arch = config.text_arch;
  c.text_dropout = 0.0f;  // the hybrid's own step, not the encoder's
  return c;
}

HybridClassifier::HybridClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : Classifier(validated(config), device, dtype),
      encoder_(make_text_model(text_encoder_config(config), seed, device, dtype)),
      tower_(config, sub_seed(seed, kMetaSeedIndex), device, dtype),
      fuse_(dense_config(config, text_encoder_config(config).feature_size() + config.meta_hidden, config.fuse_hidden,
                         dtype),
            sub_seed(seed, kFuseSeedIndex), device),
      head_(dense_config(config, config.fuse_hidden, config.num_outputs, dtype), sub_seed(seed, kMetaHeadSeedIndex),
            device) {}

Tensor HybridClassifier::features(const ModelInputs& in, layers::Phase phase, Generator& gen) const {
  const bool drop = phase == layers::Phase::Train && config_.dropout > 0.0f;
  // The encoder checks tokens and lengths; the rows of meta must be the same examples.
  LOOM_CHECK_SHAPE(!in.tokens.defined() || !in.meta.defined() || in.tokens.ndim() != 2 ||
                       in.meta.ndim() != 2 || in.meta.dim(0) == in.tokens.dim(1),
                   "hybrid model: meta has ", in.meta.defined() ? in.meta.dim(0) : 0, " rows but the batch has ",
                   in.tokens.defined() && in.tokens.ndim() == 2 ? in.tokens.dim(1) : 0, " examples");
  Tensor text = encoder_->encode(in.tokens, in.lengths, phase, gen);  // [B, D_text]
  Tensor meta = tower_.forward(in.meta, "hybrid");                   // [B, meta_hidden]
  if (phase == layers::Phase::Train && config_.text_dropout > 0.0f) {
    // Modality dropout: a [B, 1] inverted-dropout mask (0 or 1/(1-p)) spread over the D_text
    // columns by an outer product with ones, so whole text vectors vanish, never single features.
    const Tensor keep = ops::dropout(Tensor::full({text.dim(0), 1}, 1.0, text.dtype(), text.device()),
                                     config_.text_dropout, gen);
    text = ops::mul(text, ops::matmul(keep, Tensor::full({1, text.dim(1)}, 1.0, text.dtype(), text.device())));
  }
  if (drop) {
    text = ops::dropout(text, config_.dropout, gen);
    meta = ops::dropout(meta, config_.dropout, gen);
  }
  return ops::relu(fuse_.forward(ops::concat_last({text, meta})));  // [B, fuse_hidden]
}

Tensor HybridClassifier::forward(const ModelInputs& in, layers::Phase phase, Generator& gen) const {
  const Tensor h = features(in, phase, gen);
  const bool drop = phase == layers::Phase::Train && config_.dropout > 0.0f;
  return head_.forward(drop ? ops::dropout(h, config_.dropout, gen) : h);
}

std::vector<layers::NamedTensor> HybridClassifier::named_parameters() const {
  std::vector<layers::NamedTensor> out;
  for (auto& [name, t] : encoder_->named_parameters())
    if (name.rfind("head.", 0) != 0) out.emplace_back(name, t);  // the encoder's unused head stays out
  for (auto& p : tower_.named_parameters()) out.push_back(std::move(p));
  for (const auto& [name, t] : fuse_.named_parameters()) out.emplace_back("fuse." + name, t);
  for (const auto& [name, t] : head_.named_parameters()) out.emplace_back("head." + name, t);
  return out;
}

}  // namespace loom::models
