// train/grad_scaler.cc: see grad_scaler.h (the update rule is PyTorch's _amp_update_scale_).
#include "train/grad_scaler.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "train/json_integer.h"

namespace loom::train {

GradScaler::GradScaler(const GradScalerConfig& config) : config_(config) {
  LOOM_CHECK(std::isfinite(config.init_scale) && config.init_scale > 0 &&
                 std::isfinite(static_cast<float>(config.init_scale)),
             "--loss-scale-init must be a positive finite F32 number, got ", config.init_scale);
  LOOM_CHECK(config.growth_factor > 1.0, "loss scaler: growth factor must be > 1, got ", config.growth_factor);
  LOOM_CHECK(config.backoff_factor > 0.0 && config.backoff_factor < 1.0,
             "loss scaler: backoff factor must be in (0, 1), got ", config.backoff_factor);
  LOOM_CHECK(config.growth_interval >= 1, "--loss-scale-growth-interval must be >= 1, got ", config.growth_interval);
  scale_ = static_cast<float>(config.init_scale);
}

bool GradScaler::update(bool found_inf) {
  if (found_inf) {
    // F32 arithmetic, as PyTorch's scale tensor; 0.5 * a power of two is exact.
    scale_ = scale_ * static_cast<float>(config_.backoff_factor);
    growth_tracker_ = 0;
    ++skipped_;
    return false;
  }
  if (++growth_tracker_ == config_.growth_interval) {
    const float grown = scale_ * static_cast<float>(config_.growth_factor);
    if (std::isfinite(grown)) scale_ = grown;  // PyTorch keeps the scale when growing would overflow
    growth_tracker_ = 0;
  }
  return true;
}

void set_grad_scale(Tensor& grad_scale, float value) {
  if (grad_scale.device().is_cpu()) grad_scale.data<float>()[0] = value;
  else grad_scale.copy_from(Tensor::full({1}, value));
}

GradScaler::Step GradScaler::step(ops::AdamW& optimizer, const std::vector<Tensor>& params, double clip_max_norm,
                                  float loss_scale, Tensor& grad_scale) {
  const double scaled_norm = ops::grad_norm(params);
  Step s;
  s.taken = update(!std::isfinite(scaled_norm));
  if (!s.taken) return s;
  s.norm = scaled_norm / static_cast<double>(loss_scale);
  const float coeff = clip_max_norm > 0 ? ops::clip_coefficient(s.norm, clip_max_norm) : 1.0f;
  set_grad_scale(grad_scale, coeff * (1.0f / loss_scale));
  optimizer.step(grad_scale);
  return s;
}

nlohmann::json GradScaler::state() const {
  return {{"scale", static_cast<double>(scale_)},  // an F32 value: exact as a double in JSON
          {"growth_tracker", growth_tracker_},
          {"skipped_steps", skipped_},
          {"init_scale", config_.init_scale},
          {"growth_factor", config_.growth_factor},
          {"backoff_factor", config_.backoff_factor},
          {"growth_interval", config_.growth_interval}};
}

void GradScaler::load_state(const nlohmann::json& j) {
  try {
    const double s = j.at("scale").get<double>();
    // The scale is an F32 value: a finite double beyond FLT_MAX would become inf, one below the
    // smallest float 0 (a fuzzed trainer_state.json held 3.27e52, which loaded as an inf scale).
    LOOM_CHECK(std::isfinite(s) && s > 0 && s <= std::numeric_limits<float>::max() &&
                   static_cast<float>(s) > 0,
               "scale must be a positive, finite F32 value, got ", s);
    const std::int64_t tracker = json_integer<std::int64_t>(j.at("growth_tracker"), "growth_tracker");
    const std::int64_t skipped = json_integer<std::int64_t>(j.at("skipped_steps"), "skipped_steps");
    LOOM_CHECK(tracker >= 0 && skipped >= 0, "negative counters");
    scale_ = static_cast<float>(s);
    growth_tracker_ = tracker;
    skipped_ = skipped;
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    LOOM_THROW(CheckpointError, "trainer_state.json: malformed \"grad_scaler\" (", e.what(), ")");
  }
}

}  // namespace loom::train
