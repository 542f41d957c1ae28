// train/metrics_log.h: metrics.csv and metrics.jsonl in the run directory.
//
// One row per epoch per split (train, val), columns fixed so scripts can rely on them (Keras's
// CSVLogger has one row per epoch; a split column keeps train and validation values of the same
// metric in one column, which is what plotting tools want):
//   epoch,step,split,loss,accuracy,precision,recall,f1,auc,lr,grad_norm,time_s,tweets_per_s,skipped_steps
// skipped_steps: train rows only, the optimizer steps of the epoch that were skipped: by fp16's loss
// scaler for inf/NaN gradients, or by --nonfinite skip for a non-finite loss or gradient (so 0 for
// fp32 and bf16 unless that policy skipped a step).
// A value that does not apply (AUC of the training split, precision of ...) is empty in the CSV
// and null in the JSONL. For multi-label tasks accuracy is subset accuracy and precision, recall
// and f1 are micro averages; for multi-class they are macro averages; for binary they are those
// of the positive class (scikit-learn's average='binary').
// On --resume the files are appended to, after dropping rows of epochs later than the checkpoint
// (written by a run that died after logging but before checkpointing), so every epoch appears once.
// Files from before the skipped_steps column (13 columns) are still read, that column empty.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace loom::train {

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

struct EpochRow {
  int epoch = 0;             // 1-based
  std::int64_t step = 0;     // optimizer steps done at the end of the epoch
  std::string split;         // "train" | "val" | "test"
  double loss = kNone, accuracy = kNone, precision = kNone, recall = kNone, f1 = kNone, auc = kNone;
  double lr = kNone, grad_norm = kNone, time_s = kNone, tweets_per_s = kNone;
  double skipped_steps = kNone;
};

class MetricsLog {
 public:
  // Opens DIR/metrics.csv and DIR/metrics.jsonl. resume_after_epoch < 0: start both files afresh;
  // otherwise keep the rows of epochs <= resume_after_epoch and append.
  MetricsLog(const std::string& dir, int resume_after_epoch);
  void write(const EpochRow& row);
  const std::vector<EpochRow>& rows() const { return rows_; }  // everything in the files, in order

 private:
  std::string csv_path_, jsonl_path_;
  std::vector<EpochRow> rows_;
};

// Reads a metrics.csv written by MetricsLog (for the plot and for tests). DataError if malformed.
std::vector<EpochRow> read_metrics_csv(const std::string& path);

}  // namespace loom::train
