// ops/reduce.h: sum and mean over the first or the last dimension, with autograd.
#pragma once

#include "ops/tensor.h"
#include "kernels/reduce/reduce.h"

namespace loom::ops {

using kernels::ReduceDim;

// Last: [..., N] -> [...]. First: [N, ...] -> [...].
Tensor sum(const Tensor& x, ReduceDim dim);
Tensor mean(const Tensor& x, ReduceDim dim);

}  // namespace loom::ops
