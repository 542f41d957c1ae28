// models/classifier.h: what the trainer, `loom eval` and `loom predict` drive: any model that maps
// a batch of examples to logits [B, K].
//
//   ModelInputs {tokens [T, B] I32, lengths [B] I32, meta [B, F] F32} --forward--> logits [B, K]
//
// Three families derive from it:
//   TextClassifier (text_classifier.h): the six tweet architectures; they read tokens and lengths.
//   HybridClassifier (hybrid.h): a text encoder plus a metadata tower; reads all three.
//   MetaMlpClassifier (meta_mlp.h): the metadata tower alone; reads meta (tokens are ignored).
// `meta` holds the raw (unstandardized) account features of data/metadata.h; a model that reads it
// standardizes them itself with its meta_scaler buffers (fitted on the training split by the
// trainer through set_meta_scaler), so the scaler travels in the weights file and predict-time
// features are scaled exactly as in training.
//
// state_dict() = named_parameters() + named_buffers(), in PyTorch's names and layouts (conv weights
// [F, C, K]); load_state_dict() takes that set back, checking every name and shape first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "layers/module.h"
#include "models/model_config.h"

namespace loom::models {

// Copies `tensors` (PyTorch's names and layouts: 3-d tensors are conv weights [F, C, K]) into
// `targets` (loom's layouts, sharing the modules' storage) after checking every name (missing,
// unexpected, duplicate), shape and dtype: a failed load changes nothing. CheckpointError messages
// start with `who`. Shared by Classifier::load_state_dict and the user-level CNN.
void load_checked(const std::string& who, const std::vector<layers::NamedTensor>& targets,
                  const std::vector<layers::NamedTensor>& tensors);

struct ModelInputs {
  Tensor tokens;   // [T, B] I32, right-padded (any device)
  Tensor lengths;  // [B] I32, 1 <= len_b <= T
  Tensor meta;     // [B, F] F32 raw metadata features; undefined for models that do not read them
};

class Classifier : public layers::Module {
 public:
  Classifier(const ModelConfig& config, Device device, DType dtype)
      : config_(config), device_(device), dtype_(dtype) {}

  // Logits [B, num_outputs] on the model's device. Phase::Train enables dropout (masks from gen).
  virtual Tensor forward(const ModelInputs& in, layers::Phase phase, Generator& gen) const = 0;
  // What the head reads, before the head's dropout: [B, feature_size()]. The pooled tweet vector
  // the user-level models build on (train/user_level.h).
  virtual Tensor features(const ModelInputs& in, layers::Phase phase, Generator& gen) const = 0;

  // Non-trainable tensors saved with the weights (the metadata scaler). None by default.
  virtual std::vector<layers::NamedTensor> named_buffers() const { return {}; }
  // PyTorch's names and layouts: parameters (conv weights exported as [F, C, K]) then buffers.
  std::vector<layers::NamedTensor> state_dict() const override;
  // Takes state_dict()'s names and layouts; any float dtype, any device. Every name and shape is
  // checked before anything is copied (CheckpointError naming the tensor, expected versus found,
  // listing missing and unexpected names), so a failed load leaves the model unchanged.
  void load_state_dict(const std::vector<layers::NamedTensor>& tensors);

  // What the optimizer should update: parameters() that require a gradient.
  std::vector<Tensor> trainable_parameters() const;
  std::int64_t num_parameters() const;

  // ---- the text side (TextClassifier, HybridClassifier); meta-mlp has none ----
  virtual bool has_embedding() const { return false; }
  virtual Tensor embedding_weight() const;         // [V, E], shares the parameter; Error without one
  virtual void set_freeze_embeddings(bool frozen); // Error when frozen is asked of a model without one
  virtual bool embeddings_frozen() const { return false; }

  // ---- the metadata side (HybridClassifier, MetaMlpClassifier) ----
  virtual bool uses_meta() const { return false; }
  // Standardization statistics of the F raw features (std > 0; a constant feature gets std 1),
  // copied into the meta_scaler buffers. Error for a model that does not read metadata.
  virtual void set_meta_scaler(const std::vector<float>& mean, const std::vector<float>& std);

  const ModelConfig& config() const { return config_; }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

  // Seeds for the sub-modules: independent Philox streams derived from the model's seed.
  static std::uint64_t sub_seed(std::uint64_t seed, std::uint64_t index);

 protected:
  ModelConfig config_;
  Device device_;
  DType dtype_;
};

}  // namespace loom::models
