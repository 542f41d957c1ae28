// tests/train/train_util.h: small runs for the trainer tests: a synthetic corpus in a scratch
// folder and the options of a model small enough to train in a second or two on the CPU.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/synthetic.h"
#include "tests/support/temp_dir.h"
#include "tools/commands.h"
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

// One `loom ...` command line run in-process, exactly as the binary runs it.
struct Cli {
  std::ostringstream out, err;
  int status = -1;
  Cli(std::vector<std::string> args) { status = tools::run_cli(args, out, err); }
};

// The first `n` records of a CSV (with its header), re-quoted: a small slice of a real dataset.
inline void head_csv(const std::string& from, const std::string& to, std::size_t n) {
  const data::CsvTable t = data::read_csv(from);
  std::ostringstream os;
  auto row = [&](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) os << (i ? "," : "") << tools::csv_field(fields[i]);
    os << "\n";
  };
  row(t.header);
  for (std::size_t i = 0; i < n && i < t.records.size(); ++i) row(t.records[i].fields);
  std::ofstream(to, std::ios::binary) << os.str();
}

}  // namespace loom::test
