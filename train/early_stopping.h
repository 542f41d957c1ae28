// train/early_stopping.h: stop when the monitored validation metric stops improving.
//
// Keras's EarlyStopping semantics (monitor, min_delta, patience, mode inferred from the name),
// except that restoring the best weights is ON by default (--no-restore-best turns it off):
// users expect the model they get back to be the best one they saw, and Keras's False default is
// a known trap. The weights themselves are the trainer's business (best.safetensors); this class
// only decides "improved?" and "stop?", and its state goes into trainer_state.json for --resume.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/schedule.h"

namespace loom::train {

// A metric the trainer can monitor: val_loss, val_accuracy, val_f1, val_auc, val_precision,
// val_recall, val_pr_auc, val_micro_f1, val_macro_f1 (and the same names with train_ for the
// training split's loss/accuracy). Mode: *loss -> Min, everything else -> Max.
struct MonitorSpec {
  std::string name = "val_loss";
  MetricMode mode = MetricMode::Min;
};
MonitorSpec parse_monitor(const std::string& name);  // throws loom::Error listing the known names
const std::vector<std::string>& known_monitors();

class EarlyStopping {
 public:
  // Stops after `patience` epochs in a row without improvement (Keras: patience 3 -> the 3rd such
  // epoch is the last; 0 stops at the first one); patience < 0 never stops.
  EarlyStopping(MonitorSpec monitor, int patience, double min_delta);

  // Records one epoch's value. Returns true when it is a new best (by more than min_delta).
  bool update(double value, int epoch);
  bool should_stop() const { return patience_ >= 0 && wait_ > 0 && wait_ >= patience_; }

  bool has_best() const { return has_best_; }
  double best() const { return best_; }
  int best_epoch() const { return best_epoch_; }
  int wait() const { return wait_; }  // epochs since the last improvement
  const MonitorSpec& monitor() const { return monitor_; }

  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);  // CheckpointError when malformed

 private:
  MonitorSpec monitor_;
  int patience_;
  double min_delta_;
  bool has_best_ = false;
  double best_ = 0.0;
  int best_epoch_ = -1;
  int wait_ = 0;
};

}  // namespace loom::train
