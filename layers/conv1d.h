// layers/conv1d.h: Conv1d over time, pooling layers, and the Kim (2014) text-CNN block.
//
//   Conv1d:       x [T, B, C] -> [T', B, F]     weight [F, K, C] inside (each tap a GEMM operand),
//                 exported as PyTorch's [F, C, K] by state_dict(); bias [F].
//                 Init as torch.nn.Conv1d: weight and bias ~ U(-1/sqrt(C*K), 1/sqrt(C*K)).
//   TextCnnBlock: x [T, B, E] (+ lengths) -> for each width K_i: conv -> bias -> ReLU -> max over
//                 the row's valid positions -> concatenated [B, sum F_i]. Uses the fused kernel
//                 (ops::textcnn: CPU, or CUDA v3 when it supports the shape) and otherwise the
//                 composed ops conv1d -> relu -> global_max_pool -> concat_last, which give the
//                 same values and gradients. Parameters "convs.{i}.weight" / "convs.{i}.bias", as a
//                 PyTorch module holding an nn.ModuleList named convs.
#pragma once

#include <vector>

#include "ops/conv1d.h"
#include "ops/pool.h"
#include "layers/module.h"

namespace loom::layers {

struct Conv1dConfig {
  std::int64_t in_channels = 0;   // C
  std::int64_t out_channels = 0;  // F
  std::int64_t kernel_size = 3;   // K
  ops::Conv1dOptions options;     // padding, dilation, impl, variant
  Bias bias = Bias::On;
  DType dtype = DType::F32;       // parameter dtype (F64 for the models' gradient checks)
};

class Conv1d final : public Module {
 public:
  Conv1d(const Conv1dConfig& config, std::uint64_t seed, Device device = Device::cpu());
  Tensor forward(const Tensor& x) const { return ops::conv1d(x, weight_, bias_, config_.options); }
  std::vector<NamedTensor> named_parameters() const override;
  std::vector<NamedTensor> state_dict() const override;
  const Tensor& weight() const { return weight_; }  // [F, K, C]
  const Tensor& bias() const { return bias_; }
  const Conv1dConfig& config() const { return config_; }

 private:
  Conv1dConfig config_;
  Tensor weight_, bias_;
};

// PyTorch's [F, C, K] <-> loom's [F, K, C] (a copy, on the tensor's device).
Tensor conv_weight_to_torch(const Tensor& fkc);
Tensor conv_weight_from_torch(const Tensor& fck);

struct TextCnnConfig {
  std::int64_t in_channels = 0;             // E
  std::vector<std::int64_t> widths{3, 4, 5};
  std::int64_t filters = 100;               // F per width
  ops::Conv1dOptions options;               // padding (Kim: valid), dilation, impl
  DType dtype = DType::F32;                 // parameter dtype (F64 for the models' gradient checks)
};

class TextCnnBlock final : public Module {
 public:
  TextCnnBlock(const TextCnnConfig& config, std::uint64_t seed, Device device = Device::cpu());
  // x [T, B, E], lengths [B] I32 or undefined -> [B, widths * filters].
  Tensor forward(const Tensor& x, const Tensor& lengths = Tensor()) const;
  std::vector<NamedTensor> named_parameters() const override;
  std::vector<NamedTensor> state_dict() const override;
  std::int64_t output_size() const { return config_.filters * static_cast<std::int64_t>(config_.widths.size()); }
  // Whether forward() runs the fused kernel for these arguments (else the composed ops).
  bool uses_fused(const Tensor& x) const;

 private:
  std::vector<ops::TextCnnFilter> filters() const;
  TextCnnConfig config_;
  std::vector<Conv1d> convs_;
};

}  // namespace loom::layers
