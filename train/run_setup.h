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

namespace loom::train {

// The ModelConfig of the flags (a --preset decides arch and sizes); meta_features: the data's
// MetaSchema size, used by hybrid and meta-mlp.
models::ModelConfig model_config(const TrainOptions& o, std::int64_t vocab_size, std::int64_t outputs, Impl impl,
                                 std::int64_t meta_features);
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
