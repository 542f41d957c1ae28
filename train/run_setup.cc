// train/run_setup.cc: see run_setup.h.
#include "train/run_setup.h"

#include "core/error.h"
#include "data/embeddings.h"
#include "models/factory.h"
#include "train/bot_run.h"

namespace loom::train {

models::ModelConfig model_config(const TrainOptions& o, std::int64_t vocab_size, std::int64_t outputs, Impl impl,
                                 std::int64_t meta_features) {
  models::ModelConfig c;
  if (!o.preset.empty()) {
    c = models::preset(o.preset);  // the preset decides arch and sizes
  } else {
    c.arch = models::parse_arch(o.arch);
    c.embed_dim = o.embed_dim;
    c.hidden = o.hidden;
    c.layers = o.layers;
    c.dropout = static_cast<float>(o.dropout);
    c.filters = o.filters;
    c.widths = o.widths;
    if (c.arch == models::Arch::Hybrid || c.arch == models::Arch::MetaMlp) {
      c.text_arch = models::parse_arch(o.text_arch);
      c.meta_features = meta_features;  // the data's MetaSchema size
      c.meta_hidden = o.meta_hidden;
      c.fuse_hidden = o.fuse_hidden;
      apply_meta_encoding(o, c);  // standardize | ple (--meta-encoding, --meta-bins)
    }
  }
  c.vocab_size = vocab_size;
  c.num_outputs = outputs;
  c.lstm_impl.impl = impl;
  c.conv_impl = impl;
  c.validate();
  return c;
}

std::unique_ptr<models::Classifier> build_model(const TrainOptions& o, const models::ModelConfig& mc,
                                                    const data::Vocab& vocab, bool resuming, Device device,
                                                    std::ostream& out) {
  std::unique_ptr<models::Classifier> model = models::make_model(mc, o.seed, device);
  if (!o.embeddings.empty() && !resuming) {
    Tensor w = model->embedding_weight().to(Device::cpu()).clone();
    const data::EmbeddingCoverage cov = data::load_pretrained_embeddings(o.embeddings, vocab, w);
    model->embedding_weight().copy_from(w);
    out << "embeddings: " << o.embeddings << " (" << cov.format << ", dim " << cov.dim << "): " << data::describe(cov)
        << "\n";
  }
  model->set_freeze_embeddings(o.freeze_embeddings);
  return model;
}

std::vector<std::string> trainable_names(const models::Classifier& model) {
  std::vector<std::string> names;
  for (const auto& [name, t] : model.named_parameters())
    if (t.requires_grad()) names.push_back(name);
  return names;
}

ops::AdamWConfig adamw_config(const TrainOptions& o) {
  ops::AdamWConfig adam;  // PyTorch's betas and eps
  adam.lr = static_cast<float>(o.lr);
  adam.weight_decay = static_cast<float>(o.weight_decay);
  // The AdamW pass zeroes each gradient as it reads it, and the next backward accumulates into
  // that buffer: no fresh 10 MB embedding gradient to fault in and memset every step. Same bits,
  // because every backward of the trainer's models reaches every trained parameter (the one case
  // where it would differ: ops/optim.h).
  adam.zero_grad_in_step = true;
  return adam;
}

data::BatchOptions batch_options(const TrainOptions& o) {
  data::BatchOptions b;
  b.batch_size = o.batch_size;
  b.max_len = o.max_len;
  b.bucket_by_length = o.bucket_by_length;
  b.seed = o.seed;
  return b;
}

ScheduleConfig schedule_config(const TrainOptions& o, std::int64_t steps_per_epoch, const MonitorSpec& monitor) {
  ScheduleConfig sc;
  sc.kind = parse_schedule_kind(o.lr_schedule);
  sc.lr = o.lr;
  sc.warmup_steps = o.warmup_steps;
  sc.total_steps = steps_per_epoch * o.epochs;
  sc.plateau_factor = o.plateau_factor;
  sc.plateau_patience = o.plateau_patience;
  sc.plateau_min_lr = o.plateau_min_lr;
  sc.plateau_mode = monitor.mode;
  return sc;
}

}  // namespace loom::train
