// ops/matmul.h: matrix products with autograd (CPU: OpenBLAS; CUDA: cuBLAS).
#pragma once

#include "ops/tensor.h"

namespace loom::ops {

// a [M, K] x b [K, N] -> [M, N].
Tensor matmul(const Tensor& a, const Tensor& b);

// x [..., in] x weight[out, in]^T + bias[out] -> [..., out] (PyTorch's nn.Linear layout).
// bias may be undefined (no bias).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace loom::ops
