// train/schedule.h: learning-rate schedules (--lr-schedule constant|linear|plateau, --warmup-steps).
//
// One object answers "what is the learning rate for the next optimizer step". Every kind starts
// with an optional linear warmup from lr/warmup to lr over --warmup-steps steps (the Hugging Face
// convention: step s of the warmup uses lr * (s+1)/warmup, so the first step is not wasted at 0).
//   constant: lr after the warmup.
//   linear:   after the warmup, decays linearly to 0 at total_steps (HF get_linear_schedule_with_warmup).
//   plateau:  lr * scale, where scale is multiplied by `factor` (not below min_lr) when the monitored
//             validation metric has not improved for more than `patience` epochs
//             (torch.optim.lr_scheduler.ReduceLROnPlateau, threshold 0, cooldown 0).
// The whole state is (step, plateau scale, plateau best, bad epochs), saved in trainer_state.json so
// a resumed run continues on the same curve.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace loom::train {

enum class ScheduleKind { Constant, Linear, Plateau };
ScheduleKind parse_schedule_kind(const std::string& s);  // throws loom::Error naming the choices
std::string to_string(ScheduleKind kind);

// Whether a larger or a smaller metric value is better.
enum class MetricMode { Min, Max };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::Constant;
  double lr = 1e-3;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;   // linear: the step at which lr reaches 0 (epochs * batches per epoch)
  double plateau_factor = 0.5;    // plateau: multiply the lr by this...
  int plateau_patience = 1;       // ...after this many epochs without improvement, plus one
  double plateau_min_lr = 0.0;
  MetricMode plateau_mode = MetricMode::Min;  // of the monitored metric (val_loss: Min)
};

class LrSchedule {
 public:
  explicit LrSchedule(ScheduleConfig config);

  // The learning rate of the next optimizer step (does not advance).
  double lr() const;
  // Call after each optimizer step.
  void step() { ++step_; }
  // Call once per epoch with the monitored validation metric; only the plateau kind reacts.
  // Returns true when the learning rate was reduced.
  bool epoch_end(double metric);

  std::int64_t steps_done() const { return step_; }
  const ScheduleConfig& config() const { return config_; }

  nlohmann::json state() const;
  // Throws CheckpointError when the JSON lacks a field or has the wrong type.
  void load_state(const nlohmann::json& state);

 private:
  ScheduleConfig config_;
  std::int64_t step_ = 0;
  double scale_ = 1.0;      // plateau reductions so far, as a factor of config_.lr
  double best_ = 0.0;
  bool has_best_ = false;
  int bad_epochs_ = 0;
};

}  // namespace loom::train
