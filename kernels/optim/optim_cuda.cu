// kernels/optim/optim_cuda.cu: fused SGD and AdamW updates, one pass over each parameter.
//
// Math (PyTorch's torch.optim.SGD with dampening 0, and torch.optim.AdamW; s = *grad_scale or 1):
//   SGD:   g = grad * s + wd * w
//          buf = step == 1 ? g : momentum * buf + g          (only when momentum != 0)
//          w -= lr * (nesterov ? g + momentum * buf : buf)   (w -= lr * g when momentum == 0)
//   AdamW: w *= 1 - lr * wd;  g = grad * s
//          m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//          w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),   bc1 = 1 - b1^step, bc2 = 1 - b2^step
// (PyTorch's exact form, and the CPU reference's, rather than the equal m_hat / (sqrt(v_hat) + eps),
// so the rounding matches). The per-step scalars lr / bc1, sqrt(bc2), 1 - lr wd, 1 - b1 and 1 - b2
// are the same for every element, so the host computes them once in double (b^step underflows
// gracefully and 1 - b^step keeps its digits for small steps) and passes them as floats.
// Everything per element is F32: master weights and optimizer state are F32 whatever precision
// the model runs in. nvcc contracts a * b + c into one fused multiply-add where it can, so a GPU
// step may differ from the CPU step by about an ulp per operation.
//
// Threads: one thread per parameter element in a grid-stride loop; the thread reads w, grad (and
// buf, or m and v) once and writes them once, so the update is one pass over memory.
// *grad_scale (clip-by-global-norm factor times 1 / loss scale) is read once per thread from device
// memory: the step never waits for the host to learn the gradient norm.
//
// Memory traffic: SGD 12n bytes without momentum, 20n with (w, grad, buf read; w, buf written);
// AdamW 28n bytes (w, g, m, v read; w, m, v written), adamw_cost(). About 5 (SGD) or 12 (AdamW)
// flops per element plus one sqrt: strongly memory-bound.
//
// Reference: kernels/optim/optim_cpu.cc. Tests: tests/ops/test_ops_optim.cc, suite "cuda".
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
    const float g = grad[i] * s + weight_decay * wi;
    float d = g;
    if (momentum != 0.0f) {
      const float b = step == 1 ? g : momentum * buf[i] + g;
      buf[i] = b;
      d = nesterov == Nesterov::On ? g + momentum * b : b;
    }
    w[i] = wi - lr * d;
  }
}

namespace {

// The step's scalars, computed once on the host (adamw_step_cuda).
struct AdamWScalars {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, eps;
  float step_size;              // lr / (1 - beta1^step)
  float bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  float decay;                  // 1 - lr * weight_decay
};

}  // namespace

static __global__ void optim_adamw_kernel(std::int64_t n, AdamWScalars k, float* w, const float* grad, float* m,
                                          float* v, const float* grad_scale) {
  const float s = grad_scale ? *grad_scale : 1.0f;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float wi = w[i] * k.decay;
    const float g = grad[i] * s;
    const float mi = k.beta1 * m[i] + k.one_minus_beta1 * g;
    const float vi = k.beta2 * v[i] + k.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - k.step_size * mi / (sqrtf(vi) / k.bias_correction2_sqrt + k.eps);
  }
}

void sgd_step_cuda(const SgdArgs& a, const CudaContext& ctx) {
  LOOM_CHECK(a.step >= 1, "sgd_step_cuda: step is 1-based, got ", a.step);
  LOOM_CHECK(a.momentum == 0.0f || a.momentum_buf != nullptr, "sgd_step_cuda: momentum ", a.momentum,
             " needs a momentum buffer");
  if (a.n == 0) return;
  launch<optim_sgd_kernel>(blocks_for(a.n), kBlock, ctx.stream(), a.n, a.lr, a.momentum, a.weight_decay, a.nesterov,
                           a.step, a.param, a.grad, a.momentum_buf,
                           a.grad_scale);
  LOOM_CUDA_CHECK_LAUNCH();
}

void adamw_step_cuda(const AdamWArgs& a, const CudaContext& ctx) {
  LOOM_CHECK(a.step >= 1, "adamw_step_cuda: step is 1-based, got ", a.step);
  if (a.n == 0) return;
  const double step = static_cast<double>(a.step);
  const double beta1 = a.beta1, beta2 = a.beta2, lr = a.lr;
  const double bias_correction1 = 1.0 - std::pow(beta1, step);
  const double bias_correction2 = 1.0 - std::pow(beta2, step);
  AdamWScalars k;
  k.beta1 = a.beta1;
  k.beta2 = a.beta2;
  k.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  k.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  k.eps = a.eps;
  k.step_size = static_cast<float>(lr / bias_correction1);
  k.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  k.decay = static_cast<float>(1.0 - lr * static_cast<double>(a.weight_decay));
  launch<optim_adamw_kernel>(blocks_for(a.n), kBlock, ctx.stream(), a.n, k, a.param, a.grad, a.m, a.v, a.grad_scale);
  LOOM_CUDA_CHECK_LAUNCH();
}

}  // namespace loom::kernels
