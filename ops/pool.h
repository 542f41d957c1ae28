// ops/pool.h: pooling over time with per-row lengths, with autograd (kernels/pool/pool.h).
#pragma once

#include "ops/tensor.h"

namespace loom::ops {

struct MaxPool1dResult {
  Tensor y;        // [T_out, B, C], 0 where a window reaches past the row's length
  Tensor lengths;  // [B] I32: valid windows per row (undefined if no lengths were given)
};

// torch.nn.MaxPool1d(kernel, stride) over time; x [T, B, C], lengths [B] I32 or undefined.
MaxPool1dResult max_pool1d(const Tensor& x, const Tensor& lengths, std::int64_t kernel, std::int64_t stride);

// [T, B, C] -> [B, C]: max / mean over each row's valid positions (0 for an empty row).
Tensor global_max_pool(const Tensor& x, const Tensor& lengths);
Tensor global_mean_pool(const Tensor& x, const Tensor& lengths);

}  // namespace loom::ops
