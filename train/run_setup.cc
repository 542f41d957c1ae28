// train/run_setup.cc: see run_setup.h.
#include "train/run_setup.h"

#include <algorithm>

#include "core/error.h"
#include "data/embeddings.h"
#include "models/factory.h"
#include "train/bot_run.h"

namespace loom::train {

namespace {
// fastText's hashed n-grams feed --arch fasttext and a hybrid whose text branch is fasttext.
bool is_fasttext(const TrainOptions& o) {
  return o.preset.empty() && (o.arch == "fasttext" || (o.arch == "hybrid" && o.text_arch == "fasttext"));
}
}  // namespace

data::NgramOptions ngram_options(const TrainOptions& o) {
  data::NgramOptions n;
  if (!is_fasttext(o)) return n;
  n.word_ngrams = o.word_ngrams;
  if (o.char_ngrams.size() == 2) {
    n.char_min = o.char_ngrams[0];
    n.char_max = o.char_ngrams[1];
  }
  n.buckets = n.word_ngrams > 1 || n.char_max > 0 ? o.ngram_buckets : 0;
  return n;
}

void check_ngram_flags(const TrainOptions& o) {
  const TrainOptions defaults;
  if (!is_fasttext(o)) {
    const std::string arch = o.preset.empty() ? "--arch " + o.arch : "--preset " + o.preset;
    LOOM_CHECK(o.word_ngrams == defaults.word_ngrams, "--word-ngrams is for --arch fasttext, not ", arch);
    LOOM_CHECK(o.ngram_buckets == defaults.ngram_buckets, "--buckets is for --arch fasttext, not ", arch);
    LOOM_CHECK(o.char_ngrams.empty(), "--char-ngrams is for --arch fasttext, not ", arch);
    return;
  }
  LOOM_CHECK(o.char_ngrams.empty() || o.char_ngrams.size() == 2, "--char-ngrams takes two numbers min,max, got ",
             o.char_ngrams.size());
  data::validate(ngram_options(o), 0);
}

void add_fasttext_ngrams(const TrainOptions& o, PreparedData& p, std::ostream& out) {
  const data::NgramOptions n = ngram_options(o);
  if (!n.enabled()) return;
  const data::TokenizerConfig tok = tokenizer_config(o);
  auto add = [&](const data::Dataset& d, std::vector<data::EncodedExample>& rows) {
    const bool done = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return !r.ngram_ends.empty(); });
    if (!done && !rows.empty()) data::add_ngrams(rows, tokenize_all(d, tok), n, p.vocab.size());
  };
  add(p.train, p.train_rows);
  add(p.val, p.val_rows);
  add(p.test, p.test_rows);
  std::int64_t ids = 0;
  for (const auto& r : p.train_rows) ids += static_cast<std::int64_t>(r.ngrams.size());
  out << "fasttext: " << (p.train_rows.empty() ? 0.0 : static_cast<double>(ids) / p.train_rows.size())
      << " n-gram ids per training tweet (word n-grams up to " << n.word_ngrams << ", char n-grams "
      << (n.char_max > 0 ? std::to_string(n.char_min) + ".." + std::to_string(n.char_max) : std::string("none"))
      << ", " << n.buckets << " buckets)\n";
}

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
      if (c.arch == models::Arch::Hybrid) c.text_dropout = static_cast<float>(o.text_dropout);
      apply_meta_encoding(o, c);  // standardize | ple (--meta-encoding, --meta-bins)
    }
    if (c.arch == models::Arch::FastText || (c.arch == models::Arch::Hybrid && c.text_arch == models::Arch::FastText)) {
      const data::NgramOptions n = ngram_options(o);
      c.word_ngrams = n.word_ngrams;
      c.ngram_buckets = n.buckets;
      c.char_min = n.char_min;
      c.char_max = n.char_max;
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
