// models/user_cnn.h: the user-level CNN of the bot detector (issue 14): Kim's CNN run over a user's
// tweets instead of a sentence's words.
//
//   tweet vectors x [n, B, D] (time = the user's tweets, D = the tweet encoder's feature size)
//   + counts [B] I32 (tweets per user, 1..n)
//   -> for each width K_i (2, 3, 4): Conv1d(D -> F, K_i, valid) -> ReLU -> max over the user's valid
//      windows -> concat [B, W*F] -> Dropout (training) -> Linear [B, num_outputs]
//
// Positions past a user's count are never read: they are replaced by zero vectors before the
// convolutions, so a user's logits do not depend on the batch's other users or on what x holds past
// its count. A user with fewer tweets than the widest window (count < K_max) is seen as padded with
// zero vectors up to K_max (its padded count is max(count, K_max)), so every width has at least one
// window. This is what a PyTorch user gets by zero-padding each user's [count, D] matrix to at least
// K_max rows (tests/peers/torch_user_cnn.py does exactly that). Zero vectors, not a learned
// padding vector: a tweet encoder's features of "no tweet" are not defined, and zero is the
// conventional value of a zero-padded Conv1d.
//
// State dict (PyTorch's names and layouts, an nn.ModuleList of Conv1d named convs and a Linear):
//   convs.{i}.weight [F, D, K_i], convs.{i}.bias [F], head.weight [K, W*F], head.bias [K].
// Init as torch.nn.Conv1d / nn.Linear (U(+-1/sqrt(fan_in))), each tensor from its own Philox stream.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/random.h"
#include "layers/conv1d.h"
#include "layers/linear.h"
#include "layers/module.h"

namespace loom::models {

struct UserCnnConfig {
  std::int64_t input_size = 0;                // D: the tweet vector's size
  std::vector<std::int64_t> widths{2, 3, 4};  // windows over consecutive tweets
  std::int64_t filters = 300;                 // maps per width
  float dropout = 0.5f;                       // before the head, training only
  std::int64_t num_outputs = 1;               // 1 logit: binary (bot vs human)
  Impl conv_impl = Impl::Auto;                // a run-time choice, not saved
  DType dtype = DType::F32;                   // F64 for the gradient check

  void validate() const;                      // Error naming the bad field
  std::int64_t feature_size() const { return filters * static_cast<std::int64_t>(widths.size()); }
  nlohmann::json to_json() const;             // sizes only (no impl, no dtype)
  static UserCnnConfig from_json(const nlohmann::json& j);  // CheckpointError naming a bad field
};

class UserCnn final : public layers::Module {
 public:
  UserCnn(const UserCnnConfig& config, std::uint64_t seed, Device device = Device::cpu());

  // x [n, B, D] in the parameters' dtype on the model's device, counts [B] I32 (any device) with
  // 1 <= count_b <= n. Returns logits [B, num_outputs]. Phase::Train enables dropout (masks from gen).
  Tensor forward(const Tensor& x, const Tensor& counts, layers::Phase phase, Generator& gen) const;
  // The pooled features the head reads, before dropout: [B, W*F].
  Tensor features(const Tensor& x, const Tensor& counts) const;

  // loom's layouts (conv weights [F, K, D]): what the optimizer updates.
  std::vector<layers::NamedTensor> named_parameters() const override;
  // PyTorch's layouts (conv weights [F, D, K]).
  std::vector<layers::NamedTensor> state_dict() const override;
  // Takes state_dict()'s names and layouts, any float dtype. Every name and shape is checked first
  // (CheckpointError naming the tensor, listing missing and unexpected names), so a failed load
  // leaves the model unchanged.
  void load_state_dict(const std::vector<layers::NamedTensor>& tensors);

  const UserCnnConfig& config() const { return config_; }
  Device device() const { return device_; }
  std::int64_t min_len() const { return min_len_; }  // K_max

 private:
  UserCnnConfig config_;
  Device device_;
  layers::TextCnnBlock convs_;
  layers::Linear head_;
  std::int64_t min_len_;
};

}  // namespace loom::models
