// ops/reduce.h: sum and mean over the first or the last dimension, with autograd.
#pragma once

#include "ops/tensor.h"

namespace loom::ops {

// Which dimension goes away.
enum class ReduceDim { First, Last };

// Last: [..., N] -> [...]. First: [N, ...] -> [...].
Tensor sum(const Tensor& x, ReduceDim dim);
Tensor mean(const Tensor& x, ReduceDim dim);

}  // namespace loom::ops
