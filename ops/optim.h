// ops/optim.h: optimizers over a list of parameters (fused updates in kernels/optim/).
//
// Parameters are F32 leaf tensors with requires_grad; a parameter whose grad() is undefined after
// backward (not used in the loss) is skipped, as PyTorch does.
#pragma once

#include <vector>

#include "ops/tensor.h"

namespace loom::ops {

// Scales every gradient so their joint L2 norm is at most max_norm (PyTorch's
// clip_grad_norm_ with eps 1e-6). Returns the norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

// The joint L2 norm of all gradients, without changing them.
double grad_norm(const std::vector<Tensor>& params);

// The factor clip_grad_norm would scale the gradients by: min(1, max_norm / (norm + 1e-6)), as a
// float (the precision the scale is applied in). Pass it to AdamW::step(grad_scale) to clip
// inside the update instead of in a separate pass over every gradient.
float clip_coefficient(double norm, double max_norm);

// On: the update looks ahead along the momentum (w -= lr * (g + momentum * buf)), as PyTorch's
// SGD(nesterov=True).
enum class Nesterov { Off, On };

struct SgdConfig {
  float lr = 0.01f, momentum = 0.0f, weight_decay = 0.0f;
  Nesterov nesterov = Nesterov::Off;
};

class Sgd {
 public:
  Sgd(std::vector<Tensor> params, SgdConfig config);
  void step();
  void zero_grad();
  SgdConfig& config() { return config_; }

 private:
  std::vector<Tensor> params_, momentum_;
  SgdConfig config_;
  std::int64_t step_ = 0;
};

struct AdamWConfig {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.01f;
  // Fused zero_grad (opt-in; CPU parameters, ignored on a GPU): step() sets every gradient it
  // reads to zero in the same pass, and zero_grad() then keeps those zeroed buffers attached instead
  // of dropping them, so the next backward adds into zeros (Accumulate, the same sums) instead of
  // allocating and zero-filling a fresh buffer: for the dense 2.56 M-entry embedding gradient that
  // is a 10 MB allocation (page faults) and a zeroing pass per step saved.
  // The one semantic difference, hence opt-in: a parameter that a later backward does not reach
  // keeps a (zero) gradient, so it is still updated (weight decay, moment decay, step count) where
  // the default skips it as torch.optim.AdamW skips a None gradient. Use it when every backward
  // reaches every parameter (the trainer's text models), where the bits are the default's.
  // A gradient read after step() reads zeros.
  bool zero_grad_in_step = false;
};

class AdamW {
 public:
  AdamW(std::vector<Tensor> params, AdamWConfig config);
  void step();
  // The same, with every gradient multiplied by grad_scale ([1] F32 on the parameters' device;
  // undefined = 1) as the kernel reads it: clip_grad_norm() + step() in one pass over the
  // gradients instead of two (the embedding table's gradient is most of a text model's bytes),
  // with the same bits, because the product g * s is rounded the same way in both.
  void step(const Tensor& grad_scale);
  void zero_grad();
  AdamWConfig& config() { return config_; }
  // Updates applied to params_[i] (a parameter without a gradient at a step is not updated and
  // its bias corrections do not advance, as in torch.optim.AdamW).
  const std::vector<std::int64_t>& steps_taken() const { return steps_; }
  // Optimizer moments, exposed for checkpoints: m_[i], v_[i] belong to params_[i].
  const std::vector<Tensor>& first_moments() const { return m_; }
  const std::vector<Tensor>& second_moments() const { return v_; }
  const std::vector<Tensor>& params() const { return params_; }
  // Restores a checkpoint: copies m[i], v[i] (any device, same shape) into the moments of
  // params_[i] and sets its update count. Sizes and shapes are checked (ShapeError naming the
  // index) before anything is copied, so a failed restore leaves the optimizer as it was.
  void load_state(const std::vector<Tensor>& m, const std::vector<Tensor>& v,
                  const std::vector<std::int64_t>& steps);

 private:
  std::vector<Tensor> params_, m_, v_;
  AdamWConfig config_;
  std::vector<std::int64_t> steps_;
  // zeroed_[i]: the gradient buffer of params_[i] that the last step() zeroed (undefined if none);
  // zero_grad() keeps p.grad() only while it is still that buffer.
  std::vector<Tensor> zeroed_;
};

}  // namespace loom::ops
