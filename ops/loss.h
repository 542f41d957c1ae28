// ops/loss.h: classification losses with autograd (formulas in kernels/loss/loss.h).
#pragma once

#include "ops/tensor.h"

namespace loom::ops {

// logits [N, K], targets I32 [N] in [0, K), class_weight [K] or undefined.
// Returns the weighted mean, a one-element tensor [] (PyTorch's reduction="mean").
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets,
                             const Tensor& class_weight = Tensor());

// logits [N] or [N, K], targets of the same shape and dtype with values in [0, 1],
// pos_weight [K] (or [1] for [N] logits) or undefined. Returns the mean over all elements, [].
Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, const Tensor& pos_weight = Tensor());

}  // namespace loom::ops
