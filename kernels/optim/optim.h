// kernels/optim/optim.h: fused optimizer updates, one pass over each parameter.
//
// Parameters, gradients and optimizer state are F32 (master weights: F16 / BF16 are storage types
// only, and an update smaller than their spacing would be rounded away).
// grad_scale (nullable, one F32 on the parameter's device) multiplies every gradient element as
// it is read: that is how clip-by-global-norm and loss-scale removal apply without another pass.
//
// SGD with momentum (PyTorch's torch.optim.SGD, dampening 0):
//   g = grad * s + wd * w;  buf = step == 1 ? g : momentum * buf + g
//   w -= lr * (nesterov ? g + momentum * buf : buf)        (buf unused when momentum == 0)
// AdamW (torch.optim.AdamW; defaults beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0.01):
//   w *= 1 - lr * wd;  g = grad * s
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   w -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)   (PyTorch's exact form)
// The per-step scalars (bias corrections, step size) are computed in double on the host.
#pragma once

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

enum class Nesterov { Off, On };

struct SgdArgs {
  std::int64_t n = 0;
  float lr = 0.01f, momentum = 0.0f, weight_decay = 0.0f;
  Nesterov nesterov = Nesterov::Off;
  std::int64_t step = 1;               // 1-based; step 1 initializes the momentum buffer
  float* param = nullptr;              // [n] in/out
  const float* grad = nullptr;         // [n]
  float* momentum_buf = nullptr;       // [n] in/out (unused when momentum == 0)
  const float* grad_scale = nullptr;   // [1] nullable
};

struct AdamWArgs {
  std::int64_t n = 0;
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.01f;
  std::int64_t step = 1;               // 1-based, for the bias corrections
  float* param = nullptr;              // [n] in/out
  const float* grad = nullptr;         // [n]
  float* m = nullptr;                  // [n] in/out, first moment
  float* v = nullptr;                  // [n] in/out, second moment
  const float* grad_scale = nullptr;   // [1] nullable
  // Fused zero_grad (CPU only; the CUDA twin requires it null): when set, it is the same buffer as
  // grad, and each element is set to +0 right after it is read, in the same pass. Saves the
  // separate zeroing pass (and a fresh allocation) of a dense gradient such as an embedding
  // table's, at 4 more bytes written per element; the update itself is unchanged.
  float* grad_to_zero = nullptr;       // [n] nullable
};

Cost adamw_cost(const AdamWArgs&);  // reads w, g, m, v; writes w, m, v (and g if fused): 28 (32) bytes each

void sgd_step_cpu(const SgdArgs&);
void adamw_step_cpu(const AdamWArgs&);
// Which loop adamw_step_cpu runs on this CPU: "avx512f" (16 lanes) or "baseline" (same bits).
const char* adamw_cpu_isa();
void sgd_step_cuda(const SgdArgs&, const CudaContext&);
void adamw_step_cuda(const AdamWArgs&, const CudaContext&);

}  // namespace loom::kernels
