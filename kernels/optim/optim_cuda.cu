// kernels/optim/optim_cuda.cu: fused SGD and AdamW updates, one pass over each parameter.
//
// Math (PyTorch's torch.optim.SGD with dampening 0, and torch.optim.AdamW; s = *grad_scale or 1):
//   SGD:   g = grad * s + wd * w    (the wd term only when wd != 0, as PyTorch skips it)
//          buf = step == 1 ? g : momentum * buf + g          (only when momentum != 0)
//          w -= lr * (nesterov ? g + momentum * buf : buf)   (w -= lr * g when momentum == 0)
//   AdamW: w *= 1 - lr * wd;  g = grad * s
//          m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//          w -= lr / (1 - b1^step) * m / (sqrt(v / (1 - b2^step)) + eps)
// The step-dependent factors lr / (1 - b1^step), 1 - b2^step and 1 - lr * wd are the same for every
// element, so the host computes them once, in double (b^step underflows gracefully and 1 - b^step
// keeps its digits for small steps), and passes them as floats. Everything per element is F32:
// master weights and optimizer state are F32 whatever precision the model runs in.
//
// Threads: one thread per parameter element in a grid-stride loop; the thread reads w, grad (and
// buf, or m and v) once and writes them once, so the update is one pass over memory.
// *grad_scale (clip-by-global-norm factor times 1 / loss scale) is read once per thread from device
// memory: the step never waits for the host to learn the gradient norm.
//
// Memory traffic: SGD 8n bytes without momentum, 16n with (w, grad, buf read; w, buf written);
// AdamW 28n bytes (w, g, m, v read; w, m, v written), adamw_cost(). About 5 (SGD) or 12 (AdamW)
// flops per element plus one sqrt: strongly memory-bound.
//
// Reference: kernels/optim/optim_cpu.cc. Tests: tests/kernels/ (CUDA against the CPU reference over
// several steps, with and without grad_scale, momentum, Nesterov and weight decay).
#include <cmath>
#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/optim/optim.h"

namespace loom::kernels {

static __global__ void optim_sgd_kernel(std::int64_t n, float lr, float momentum, float weight_decay,
                                        Nesterov nesterov, std::int64_t step, float* w, const float* grad, float* buf,
                                        const float* grad_scale) {
  const float s = grad_scale ? *grad_scale : 1.0f;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float wi = w[i];
    float g = grad[i] * s;
    if (weight_decay != 0.0f) g += weight_decay * wi;
    float d = g;
    if (momentum != 0.0f) {
      const float b = step == 1 ? g : momentum * buf[i] + g;
      buf[i] = b;
      d = nesterov == Nesterov::On ? g + momentum * b : b;
    }
    w[i] = wi - lr * d;
  }
}

// step_size = lr / (1 - b1^step), bias2 = 1 - b2^step, decay = 1 - lr * wd (host-computed).
static __global__ void optim_adamw_kernel(std::int64_t n, float beta1, float beta2, float eps, float step_size,
                                          float bias2, float decay, float* w, const float* grad, float* m, float* v,
                                          const float* grad_scale) {
  const float s = grad_scale ? *grad_scale : 1.0f;
  const float one_minus_b1 = 1.0f - beta1, one_minus_b2 = 1.0f - beta2;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float wi = w[i] * decay;
    const float g = grad[i] * s;
    const float mi = beta1 * m[i] + one_minus_b1 * g;
    const float vi = beta2 * v[i] + one_minus_b2 * g * g;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - step_size * mi / (sqrtf(vi / bias2) + eps);
  }
}

void sgd_step_cuda(const SgdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK(a.step >= 1, "sgd_step_cuda: step is 1-based, got ", a.step);
  LOOM_CHECK(a.momentum == 0.0f || a.momentum_buf != nullptr, "sgd_step_cuda: momentum ", a.momentum,
             " needs a momentum buffer");
  if (a.n == 0) return;
  optim_sgd_kernel<<<blocks_for(a.n), kBlock, 0, ctx.stream()>>>(a.n, a.lr, a.momentum, a.weight_decay, a.nesterov,
                                                                 a.step, a.param, a.grad, a.momentum_buf,
                                                                 a.grad_scale);
  LOOM_CUDA_CHECK_LAUNCH();
}

void adamw_step_cuda(const AdamWArgs& a, const CudaContext& ctx) {
  LOOM_CHECK(a.step >= 1, "adamw_step_cuda: step is 1-based, got ", a.step);
  if (a.n == 0) return;
  const double step = static_cast<double>(a.step);
  const double bias1 = 1.0 - std::pow(static_cast<double>(a.beta1), step);
  const double bias2 = 1.0 - std::pow(static_cast<double>(a.beta2), step);
  const float step_size = static_cast<float>(static_cast<double>(a.lr) / bias1);
  const float decay = static_cast<float>(1.0 - static_cast<double>(a.lr) * static_cast<double>(a.weight_decay));
  optim_adamw_kernel<<<blocks_for(a.n), kBlock, 0, ctx.stream()>>>(a.n, a.beta1, a.beta2, a.eps, step_size,
                                                                   static_cast<float>(bias2), decay, a.param, a.grad,
                                                                   a.m, a.v, a.grad_scale);
  LOOM_CUDA_CHECK_LAUNCH();
}

}  // namespace loom::kernels
