// ops/elementwise.h: elementwise ops with autograd.
//
// Binary ops take b either with a's shape or as one row [N] where N is a's last dimension (a
// bias, broadcast over every row). Inputs must share dtype and device; ops never move data.
#pragma once

#include "core/random.h"
#include "ops/tensor.h"

namespace loom::ops {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, float alpha);

Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);

// Inverted dropout: each element is zeroed with probability p and the rest scaled by 1/(1-p).
// The mask comes from `gen` (Philox), so it is the same on CPU and GPU for the same state.
// Call it only in training; p == 0 returns x itself.
Tensor dropout(const Tensor& x, float p, Generator& gen = default_generator());

}  // namespace loom::ops
