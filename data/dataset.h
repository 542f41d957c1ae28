// data/dataset.h: labeled (or unlabeled) tweets loaded from a CSV, the raw Sentiment140 file or
// fastText lines, with every bad row either reported as "PATH:LINE: field 'NAME': what" or
// skipped and counted (--on-bad-row fail|skip).
//
// Formats:
// - csv: a header row; columns chosen by name (text_col, label_col, or label_cols with one 0/1
//   column per label for multi-label, id_cols passed through to predictions).
// - sentiment140: the raw file of Go et al. (no header, six columns polarity,id,date,query,user,
//   text). Polarity 0/2/4 becomes "negative"/"neutral"/"positive". id_cols may name any of the six
//   columns; by default the "id" column is passed through. text_col/label_col are ignored.
// - fasttext: lines "__label__a __label__b text". The leading words that start with "__label__"
//   are the labels (later ones belong to the text, unlike fastText itself, because a tweet may quote
//   one). A file where some line has several labels is multi-label, otherwise single-label.
//   There are no columns, so id_cols must be empty.
//
// Label values are trimmed of ASCII spaces/tabs (a CSV written with ", 1" still means "1"). A text is
// empty when it has nothing but ASCII whitespace. A dataset with no usable row is a DataError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/csv.h"

namespace loom::data {

enum class InputFormat { Csv, Sentiment140, FastText };
enum class BadRowPolicy { Fail, Skip };
enum class TaskKind { Binary, MultiClass, MultiLabel };
// Byte encoding of the input. Latin-1 exists because the raw Sentiment140 file is Latin-1, not
// UTF-8; each byte is converted to its code point so everything downstream sees UTF-8.
enum class TextEncoding { Utf8, Latin1 };

// Parsers for the command line's spellings; a bad spelling is a DataError listing the valid ones.
InputFormat parse_input_format(const std::string& s);         // "csv" | "sentiment140" | "fasttext"
BadRowPolicy parse_bad_row_policy(const std::string& s);      // "fail" | "skip"
TaskKind parse_task_kind(const std::string& s);               // "binary" | "multiclass" | "multilabel"
TextEncoding parse_text_encoding(const std::string& s);       // "utf-8" (or "utf8") | "latin1"
std::string to_string(InputFormat f);
std::string to_string(BadRowPolicy p);
std::string to_string(TaskKind t);
std::string to_string(TextEncoding e);

struct DatasetSpec {
  std::string path;
  InputFormat format = InputFormat::Csv;
  std::string text_col = "text", label_col = "label";
  std::vector<std::string> label_cols;  // non-empty => multi-label, one 0/1 column per label
  std::vector<std::string> id_cols;     // passed through to predictions
  BadRowPolicy on_bad_row = BadRowPolicy::Fail;
  bool labeled = true;                  // false for `predict` input (no label column needed)
  TextEncoding encoding = TextEncoding::Utf8;
  // fastText only: multi-label even when every line has one label (evaluating a multi-label
  // model on such a file).
  bool multi_label = false;
};

struct Example {
  std::string text;
  int label = -1;               // index into label_names; -1 when unlabeled or multi-label
  std::vector<float> targets;   // multi-label: 0/1 per label
  std::vector<std::string> ids; // one per Dataset::id_names
  std::int64_t line = 0;        // where the row starts in the input file
};

struct Dataset {
  std::vector<Example> examples;
  std::vector<std::string> label_names;
  TaskKind task = TaskKind::Binary;
  std::vector<std::string> id_names;
  SkipLog skipped;
};

// known_labels: the label names of a trained model (eval): labels map to these, an unknown one is a
// DataError naming file, line and field (or a skipped row); the task is Binary for 2 names,
// MultiClass for more, MultiLabel with label_cols (which must then equal known_labels) or a
// multi-label fastText file. Without it, label names are collected: numeric labels sorted
// numerically, others lexicographically (byte order); 2 labels => Binary (positive =
// label_names[1]), more => MultiClass, a single label value is a DataError (nothing to learn).
// Unlabeled data without known_labels: label_names empty, task Binary (or MultiLabel with
// label_cols), all labels -1.
// A file of 64 MiB or more that would need more than the available memory (kLoadBytesPerFileByte
// times its size) is a DataError before anything is read (check_memory_for_load).
Dataset load_dataset(const DatasetSpec& spec, const std::vector<std::string>* known_labels = nullptr);

// What load_dataset holds per byte of the file, at least (docs/reliability-large-inputs.md).
inline constexpr std::int64_t kLoadBytesPerFileByte = 12;
// Throws the DataError above when `path` (64 MiB or more) cannot fit; load_dataset calls it first.
void check_memory_for_load(const std::string& path);

// The examples at `rows` (in that order), with the same labels, task and id names; skipped is kept.
Dataset subset(const Dataset& data, const std::vector<std::int64_t>& rows);

// Unlabeled rows (`loom predict`) a chunk at a time, for files of any size: the rows, lines, ids,
// errors and skips of load_dataset(spec) on the same file, in the same order, but never more than
// one chunk (plus the reader's window, data/csv.h) in memory. spec.labeled must be false (label
// names collected from the data need the whole file). The constructor opens the file and checks
// the columns; next() replaces chunk.examples with up to max_rows rows (and copies id names, label
// names, task and the skip log so far) and returns false once the file is exhausted; a file with
// no usable row throws load_dataset's DataError then.
class DatasetReader {
 public:
  explicit DatasetReader(const DatasetSpec& spec);
  ~DatasetReader();
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;
  const std::vector<std::string>& id_names() const;
  const SkipLog& skipped() const;  // all rows skipped so far
  bool next(std::size_t max_rows, Dataset& chunk);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Examples per label (multi-label: positives per label), for the "class counts" summary line.
std::vector<std::int64_t> label_counts(const Dataset& data);

}  // namespace loom::data
