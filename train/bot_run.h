// train/bot_run.h: the bot-detection parts of `loom train` (issue 14), kept out of trainer.cc:
// the checks of the metadata / group / user-level flags, the metadata scaler fitted on the
// training split, the run folder's features.csv and splits.csv, and the --encoder path (a user
// model on top of an already trained tweet model, with no tweet stage).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "data/batching.h"
#include "models/classifier.h"
#include "train/options.h"
#include "train/text_data.h"
#include "train/trainer.h"

namespace loom::train {

// The options as the run uses them: --accounts implies --group-col = --join unless a group
// column is given (an account's rows must stay on one side of every split).
TrainOptions resolve_bot_options(const TrainOptions& o);

// Refuses bad combinations before anything is read, with the flag names: hybrid / meta-mlp
// without --meta-cols, --user-model without --group-col, --cv < 2, --k < 1, --embeddings or
// --freeze-embeddings for meta-mlp, a --text-arch that is not a text architecture, ...
void check_bot_options(const TrainOptions& o);

// Standardization statistics of the raw features of `rows` (the training split): the mean and the
// population standard deviation (ddof 0, as sklearn's StandardScaler), accumulated in double. A
// feature that is constant on the training rows gets std 1 (it is then only shifted to 0), so the
// scaler never divides by zero.
struct MetaScaler {
  std::vector<float> mean, std;
};
MetaScaler fit_meta_scaler(const std::vector<data::EncodedExample>& rows);
// --meta-encoding ple: the model config's meta_encoding and meta_bins from the flags (a no-op for
// the text architectures). For model_config() (train/run_setup.cc) to call.
void apply_meta_encoding(const TrainOptions& o, models::ModelConfig& c);
// --meta-encoding ple: fits the PLE bins of a hybrid / meta-mlp on `rows` (the training split
// only) after its scaler (`scaler` as set_meta_scaler got it) and sets them. Returns a log line,
// "" when the config has no bins (standardize). For the trainer to call right after
// set_meta_scaler (train/trainer.cc).
std::string fit_meta_encoding(models::Classifier& model, const models::ModelConfig& config, const MetaScaler& scaler,
                              const std::vector<data::EncodedExample>& rows);

// "metadata scaler (training split, 1,320 rows): followers_count 812.3+-4021, ..." (at most
// `max_items` features listed, then "...").
std::string describe_scaler(const MetaScaler& s, const std::vector<std::string>& names, std::int64_t rows,
                            std::size_t max_items = 6);

// RUN/features.csv: key,label,split,<feature names>: one row per example of every split, raw
// features (what the scikit-learn baselines read). Written when the run has metadata.
void write_features_csv(const std::string& dir, const PreparedData& p, const std::string& group_col);
// RUN/splits.csv: key,split: one row per group (user), in the order of first appearance per split.
// Written when the rows carry keys (a group column, or --cv).
void write_splits_csv(const std::string& dir, const PreparedData& p);

// The keys of one split ("train", "val", "test") of DIR/splits.csv; empty when the file is absent.
std::vector<std::string> read_split_keys(const std::string& dir, const std::string& split);

// --encoder RUN: no tweet stage. Loads RUN's tweet model, prepares the data with its vocabulary
// (and metadata schema), writes the new run folder (config.json and best.safetensors: the
// encoder's, so eval / predict load it as the run's tweet model) and trains the user model. Warns
// when a test user of this run was a training user of RUN (its tweet model has seen them: the
// user-level test score would be optimistic; use RUN's seed and split options).
TrainResult train_user_stage_only(const TrainOptions& o, std::ostream& out);

}  // namespace loom::train
