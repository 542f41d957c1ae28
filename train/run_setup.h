// train/run_setup.h: what `loom train` builds from its options before the first step: the model
// config, the model (with pretrained embeddings), the optimizer's, batcher's and schedule's
// settings. Moved out of trainer.cc, which keeps the loop.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "data/batching.h"
#include "data/vocab.h"
#include "models/classifier.h"
#include "ops/optim.h"
#include "train/early_stopping.h"
#include "train/options.h"
#include "train/schedule.h"
#include "train/text_data.h"

namespace loom::train {

// The ModelConfig of the flags (a --preset decides arch and sizes); meta_features: the data's
// MetaSchema size, used by hybrid and meta-mlp.
models::ModelConfig model_config(const TrainOptions& o, std::int64_t vocab_size, std::int64_t outputs, Impl impl,
                                 std::int64_t meta_features);
// --arch fasttext's n-grams (--word-ngrams, --buckets, --char-ngrams); nothing hashed for any other
// arch (enabled() false). The buckets are 0 when neither word nor character n-grams are asked for.
// The same function serves training (model_config, add_fasttext_ngrams) and eval / predict (from
// the run's saved options), so both sides hash alike.
data::NgramOptions ngram_options(const TrainOptions& o);
// Refuses the fasttext-only flags with another arch (one line naming the flag); checks their range.
void check_ngram_flags(const TrainOptions& o);
// Gives every row of the three splits its n-gram ids (re-tokenizing the split's texts, which
// PreparedData keeps) when the options ask for n-grams and prepare_data has not already made them.
// Prints one line: n-gram ids per training tweet.
void add_fasttext_ngrams(const TrainOptions& o, PreparedData& p, std::ostream& out);
// A freshly initialised model; pretrained embeddings are copied in for a new run only (a resumed
// run loads its own weights later).
std::unique_ptr<models::Classifier> build_model(const TrainOptions& o, const models::ModelConfig& mc,
                                                const data::Vocab& vocab, bool resuming, Device device,
                                                std::ostream& out);
// The names of the parameters the optimizer updates, in its order (optimizer.safetensors keys).
std::vector<std::string> trainable_names(const models::Classifier& model);
ops::AdamWConfig adamw_config(const TrainOptions& o);
data::BatchOptions batch_options(const TrainOptions& o);
ScheduleConfig schedule_config(const TrainOptions& o, std::int64_t steps_per_epoch, const MonitorSpec& monitor);

}  // namespace loom::train
