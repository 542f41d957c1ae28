// train/schedule.cc: learning-rate schedules (see schedule.h).
#include "train/schedule.h"

#include <algorithm>

#include "core/error.h"
#include "train/json_integer.h"

namespace loom::train {

ScheduleKind parse_schedule_kind(const std::string& s) {
  if (s == "constant") return ScheduleKind::Constant;
  if (s == "linear") return ScheduleKind::Linear;
  if (s == "plateau") return ScheduleKind::Plateau;
  LOOM_THROW(Error, "--lr-schedule: unknown schedule '", s, "' (choose constant, linear or plateau)");
}

std::string to_string(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Constant: return "constant";
    case ScheduleKind::Linear: return "linear";
    case ScheduleKind::Plateau: return "plateau";
  }
  return "?";
}

LrSchedule::LrSchedule(ScheduleConfig config) : config_(config) {
  LOOM_CHECK(config_.lr > 0, "learning rate must be positive, got ", config_.lr);
  LOOM_CHECK(config_.warmup_steps >= 0, "--warmup-steps must be >= 0, got ", config_.warmup_steps);
  LOOM_CHECK(config_.plateau_factor > 0 && config_.plateau_factor < 1,
             "plateau factor must be in (0, 1), got ", config_.plateau_factor);
  LOOM_CHECK(config_.plateau_patience >= 0, "plateau patience must be >= 0, got ", config_.plateau_patience);
}

double LrSchedule::lr() const {
  const std::int64_t s = step_;
  const double base = config_.lr * scale_;
  if (s < config_.warmup_steps) return base * static_cast<double>(s + 1) / static_cast<double>(config_.warmup_steps);
  if (config_.kind == ScheduleKind::Linear) {
    // Decays over the steps left after the warmup; a run longer than planned stays at 0.
    const std::int64_t span = std::max<std::int64_t>(1, config_.total_steps - config_.warmup_steps);
    const double left = static_cast<double>(config_.total_steps - s) / static_cast<double>(span);
    return base * std::clamp(left, 0.0, 1.0);
  }
  return base;
}

bool LrSchedule::epoch_end(double metric) {
  if (config_.kind != ScheduleKind::Plateau) return false;
  const bool better = !has_best_ || (config_.plateau_mode == MetricMode::Min ? metric < best_ : metric > best_);
  if (better) {
    best_ = metric;
    has_best_ = true;
    bad_epochs_ = 0;
    return false;
  }
  if (++bad_epochs_ <= config_.plateau_patience) return false;
  bad_epochs_ = 0;
  const double old_lr = config_.lr * scale_;
  const double new_lr = std::max(old_lr * config_.plateau_factor, config_.plateau_min_lr);
  // PyTorch's eps: a reduction smaller than 1e-8 is not one (already at min_lr).
  if (old_lr - new_lr <= 1e-8) return false;
  scale_ = new_lr / config_.lr;
  return true;
}

nlohmann::json LrSchedule::state() const {
  return {{"kind", to_string(config_.kind)}, {"step", step_},       {"scale", scale_},
          {"best", best_},                   {"has_best", has_best_}, {"bad_epochs", bad_epochs_}};
}

void LrSchedule::load_state(const nlohmann::json& state) {
  try {
    const std::string kind = state.at("kind").get<std::string>();
    if (kind != to_string(config_.kind))
      LOOM_THROW(CheckpointError, "schedule state is for '", kind, "' but this run uses '",
                 to_string(config_.kind), "'");
    step_ = json_integer<std::int64_t>(state.at("step"), "step");
    scale_ = state.at("scale").get<double>();
    best_ = state.at("best").get<double>();
    has_best_ = state.at("has_best").get<bool>();
    bad_epochs_ = json_integer<int>(state.at("bad_epochs"), "bad_epochs");
  } catch (const nlohmann::json::exception& e) {
    LOOM_THROW(CheckpointError, "schedule state in trainer_state.json: ", e.what());
  }
}

}  // namespace loom::train
