// train/options.cc: TrainOptions <-> JSON (see options.h).
#include "train/options.h"

#include "core/error.h"

namespace loom::train {
namespace {

// One list drives both directions, so a new field cannot be saved but forgotten on load.
template <typename Visitor, typename Options>
void visit_fields(Options& o, Visitor&& v) {
  v("input", o.input);
  v("more_inputs", o.more_inputs);
  v("format", o.format);
  v("encoding", o.encoding);
  v("text_col", o.text_col);
  v("label_col", o.label_col);
  v("label_cols", o.label_cols);
  v("id_cols", o.id_cols);
  v("on_bad_row", o.on_bad_row);
  v("val", o.val_path);
  v("test", o.test_path);
  v("val_split", o.val_split);
  v("test_split", o.test_split);
  v("accounts", o.accounts);
  v("join", o.join_col);
  v("meta_cols", o.meta_cols);
  v("meta_features", o.meta_features);
  v("missing_account", o.missing_account);
  v("accounts_without_tweets", o.accounts_without_tweets);
  v("group_col", o.group_col);
  v("cv", o.cv);
  v("cv_fold", o.cv_fold);  // saved: a fold's run must resume on the same split
  v("split_seed_set", o.split_seed_set);  // saved: so must a --cv --seeds member
  v("split_seed", o.split_seed);
  v("tokenizer", o.tokenizer);
  v("normalize", o.normalize);
  v("max_vocab", o.max_vocab);
  v("min_freq", o.min_freq);
  v("max_len", o.max_len);
  v("bucket_by_length", o.bucket_by_length);
  v("embeddings", o.embeddings);
  v("freeze_embeddings", o.freeze_embeddings);
  v("word_dropout", o.word_dropout);
  v("arch", o.arch);
  v("preset", o.preset);
  v("embed_dim", o.embed_dim);
  v("hidden", o.hidden);
  v("layers", o.layers);
  v("dropout", o.dropout);
  v("filters", o.filters);
  v("widths", o.widths);
  v("text_arch", o.text_arch);
  v("meta_hidden", o.meta_hidden);
  v("fuse_hidden", o.fuse_hidden);
  v("meta_encoding", o.meta_encoding);
  v("meta_bins", o.meta_bins);
  v("text_dropout", o.text_dropout);
  v("word_ngrams", o.word_ngrams);
  v("ngram_buckets", o.ngram_buckets);
  v("char_ngrams", o.char_ngrams);
  v("user_model", o.user_model);
  v("user_tweets", o.user_tweets);
  v("user_tweet_order", o.user_tweet_order);
  v("k", o.knn_k);
  v("freeze_encoder", o.freeze_encoder);
  v("balance_users", o.balance_users);
  v("encoder", o.encoder);
  v("user_filters", o.user_filters);
  v("user_widths", o.user_widths);
  v("user_epochs", o.user_epochs);
  v("user_lr", o.user_lr);
  v("user_batch_size", o.user_batch_size);
  v("batch_size", o.batch_size);
  v("epochs", o.epochs);
  v("lr", o.lr);
  v("weight_decay", o.weight_decay);
  v("clip_grad_norm", o.clip_grad_norm);
  v("nonfinite", o.nonfinite);
  v("lr_schedule", o.lr_schedule);
  v("warmup_steps", o.warmup_steps);
  v("plateau_factor", o.plateau_factor);
  v("plateau_patience", o.plateau_patience);
  v("plateau_min_lr", o.plateau_min_lr);
  v("monitor", o.monitor);
  v("patience", o.patience);
  v("min_delta", o.min_delta);
  v("restore_best", o.restore_best);
  v("pos_weight", o.pos_weight);
  v("class_weight", o.class_weight);
  v("threshold", o.threshold);
  v("device", o.device);
  v("precision", o.precision);
  v("loss_scale_init", o.loss_scale_init);
  v("loss_scale_growth_interval", o.loss_scale_growth_interval);
  v("impl", o.impl);
  v("seed", o.seed);
  v("ensemble_seeds", o.ensemble_seeds);
  v("deterministic", o.deterministic);
  v("threads", o.threads);
  v("ckpt_dir", o.ckpt_dir);
}

}  // namespace

nlohmann::json to_json(const TrainOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  visit_fields(o, [&](const char* name, const auto& field) { j[name] = field; });
  return j;
}

TrainOptions train_options_from_json(const nlohmann::json& j) {
  TrainOptions o;
  if (!j.is_object()) LOOM_THROW(CheckpointError, "config.json: \"training\" must be an object");
  visit_fields(o, [&](const char* name, auto& field) {
    const auto it = j.find(name);
    if (it == j.end()) return;
    try {
      it->get_to(field);
    } catch (const nlohmann::json::exception& e) {
      LOOM_THROW(CheckpointError, "config.json: training option \"", name, "\" has the wrong type: ", e.what());
    }
  });
  return o;
}

}  // namespace loom::train
