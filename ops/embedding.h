// ops/embedding.h: embedding lookup with a deterministic backward.
#pragma once

#include "ops/tensor.h"

namespace loom::ops {

// weight [V, E], ids I32 of any shape S -> [S..., E]. An id outside [0, V) throws ShapeError
// naming the op, the id and V.
Tensor embedding(const Tensor& weight, const Tensor& ids);

}  // namespace loom::ops
