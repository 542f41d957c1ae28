// ops/shape_ops.h: reshaping, slicing, concatenation and splitting, with autograd.
#pragma once

#include <vector>

#include "ops/tensor.h"

namespace loom::ops {

Tensor reshape(const Tensor& x, const Shape& shape);       // a view; one dimension may be -1
Tensor slice0(const Tensor& x, std::int64_t begin, std::int64_t end);  // rows [begin, end) of dim 0

// Joins tensors along the first dimension; all other dimensions must match (e.g. stacking
// [1, B, H] final states into [L*D, B, H]).
Tensor concat0(const std::vector<Tensor>& parts);

// Joins tensors along the last dimension; all other dimensions must match.
Tensor concat_last(const std::vector<Tensor>& parts);
// Splits along the last dimension into pieces of the given widths (they must sum to it).
std::vector<Tensor> split_last(const Tensor& x, const std::vector<std::int64_t>& widths);

}  // namespace loom::ops
