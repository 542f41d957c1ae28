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

// Several --input files (issue 17): each loaded with the same columns and format (the later files
// with the first file's label names: an unknown label there is an error naming file and line),
// then merged and deduplicated by normalized text (dedup_key). Policy, in file order:
//   - the first row of a text is kept; a later row with the same text and the same label is a
//     duplicate (dropped);
//   - a text seen with two different labels (in one file or across files) is a conflict: EVERY row
//     of it is dropped, since no single label is right for it.
// A single --input is loaded exactly as before (no deduplication).
struct InputCount {
  std::string path;
  std::int64_t rows = 0, kept = 0, duplicates = 0, conflicts = 0;  // rows = kept + duplicates + conflicts
};
// Lowercased (ASCII), whitespace runs collapsed to one space, trimmed: "Good  Day!\n" -> "good day!".
// Independent of --tokenizer, so the same files dedup the same way whatever the tokenizer is.
std::string dedup_key(const std::string& text);
// Merges `files` (already loaded, in order) into one dataset with the policy above; `counts` gets a
// row per file. Labels must use the same names (the loader enforces it for files 2..n).
data::Dataset merge_inputs(std::vector<data::Dataset> files, const std::vector<std::string>& paths,
                           std::vector<InputCount>& counts);
// Loads --input and every more_inputs file, merges them (merge_inputs) and prints one line per
// file: "input 2 FILE: 90,980 rows, kept 88,100, duplicates 2,500 (text already seen), conflicts 380
// (text seen with two labels: all its rows dropped)". One file: loaded as is.
data::Dataset load_training_inputs(const TrainOptions& o, const data::DatasetSpec& first_spec, std::ostream& out);

// Loads --input and --val/--test (or splits --input with the seed, stratified), prints the
// per-split class counts and skipped rows to `out`, tokenizes, builds the vocabulary from the
// training split only (or uses `fixed_vocab`, when resuming), and encodes every split.
// Bot detection (issue 14):
//   metadata (--meta-cols): data::join_metadata on the whole --input before the split (the schema
//     is decided from the data, or `fixed_schema` when resuming / reusing an encoder run), then on
//     --val / --test files with that schema; every EncodedExample carries its raw features.
//   groups (--group-col, implied by --accounts): the split keeps each group whole
//     (data::grouped_stratified_split); with cv_fold >= 0 the test split is that fold of
//     data::grouped_stratified_folds(cv, seed) and val a grouped --val-split of the other folds.
//     Without a group column, --cv treats each row as its own group.
PreparedData prepare_data(const TrainOptions& o, const data::Vocab* fixed_vocab, std::ostream& out,
                          const data::MetaSchema* fixed_schema = nullptr);

// The options' metadata and groups.
bool has_metadata(const TrainOptions& o);  // --meta-cols given
// The MetaSpec of --meta-cols, --accounts, --join ... for the file `path` (the --input, a --val /
// --test file, or eval / predict input). For a file other than the training input, accounts
// without a tweet are not appended (they belong to the training data, not to this file).
data::MetaSpec meta_spec(const TrainOptions& o, const std::string& path, bool training_input);
// The id columns a load needs: --id-col, plus the join column (with --accounts) and the group column.
std::vector<std::string> load_id_cols(const TrainOptions& o);

// Joins metadata onto `d` (loaded with load_id_cols) with a saved schema and writes each row's raw
// features into rows[i].meta; the eval / predict side of the join. Returns the join's report.
data::JoinReport attach_metadata(data::Dataset& d, const TrainOptions& o, const std::string& path,
                                 const data::MetaSchema& schema, std::vector<std::vector<float>>& meta);

// eval / predict: tokenizes and encodes `d` with a trained run's tokenizer and vocabulary; when
// `schema` has features, first joins the metadata (attach_metadata, with the options' --accounts,
// --join, --missing-account) and fills each row's raw features (never refitting anything: the
// model's stored scaler standardizes them). The join's summary goes to `log`.
std::vector<data::EncodedExample> encode_for_inference(data::Dataset& d, const TrainOptions& o, const std::string& path,
                                                       const data::TokenizerConfig& tok, const data::Vocab& vocab,
                                                       const data::MetaSchema& schema, std::ostream& log);

// "1,234,567"
std::string thousands(std::int64_t n);

// "negative 8012, positive 7988" (multi-label: positives per label).
std::string class_counts(const data::Dataset& d);

}  // namespace loom::train
