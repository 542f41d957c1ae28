// ops/optim.cc: gradient clipping and the SGD / AdamW optimizers over parameter lists
// (fused update kernels in kernels/optim/).
#include "ops/optim.h"

#include <cmath>

#include "ops/dispatch.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/optim/optim.h"
#include "kernels/reduce/reduce.h"

namespace loom::ops {
namespace {

void check_param(const char* op, const Tensor& p) {
  LOOM_CHECK_SHAPE(p.defined() && p.dtype() == DType::F32, op, ": parameters must be f32 master weights, got ",
                   describe(p));
  LOOM_CHECK(p.requires_grad(), op, ": parameter ", p.str(), " does not require a gradient");
}

std::vector<Tensor> zeros_like_all(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) out.push_back(Tensor::zeros(p.shape(), DType::F32, p.device()));
  return out;
}

}  // namespace

double grad_norm(const std::vector<Tensor>& params) {
  // Each gradient's sum of squares goes into its own slot, so one read-back per device serves them
  // all and the host adds the slots in a fixed order (the same bits every run).
  double total = 0.0;
  std::vector<const Tensor*> with_grad;
  for (const Tensor& p : params)
    if (p.grad().defined()) with_grad.push_back(&p);
  if (with_grad.empty()) return 0.0;
  const Device dev = with_grad[0]->device();
  Tensor slots = Tensor::empty({static_cast<std::int64_t>(with_grad.size())}, DType::F32, dev);
  for (std::size_t i = 0; i < with_grad.size(); ++i) {
    const Tensor g = with_grad[i]->grad();
    LOOM_CHECK_SHAPE(g.device() == dev, "grad_norm: all gradients must be on one device, got ", dev.str(),
                     " and ", g.device().str());
    kernels::SumSquaresArgs a;
    a.n = g.numel();
    a.dtype = g.dtype();
    a.x = g.data_ptr();
    a.out = slots.data<float>() + i;
    run_kernel("grad_norm", g, a, kernels::sum_squares_cpu, LOOM_CUDA_FN(kernels::sum_squares_cuda));
  }
  for (float s : slots.to_vector()) total += s;
  return std::sqrt(total);
}

float clip_coefficient(double norm, double max_norm) {
  LOOM_CHECK(max_norm > 0, "clip_coefficient: max_norm must be positive, got ", max_norm);
  const double coeff = max_norm / (norm + 1e-6);  // PyTorch's clip_grad_norm_ epsilon
  return coeff >= 1.0 ? 1.0f : static_cast<float>(coeff);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  LOOM_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  const double norm = grad_norm(params);
  const double coeff = max_norm / (norm + 1e-6);  // PyTorch's clip_grad_norm_ epsilon
  if (coeff >= 1.0) return norm;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    kernels::ScaleArgs a;
    a.n = g.numel();
    a.dtype = g.dtype();
    a.alpha = static_cast<float>(coeff);
    a.x = g.data_ptr();
    a.y = g.data_ptr();
    run_kernel("clip_grad_norm", g, a, kernels::scale_cpu, LOOM_CUDA_FN(kernels::scale_cuda));
  }
  return norm;
}

Sgd::Sgd(std::vector<Tensor> params, SgdConfig config) : params_(std::move(params)), config_(config) {
  for (const Tensor& p : params_) check_param("Sgd", p);
  if (config_.momentum != 0.0f) momentum_ = zeros_like_all(params_);
}

void Sgd::step() {
  ++step_;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    kernels::SgdArgs a;
    a.n = p.numel();
    a.lr = config_.lr;
    a.momentum = config_.momentum;
    a.weight_decay = config_.weight_decay;
    a.nesterov = config_.nesterov == Nesterov::On ? kernels::Nesterov::On : kernels::Nesterov::Off;
    a.step = step_;
    a.param = p.data<float>();
    a.grad = g.data<float>();
    a.momentum_buf = momentum_.empty() ? nullptr : momentum_[i].data<float>();
    run_kernel("sgd", p, a, kernels::sgd_step_cpu, LOOM_CUDA_FN(kernels::sgd_step_cuda));
  }
}

void Sgd::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

AdamW::AdamW(std::vector<Tensor> params, AdamWConfig config) : params_(std::move(params)), config_(config) {
  for (const Tensor& p : params_) check_param("AdamW", p);
  m_ = zeros_like_all(params_);
  v_ = zeros_like_all(params_);
  steps_.assign(params_.size(), 0);
  zeroed_.assign(params_.size(), Tensor());
}

void AdamW::step() { step(Tensor()); }

void AdamW::step(const Tensor& grad_scale) {
  if (grad_scale.defined())
    LOOM_CHECK_SHAPE(grad_scale.numel() == 1 && grad_scale.dtype() == DType::F32 &&
                         (params_.empty() || grad_scale.device() == params_[0].device()),
                     "AdamW::step: grad_scale must be one f32 on the parameters' device, got ", describe(grad_scale));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    const Tensor g = p.grad();
    zeroed_[i] = Tensor();
    if (!g.defined()) continue;
    const bool fuse_zero = config_.zero_grad_in_step && p.device() == Device::cpu();
    kernels::AdamWArgs a;
    a.n = p.numel();
    a.lr = config_.lr;
    a.beta1 = config_.beta1;
    a.beta2 = config_.beta2;
    a.eps = config_.eps;
    a.weight_decay = config_.weight_decay;
    a.step = ++steps_[i];
    a.param = p.data<float>();
    a.grad = g.data<float>();
    a.m = m_[i].data<float>();
    a.v = v_[i].data<float>();
    a.grad_scale = grad_scale.defined() ? grad_scale.data<float>() : nullptr;
    a.grad_to_zero = fuse_zero ? g.data<float>() : nullptr;
    run_kernel("adamw", p, a, kernels::adamw_step_cpu, LOOM_CUDA_FN(kernels::adamw_step_cuda));
    if (fuse_zero) zeroed_[i] = g;
  }
}

void AdamW::load_state(const std::vector<Tensor>& m, const std::vector<Tensor>& v,
                       const std::vector<std::int64_t>& steps) {
  const std::size_t n = params_.size();
  LOOM_CHECK_SHAPE(m.size() == n && v.size() == n && steps.size() == n, "AdamW::load_state: ", n,
                   " parameters, got ", m.size(), " first moments, ", v.size(), " second moments and ",
                   steps.size(), " step counts");
  for (std::size_t i = 0; i < n; ++i) {
    LOOM_CHECK_SHAPE(m[i].defined() && v[i].defined() && m[i].shape() == params_[i].shape() &&
                         v[i].shape() == params_[i].shape() && m[i].dtype() == DType::F32 &&
                         v[i].dtype() == DType::F32,
                     "AdamW::load_state: parameter ", i, " is ", describe(params_[i]), ", moments are ",
                     describe(m[i]), " and ", describe(v[i]));
    LOOM_CHECK_SHAPE(steps[i] >= 0, "AdamW::load_state: parameter ", i, " has step count ", steps[i]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    m_[i].copy_from(m[i]);
    v_[i].copy_from(v[i]);
  }
  steps_ = steps;
}

void AdamW::zero_grad() {
  // A buffer the last step() zeroed is kept (the next backward accumulates into zeros, which gives
  // the same sums as overwriting a fresh one); any other gradient is dropped as before.
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    const bool still_zeroed = zeroed_[i].defined() && p.grad().defined() && p.grad().data_ptr() == zeroed_[i].data_ptr();
    if (!still_zeroed) p.zero_grad();
    zeroed_[i] = Tensor();
  }
}

}  // namespace loom::ops
