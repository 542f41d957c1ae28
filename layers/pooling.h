// layers/pooling.h: pooling over time as layers (no parameters), for models that stack modules.
//
//   MaxPool1d(k, s):  x [T, B, C] (+ lengths) -> [T_out, B, C] (+ lengths of valid windows)
//   GlobalMaxPool:    x [T, B, C] (+ lengths) -> [B, C], max over each row's valid steps
//   GlobalMeanPool:   x [T, B, C] (+ lengths) -> [B, C], mean over each row's valid steps
// Semantics (windows past a row's length, empty rows): kernels/pool/pool.h.
#pragma once

#include "ops/pool.h"
#include "layers/module.h"

namespace loom::layers {

class MaxPool1d final : public Module {
 public:
  MaxPool1d(std::int64_t kernel, std::int64_t stride) : kernel_(kernel), stride_(stride) {}
  ops::MaxPool1dResult forward(const Tensor& x, const Tensor& lengths = Tensor()) const {
    return ops::max_pool1d(x, lengths, kernel_, stride_);
  }
  std::vector<NamedTensor> named_parameters() const override { return {}; }

 private:
  std::int64_t kernel_, stride_;
};

class GlobalMaxPool final : public Module {
 public:
  Tensor forward(const Tensor& x, const Tensor& lengths = Tensor()) const { return ops::global_max_pool(x, lengths); }
  std::vector<NamedTensor> named_parameters() const override { return {}; }
};

class GlobalMeanPool final : public Module {
 public:
  Tensor forward(const Tensor& x, const Tensor& lengths = Tensor()) const { return ops::global_mean_pool(x, lengths); }
  std::vector<NamedTensor> named_parameters() const override { return {}; }
};

}  // namespace loom::layers
