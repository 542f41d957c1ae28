// train/trainer.h: `loom train` as a function: files in, a run folder out.
//
// The loop, per epoch: a seeded batch order (data::epoch_batches(seed, epoch)), and per step
// collate -> forward (dropout from the run's Philox generator) -> loss -> backward -> global
// gradient-norm clip (the pre-clip norm is logged) -> AdamW with the schedule's learning rate;
// with --precision bf16|fp16 the forward and the loss run in an autocast region and fp16 scales
// the loss (train/grad_scaler.h), skipping the update when a gradient overflows;
// then validation metrics, early stopping, plateau schedule, best/last checkpoints and the
// trainer state. At the end the best weights are restored, the test split is evaluated (report
// and confusion matrix) and the curves are plotted. Everything the next epoch depends on is in
// the run folder after each epoch, so --resume continues bit for bit (tests/train/test_resume.cc).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "train/evaluate.h"
#include "train/options.h"
#include "train/user_level.h"

namespace loom::train {

struct TrainResult {
  std::string run_dir;
  int epochs_done = 0;          // in total, including epochs of the run being resumed
  bool interrupted = false;     // stopped by stop_after_epochs (resumable)
  bool stopped_early = false;
  int best_epoch = -1;
  double best_value = std::nan("");
  std::vector<EvalMetrics> val_history;  // this call's epochs
  std::vector<double> train_loss, train_accuracy;
  std::vector<double> epoch_seconds;
  std::vector<double> step_loss;         // this call's steps: each batch's mean loss, in order
  std::optional<Evaluation> test;        // when there was a test split
  // With `test`: the test split's probabilities, its labels (rows holding only label and targets)
  // and the label names, so that a caller can evaluate the mean of several runs' probabilities
  // (--cv with --seeds, train/cross_validation.cc).
  Scores test_scores;
  std::vector<data::EncodedExample> test_truth;
  std::vector<std::string> label_names;
  std::int64_t test_rows = 0;
  std::int64_t num_parameters = 0;
  std::string precision = "fp32";   // the autocast precision the run trained in
  std::int64_t skipped_steps = 0;   // fp16: optimizer steps skipped for inf/NaN gradients, in total
  std::int64_t nonfinite_skipped = 0;  // this call's steps skipped for a non-finite loss or gradient
                                       // (--nonfinite skip; the default stops the run instead)
  double loss_scale = std::nan(""); // fp16: the loss scaler's scale at the end
  std::optional<UserStageResult> user;  // --user-model: the user stage's result
};

// `out`: the log (run header, one line per epoch, the final report). `bar`: where the progress bar
// is drawn (stderr on a terminal), or null for none. Throws loom::Error subclasses: DataError for
// the input files, CheckpointError for a broken run folder, Error for bad options.
TrainResult train(const TrainOptions& options, std::ostream& out, std::ostream* bar = nullptr);

}  // namespace loom::train
