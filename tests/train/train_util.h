// tests/train/train_util.h: small runs for the trainer tests: a synthetic corpus in a scratch
// folder and the options of a model small enough to train in a second or two on the CPU.
#pragma once

#include <string>

#include "data/synthetic.h"
#include "tests/support/temp_dir.h"
#include "train/options.h"

namespace loom::test {

// DIR/train.csv, test.csv, unlabeled.csv of the synthetic corpus.
inline void write_corpus(const TempDir& dir, std::int64_t rows = 600, std::uint64_t seed = 5) {
  data::write_synthetic_corpus(dir.path(), rows, seed);
}

// A tiny lstm-cnn with dropout (so the dropout stream matters for resume), a warmup + linear
// schedule (so the schedule state matters) and early stopping that does not trigger.
inline train::TrainOptions tiny_options(const TempDir& dir, const std::string& run = "run") {
  train::TrainOptions o;
  o.input = dir.file("train.csv");
  o.arch = "lstm-cnn";
  o.embed_dim = 16;
  o.hidden = 16;
  o.filters = 8;
  o.widths = {2, 3};
  o.dropout = 0.5;
  o.batch_size = 32;
  o.epochs = 4;
  o.lr = 3e-3;
  o.lr_schedule = "linear";
  o.warmup_steps = 5;
  o.patience = 10;
  o.device = "cpu";
  o.ckpt_dir = dir.file(run);
  return o;
}

}  // namespace loom::test
