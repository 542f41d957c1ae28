// train/grad_scaler.h: the dynamic loss scaler of fp16 training (PyTorch's torch.cuda.amp.GradScaler).
//
// fp16 holds magnitudes in [6e-8, 65504]: small gradients flush to zero in it. So the backward
// starts from loss * S instead of loss; every gradient arrives multiplied by S (the chain rule is
// linear in the seed), and the optimizer unscales with 1/S. S is chosen dynamically:
//
//   found_inf  (some gradient is inf/NaN: S was too large and something overflowed)
//       -> the optimizer step is skipped, S *= backoff (0.5), the growth tracker restarts at 0
//   finite
//       -> the step is taken, tracker += 1; when tracker reaches growth_interval (2000):
//          S *= growth (2), tracker = 0   (unless S * growth would not be finite in F32)
//
// Defaults are PyTorch's: S0 = 2^16, growth 2, backoff 0.5, interval 2000. The scale is held as an
// F32 number, as PyTorch holds it in an F32 tensor; from a power-of-two first scale (the default)
// every value it takes is a power of two, so multiplying a gradient by 1/S is exact (no rounding
// added by the unscale).
// bf16 has F32's exponent range and needs no scaler; fp32 neither.
//
// The trainer scales the loss (train/trainer.cc train_step); step() below does the rest: it reads the
// scaled gradient norm ||S g|| once (not finite <=> found_inf), and folds 1/S into the AdamW
// kernel's grad_scale together with the clip coefficient.
#pragma once

#include <cstdint>

#include <vector>

#include <nlohmann/json.hpp>

#include "ops/optim.h"

namespace loom::train {

struct GradScalerConfig {
  double init_scale = 65536.0;        // 2^16 (--loss-scale-init)
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;  // consecutive finite steps before growing (--loss-scale-growth-interval)
};

// Writes `value` into the [1] F32 tensor the AdamW kernel reads its gradient multiplier from.
void set_grad_scale(Tensor& grad_scale, float value);

class GradScaler {
 public:
  // Throws loom::Error for a non-positive or non-finite scale, factors outside (0,1) / (1,inf), or
  // an interval < 1.
  explicit GradScaler(const GradScalerConfig& config = {});

  float scale() const { return scale_; }
  // Records one step's outcome and moves the scale. Returns true when the step must be taken
  // (the gradients were finite), false when it must be skipped.
  bool update(bool found_inf);

  // PyTorch's unscale_ + clip_grad_norm_ + scaler.step + scaler.update, after the backward of
  // loss * loss_scale (the scale() read before that backward), in one read of the gradients:
  //   ||S g|| = grad_norm(params); found_inf = ||S g|| not finite (one pass serves the check and the
  //     norm; a sum of squares that overflows F32 while every gradient is finite counts as an
  //     overflow too: the scale was large enough to put the norm itself out of range, and backing
  //     off is the right answer there as well);
  //   found_inf: no update (weights, AdamW moments and step counts untouched), update(true);
  //   else ||g|| = ||S g|| / S, and AdamW reads every gradient times
  //     grad_scale = clip_coefficient(||g||, clip_max_norm) * (1/S)  (clip_max_norm 0: no clip)
  //   so the unscale and the clip ride in the update's own pass; 1/S of a power of two is exact.
  // grad_scale: the [1] F32 tensor on the parameters' device that carries the multiplier.
  struct Step {
    bool taken = false;
    double norm = 0;  // the true (unscaled) gradient norm of a taken step
  };
  Step step(ops::AdamW& optimizer, const std::vector<Tensor>& params, double clip_max_norm, float loss_scale,
            Tensor& grad_scale);

  std::int64_t growth_tracker() const { return growth_tracker_; }  // finite steps since the last change
  std::int64_t skipped_steps() const { return skipped_; }          // in total, over the whole run
  const GradScalerConfig& config() const { return config_; }

  // {"scale", "growth_tracker", "skipped_steps", and the config}: saved in trainer_state.json.
  nlohmann::json state() const;
  // Restores state(); CheckpointError when a field is missing or malformed.
  void load_state(const nlohmann::json& j);

 private:
  GradScalerConfig config_;
  float scale_;
  std::int64_t growth_tracker_ = 0;
  std::int64_t skipped_ = 0;
};

}  // namespace loom::train
