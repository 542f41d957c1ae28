// layers/linear.h: a fully connected layer with PyTorch's interface.
//
//   x [..., in] -> x W^T + b [..., out]      weight [out, in], bias [out] ("weight", "bias")
//
// Init: Torch (default) as torch.nn.Linear: kaiming_uniform(a = sqrt(5)) reduces to
// U(-1/sqrt(in), 1/sqrt(in)) for the weight, and the bias is U(-1/sqrt(in), 1/sqrt(in)) too.
// Glorot: Keras' Dense: weight U(-sqrt(6/(in+out)), +), bias zero.
#pragma once

#include <cstdint>

#include "ops/matmul.h"
#include "layers/module.h"

namespace loom::layers {

enum class LinearInit { Torch, Glorot };

struct LinearConfig {
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  Bias bias = Bias::On;
  LinearInit init = LinearInit::Torch;
  DType dtype = DType::F32;
};

class Linear final : public Module {
 public:
  Linear(const LinearConfig& config, std::uint64_t seed, Device device = Device::cpu());
  Tensor forward(const Tensor& x) const { return ops::linear(x, weight_, bias_); }
  std::vector<NamedTensor> named_parameters() const override;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const LinearConfig& config() const { return config_; }

 private:
  LinearConfig config_;
  Tensor weight_, bias_;
};

}  // namespace loom::layers
