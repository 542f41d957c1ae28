// layers/conv1d.cc: Conv1d and TextCnnBlock (see layers/conv1d.h).
#include "layers/conv1d.h"

#include <cmath>

#include "ops/elementwise.h"
#include "ops/shape_ops.h"

namespace loom::layers {
namespace {

// Swaps the last two dimensions of a [F, A, B] tensor (through the host: import/export only).
Tensor swap_last_two(const Tensor& t) {
  LOOM_CHECK_SHAPE(t.ndim() == 3, "conv weight layout: expected a 3-d weight, got ", t.str());
  const std::int64_t F = t.dim(0), A = t.dim(1), Bd = t.dim(2);
  const Tensor host = t.to(Device::cpu()).to(DType::F64);
  const double* src = host.data<double>();
  Tensor out = Tensor::empty({F, Bd, A}, DType::F64);
  double* dst = out.data<double>();
  for (std::int64_t f = 0; f < F; ++f)
    for (std::int64_t a = 0; a < A; ++a)
      for (std::int64_t b = 0; b < Bd; ++b) dst[(f * Bd + b) * A + a] = src[(f * A + a) * Bd + b];
  return out.to(t.dtype()).to(t.device());
}

}  // namespace

Tensor conv_weight_to_torch(const Tensor& fkc) { return swap_last_two(fkc); }
Tensor conv_weight_from_torch(const Tensor& fck) { return swap_last_two(fck); }

Conv1d::Conv1d(const Conv1dConfig& config, std::uint64_t seed, Device device) : config_(config) {
  const std::int64_t C = config.in_channels, F = config.out_channels, K = config.kernel_size;
  LOOM_CHECK(C > 0 && F > 0 && K > 0, "Conv1d: channels and kernel size must be positive, got C ", C, ", F ", F, ", K ",
             K);
  // torch.nn.Conv1d's default (kaiming_uniform with a = sqrt(5)) reduces to U(-1/sqrt(fan_in), ..).
  const float bound = 1.0f / std::sqrt(static_cast<float>(C * K));
  // Drawn in PyTorch's [F, C, K] order so the same seed gives the same filters as an exported model.
  weight_ = conv_weight_from_torch(Tensor::uniform({F, C, K}, -bound, bound, seed, 0)).to(config.dtype).to(device);
  weight_.set_requires_grad(true);
  if (config.bias == Bias::On) {
    bias_ = Tensor::uniform({F}, -bound, bound, seed, static_cast<std::uint64_t>(F * C * K)).to(config.dtype).to(device);
    bias_.set_requires_grad(true);
  }
}

std::vector<NamedTensor> Conv1d::named_parameters() const {
  std::vector<NamedTensor> out{{"weight", weight_}};
  if (bias_.defined()) out.emplace_back("bias", bias_);
  return out;
}

std::vector<NamedTensor> Conv1d::state_dict() const {
  std::vector<NamedTensor> out{{"weight", conv_weight_to_torch(weight_)}};
  if (bias_.defined()) out.emplace_back("bias", bias_);
  return out;
}

TextCnnBlock::TextCnnBlock(const TextCnnConfig& config, std::uint64_t seed, Device device) : config_(config) {
  LOOM_CHECK(!config.widths.empty() && config.widths.size() <= static_cast<std::size_t>(ops::kMaxTextCnnWidths),
             "TextCnnBlock: between 1 and ", ops::kMaxTextCnnWidths, " widths, got ", config.widths.size());
  for (std::size_t i = 0; i < config.widths.size(); ++i) {
    Conv1dConfig c;
    c.in_channels = config.in_channels;
    c.out_channels = config.filters;
    c.kernel_size = config.widths[i];
    c.options = config.options;
    c.dtype = config.dtype;
    convs_.emplace_back(c, seed + 7919 * (i + 1), device);  // a distinct stream per width
  }
}

std::vector<ops::TextCnnFilter> TextCnnBlock::filters() const {
  std::vector<ops::TextCnnFilter> out;
  for (const Conv1d& c : convs_) out.push_back({c.weight(), c.bias(), config_.options});
  return out;
}

bool TextCnnBlock::uses_fused(const Tensor& x) const {
  const Impl impl = config_.options.impl;
  if (x.device().is_cpu()) return impl == Impl::Auto || impl == Impl::Cpu;
  // On CUDA: Auto takes the fused kernel when it fits; Cuda takes it only as the Fused variant.
  const bool wanted = impl == Impl::Auto || (impl == Impl::Cuda && config_.options.variant == ops::Conv1dVariant::Fused);
  return wanted && ops::textcnn_supported(x, filters(), nullptr);
}

Tensor TextCnnBlock::forward(const Tensor& x, const Tensor& lengths) const {
  if (uses_fused(x)) {
    ops::Conv1dOptions block = config_.options;
    block.impl = Impl::Auto;
    return ops::textcnn(x, lengths, filters(), block).pooled;
  }
  std::vector<Tensor> pooled;
  for (const Conv1d& c : convs_) {
    const Tensor y = ops::relu(c.forward(x));
    const Tensor out_lengths =
        lengths.defined() ? ops::conv1d_output_lengths(lengths, ops::conv1d_geometry(x, c.weight(), config_.options))
                          : Tensor();
    pooled.push_back(ops::global_max_pool(y, out_lengths));
  }
  return ops::concat_last(pooled);
}

std::vector<NamedTensor> TextCnnBlock::named_parameters() const {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < convs_.size(); ++i)
    for (const auto& [name, t] : convs_[i].named_parameters()) out.emplace_back("convs." + std::to_string(i) + "." + name, t);
  return out;
}

std::vector<NamedTensor> TextCnnBlock::state_dict() const {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < convs_.size(); ++i)
    for (const auto& [name, t] : convs_[i].state_dict()) out.emplace_back("convs." + std::to_string(i) + "." + name, t);
  return out;
}

}  // namespace loom::layers
