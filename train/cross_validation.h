// train/cross_validation.h: `loom train --cv K`: K full training runs on grouped stratified folds
// (issue 14; the small kaggle bot set needs it).
//
// Fold f (1..K) is an ordinary run in RUN/fold-f/ with the same options and seed, except that its
// test split is fold f of data::grouped_stratified_folds(K, seed) (whole users, stratified by
// label) and its validation split a grouped --val-split of the other K-1 folds. The same seed gives
// the same folds, so every fold of one K-fold run sees a disjoint test set and the K test sets
// cover every user once. The driver then writes, in RUN/:
//   folds.csv        key,fold: each group's (user's) test fold (1..K)
//   cv_summary.csv   one row per fold plus "mean" and "std" rows: accuracy, precision, recall, f1,
//                    auc, pr_auc of the test split (and user_* with --user-model)
//   cv_summary.json  the same, with the options
// With --seeds a,b,c (a seed ensemble in every fold) fold f holds one run per seed in
// RUN/fold-f/seed-S; all of them use the folds and the validation split of --seed (the options'
// split_seed), so they differ only in their weights, batch order and dropout, and the fold's
// metrics are those of the mean of their test probabilities (RUN/fold-f/report_test.*, with each
// member's own ROC-AUC). Not with --user-model.
// std is the SAMPLE standard deviation over the K folds (ddof 1, as pandas' .std()), so it
// estimates the spread of a fold's score rather than describing these K numbers only.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "train/options.h"
#include "train/trainer.h"

namespace loom::train {

struct CvFold {
  int fold = 0;  // 1..K
  std::string run_dir;
  std::vector<double> values;  // in the order of CvResult::metrics
  std::vector<double> member_auc;  // --seeds: each member's own test ROC-AUC, in --seeds order
};

struct CvResult {
  std::string run_dir;
  std::vector<std::string> metrics;  // "accuracy", "precision", ..., then "user_accuracy", ... with a user model
  std::vector<CvFold> folds;
  std::vector<double> mean, std;     // per metric; std with ddof 1
};

// Runs the K folds (o.cv >= 2, o.cv_fold < 0) into o.ckpt_dir (default runs/<arch>-cv-<time>).
CvResult cross_validate(const TrainOptions& o, std::ostream& out, std::ostream* bar = nullptr);

}  // namespace loom::train
