// train/early_stopping.cc: see early_stopping.h.
#include "train/early_stopping.h"

#include <cmath>

#include "core/error.h"
#include "train/json_integer.h"

namespace loom::train {

const std::vector<std::string>& known_monitors() {
  static const std::vector<std::string> names{
      "val_loss",      "val_accuracy", "val_f1",     "val_auc",      "val_pr_auc",   "val_precision",
      "val_recall",    "val_macro_f1", "val_micro_f1", "train_loss", "train_accuracy"};
  return names;
}

MonitorSpec parse_monitor(const std::string& name) {
  for (const std::string& known : known_monitors())
    if (known == name) {
      const bool is_loss = name.size() >= 4 && name.compare(name.size() - 4, 4, "loss") == 0;
      return {name, is_loss ? MetricMode::Min : MetricMode::Max};
    }
  std::string list;
  for (const std::string& known : known_monitors()) list += (list.empty() ? "" : ", ") + known;
  LOOM_THROW(Error, "--monitor: unknown metric '", name, "' (choose one of ", list, ")");
}

EarlyStopping::EarlyStopping(MonitorSpec monitor, int patience, double min_delta)
    : monitor_(std::move(monitor)), patience_(patience), min_delta_(std::fabs(min_delta)) {}

bool EarlyStopping::update(double value, int epoch) {
  // A NaN never improves anything (a diverged epoch must not become "best").
  bool improved = false;
  if (!std::isnan(value)) {
    if (!has_best_) improved = true;
    else if (monitor_.mode == MetricMode::Min) improved = value < best_ - min_delta_;
    else improved = value > best_ + min_delta_;
  }
  if (improved) {
    best_ = value;
    has_best_ = true;
    best_epoch_ = epoch;
    wait_ = 0;
  } else {
    ++wait_;
  }
  return improved;
}

nlohmann::json EarlyStopping::state() const {
  return {{"monitor", monitor_.name}, {"has_best", has_best_}, {"best", best_},
          {"best_epoch", best_epoch_}, {"wait", wait_}};
}

void EarlyStopping::load_state(const nlohmann::json& state) {
  try {
    const std::string name = state.at("monitor").get<std::string>();
    if (name != monitor_.name)
      LOOM_THROW(CheckpointError, "the run being resumed monitored ", name, ", this one monitors ", monitor_.name);
    has_best_ = state.at("has_best").get<bool>();
    best_ = state.at("best").get<double>();
    best_epoch_ = json_integer<int>(state.at("best_epoch"), "best_epoch", -1);  // -1: no best yet
    wait_ = json_integer<int>(state.at("wait"), "wait");
  } catch (const nlohmann::json::exception& e) {
    LOOM_THROW(CheckpointError, "early-stopping state in trainer_state.json: ", e.what());
  }
}

}  // namespace loom::train
