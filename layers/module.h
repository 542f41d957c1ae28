// layers/module.h: what every layer shares: named parameters in PyTorch's state_dict spelling.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ops/tensor.h"

namespace loom::layers {

// Run-time phase: dropout is active only in training.
enum class Phase { Train, Eval };
enum class Bias { On, Off };

using NamedTensor = std::pair<std::string, Tensor>;

class Module {
 public:
  virtual ~Module() = default;
  // Parameters with the names PyTorch's equivalent module uses in its state_dict
  // ("weight_ih_l0", "bias_hh_l1_reverse", ...), in a stable order.
  virtual std::vector<NamedTensor> named_parameters() const = 0;

  // The tensors PyTorch's equivalent module saves, in PyTorch's layouts (a copy where loom's
  // internal layout differs, e.g. Conv1d's [F, K, C] weight exported as [F, C, K]).
  virtual std::vector<NamedTensor> state_dict() const { return named_parameters(); }

  std::vector<Tensor> parameters() const {
    std::vector<Tensor> out;
    for (const auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
  }
};

}  // namespace loom::layers
