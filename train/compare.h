// train/compare.h: `loom compare` (issue 15): several architectures trained on the SAME balanced
// random draws of one labeled file, and the seed-level question "does A beat B, by how much, how
// surely" answered with paired statistics (metrics/stats.h).
//
// Protocol (seed 002's balanced random draws):
//   draw d = 1..D takes `test_rows` then `train_rows` examples of --input, disjoint, balanced by
//   label: each class gets total / K rows (the remainder one each to the first classes). The rows
//   of class c are shuffled with Philox (seed, counter word2 = d * 65536 + c, domain "CMPR"); the
//   first test quota of that order are the test part, the next train quota the train part. Draws
//   are independent of each other (two draws may share rows), and every architecture sees the same.
//   A short class (fewer rows than its quota) gives what it has and the other classes fill the gap
//   equally ("water-filling"); the test part is filled first, so the scored set stays balanced for
//   as long as the data allows. The per-class counts of every draw are printed and saved.
//   Each (arch, draw) is an ordinary `loom train` run in OUT/<arch>/draw-<d>: input = the draw's
//   train part, --test = its test part, the run's default validation split (--val-split, 0.1) taken
//   from the train part for early stopping and best-epoch restore, --epochs E, seed = seed + d (so
//   initialisation varies across draws as the data does, but is the same for every architecture).
//   It is scored on its test part: accuracy, macro F1 and ROC-AUC (binary; macro one-vs-rest for
//   more classes).
// Output: per architecture mean +- sample std over draws; for each pair (A, B) and metric the
//   mean paired difference A - B over the draws with a percentile-bootstrap CI (10,000 resamples of
//   the draws, seeded) and the exact two-sided sign test (ties dropped). Files in OUT:
//   compare.json, compare.md, dots.txt (and dots.png with gnuplot), draws/draw-<d>/{train,test}.csv.
// Resuming: a finished (arch, draw) leaves compare_result.json in its folder and is skipped when
//   the same command is run again; an unfinished folder is deleted and trained again.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "train/options.h"

namespace loom::train {

struct CompareOptions {
  std::vector<std::string> archs;
  int draws = 5;
  std::int64_t train_rows = 10000, test_rows = 2500;
  int resamples = 10000;      // bootstrap resamples of the draws
  double level = 0.95;        // bootstrap interval level
  std::string out_dir;        // default runs/compare-<time>
  std::string json_path, markdown_path;  // extra copies (OUT/compare.json and compare.md always)
  bool plot_png = true;       // gnuplot when on PATH
  // input, format, text/label columns, epochs, seed and every model/training flag. arch, ckpt_dir,
  // test_path, val_path and cv are set per run by compare.
  TrainOptions base;
};

// One draw: row indices of the loaded dataset, ascending.
struct Draw {
  std::vector<std::int64_t> train, test;
  std::vector<std::int64_t> train_per_class, test_per_class;
};

// The D balanced draws of `data` (see above). Errors (loom::Error, one line): draws < 1, sizes < 1,
// train + test above the rows there are, a multi-label dataset.
std::vector<Draw> balanced_draws(const data::Dataset& data, int draws, std::int64_t train_rows,
                                 std::int64_t test_rows, std::uint64_t seed);

// The metrics compared, in table order, and their names in the files.
const std::vector<std::string>& compare_metrics();  // "accuracy", "f1_macro", "roc_auc"

struct PairResult {
  std::string a, b, metric;
  std::vector<double> differences;  // A - B, one per draw
  double mean_diff = 0, ci_low = 0, ci_high = 0;
  int wins = 0, losses = 0, ties = 0;
  double sign_p = 1;
};

struct CompareResult {
  std::string out_dir;
  std::vector<std::string> archs;
  // values[a][d][m]: architecture a, draw d, metric m (compare_metrics order)
  std::vector<std::vector<std::vector<double>>> values;
  std::vector<std::vector<double>> mean, std;  // [a][m]
  std::vector<PairResult> pairs;               // pairs (i < j) in --archs order, then metric
  std::string table;                           // what was printed
};

// Checks the options (one-line errors naming the flag), loads the data, trains every (arch, draw)
// not finished yet, and writes the outputs.
CompareResult run_compare(const CompareOptions& o, std::ostream& out);

}  // namespace loom::train
