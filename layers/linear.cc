// layers/linear.cc: the fully connected layer (see layers/linear.h).
#include "layers/linear.h"

#include <cmath>

namespace loom::layers {

Linear::Linear(const LinearConfig& config, std::uint64_t seed, Device device) : config_(config) {
  const std::int64_t in = config.in_features, out = config.out_features;
  LOOM_CHECK(in > 0 && out > 0, "Linear: in_features and out_features must be positive, got ", in, " and ", out);
  const bool torch = config.init == LinearInit::Torch;
  const float bound = torch ? 1.0f / std::sqrt(static_cast<float>(in)) : std::sqrt(6.0f / static_cast<float>(in + out));
  weight_ = Tensor::uniform({out, in}, -bound, bound, seed, 0).to(config.dtype).to(device);
  weight_.set_requires_grad(true);
  if (config.bias == Bias::On) {
    // The bias draws the numbers after the weight's, from the same stream.
    const Tensor b = torch ? Tensor::uniform({out}, -bound, bound, seed, static_cast<std::uint64_t>(in * out))
                           : Tensor::zeros({out});
    bias_ = b.to(config.dtype).to(device);
    bias_.set_requires_grad(true);
  }
}

std::vector<NamedTensor> Linear::named_parameters() const {
  std::vector<NamedTensor> out{{"weight", weight_}};
  if (bias_.defined()) out.emplace_back("bias", bias_);
  return out;
}

}  // namespace loom::layers
