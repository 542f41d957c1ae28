// train/text_data.h: from files to encoded tweets, once, before the first step.
//
// Loading, tokenizing and encoding happen exactly once per run (never per epoch or per batch):
// tokenizing 85k tweets costs about as much as a few hundred training steps, so doing it up front
// and keeping only token ids keeps the step loop to collate + forward + backward. Tokenizing runs
// on all threads (the tokenizer is a pure function of the text).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "data/batching.h"
#include "data/dataset.h"
#include "data/metadata.h"
#include "data/tokenizer.h"
#include "data/vocab.h"
#include "train/options.h"

namespace loom::train {

// The DatasetSpec of --input (or --val / --test) with the options' columns and policies.
data::DatasetSpec dataset_spec(const TrainOptions& o, const std::string& path, bool labeled = true);
data::TokenizerConfig tokenizer_config(const TrainOptions& o);

// Tokens of every example, in order (parallel over examples).
std::vector<std::vector<std::string>> tokenize_all(const data::Dataset& d, const data::TokenizerConfig& config);

struct PreparedData {
  data::Dataset train, val, test;  // val / test may be empty (no file and a split of 0)
  std::vector<data::EncodedExample> train_rows, val_rows, test_rows;
  data::Vocab vocab;
  std::vector<std::string> label_names;
  data::TaskKind task = data::TaskKind::Binary;
  std::string val_source, test_source;  // "val.csv" or "10% of train.csv", for the log
  // --group-col: each row's group key (user), per split; empty without groups.
  std::vector<std::string> train_keys, val_keys, test_keys;
  // --accounts / --meta-cols: the metadata schema (rows carry EncodedExample::meta); size() 0 without.
  data::MetaSchema meta_schema;
};

// Loads --input and --val/--test (or splits --input with the seed, stratified), prints the
// per-split class counts and skipped rows to `out`, tokenizes, builds the vocabulary from the
// training split only (or uses `fixed_vocab`, when resuming), and encodes every split.
PreparedData prepare_data(const TrainOptions& o, const data::Vocab* fixed_vocab, std::ostream& out);

// "negative 8012, positive 7988" (multi-label: positives per label).
std::string class_counts(const data::Dataset& d);

}  // namespace loom::train
