// ops/cast.h: dtype conversion with autograd (the gradient is cast back).
#pragma once

#include "ops/tensor.h"

namespace loom::ops {

// F32 <-> F16 <-> BF16 (and F64 on the CPU), round to nearest even. Returns x when already `to`.
Tensor cast(const Tensor& x, DType to);

}  // namespace loom::ops
