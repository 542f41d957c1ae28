// models/text_classifier.h: the base class every tweet classifier shares and the trainer drives.
// Its configuration is models/model_config.h; models/factory.h builds the architecture it names.
//
//   tokens [T, B] I32 + lengths [B] I32 --(one architecture, models/<arch>.h)--> logits [B, K]
//
// It is a models::Classifier (classifier.h) whose inputs are the tokens and lengths only (meta is
// ignored). Each architecture implements encode() (embedding -> body -> features [B, D]); forward()
// adds the head's dropout and the head.
//
// K = num_outputs: 1 logit for a binary task, one per class (multi-class) or per label
// (multi-label); the losses live in the trainer. Every architecture is
//   embedding -> body -> (dropout) -> head,
// and its parameters carry exactly the names and layouts of the equivalent PyTorch module
// (tests/peers/torch_models.py builds it), so a loom state_dict loads with load_state_dict there:
//   embedding.weight [V, E]
//   lstm.weight_ih_l{k}[_reverse] [4H, C_k], lstm.weight_hh_l{k}[_reverse] [4H, H], lstm.bias_*  [4H]
//   convs.{i}.weight [F, C, K_i], convs.{i}.bias [F]   (cnn, lstm-cnn: one conv per width)
//   conv.weight [F, E, K], conv.bias [F]                (cnn-lstm: its single conv)
//   head.weight [K, D], head.bias [K]
// The choices the issue leaves open (padding, short rows, dropout placement, init) are explained
// once in models/README.md and in each architecture's file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "models/classifier.h"
#include "models/model_config.h"

namespace loom::models {

class TextClassifier : public Classifier {
 public:
  TextClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);

  // tokens [T, B] I32, lengths [B] I32 with 1 <= len_b <= T (on any device: the model copies them
  // to its own). Returns logits [B, num_outputs] on the model's device. Ids at t >= len_b are never
  // read (they are replaced by <pad>), so a row's logits do not depend on the padding or on the
  // other rows. Phase::Train enables dropout, whose masks come from `gen`.
  Tensor forward(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const {
    return head(encode(tokens, lengths, phase, gen), phase, gen);
  }
  // The architecture's body: features [B, D] (D = config.feature_size()), before the head's dropout.
  virtual Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const = 0;

  Tensor forward(const ModelInputs& in, layers::Phase phase, Generator& gen) const override {
    return forward(in.tokens, in.lengths, phase, gen);
  }
  Tensor features(const ModelInputs& in, layers::Phase phase, Generator& gen) const override {
    return encode(in.tokens, in.lengths, phase, gen);
  }

  // loom's layouts (conv weights [F, K, C]): what the optimizer updates.
  std::vector<layers::NamedTensor> named_parameters() const override;

  bool has_embedding() const override { return true; }
  Tensor embedding_weight() const override { return embedding_.weight(); }  // [V, E], shares the parameter
  // --freeze-embeddings: the embedding table leaves trainable_parameters() and gets no gradient.
  void set_freeze_embeddings(bool frozen) override { embedding_.set_frozen(frozen); }
  bool embeddings_frozen() const override { return embedding_.frozen(); }

 protected:
  // The body's parameters (between embedding and head), with their full names ("lstm.*", ...).
  virtual std::vector<layers::NamedTensor> body_parameters() const = 0;

  // A batch made ready for the model's device.
  struct Inputs {
    Tensor tokens;          // [T', B] I32, T' = max(T, min_len); <pad> (0) wherever t >= len_b
    Tensor lengths;         // [B] I32, the rows' true lengths
    Tensor padded_lengths;  // [B] I32, max(len_b, min_len): a row shorter than the widest
                            // window is seen by the convolutions as padded with <pad> up to it
  };
  Inputs prepare(const Tensor& tokens, const Tensor& lengths, std::int64_t min_len) const;
  // dropout (training only) -> head: features [B, D] -> logits [B, K].
  Tensor head(const Tensor& features, layers::Phase phase, Generator& gen) const;
  Tensor embed(const Tensor& tokens) const { return embedding_.forward(tokens); }

  layers::Embedding embedding_;
  layers::Linear head_;
};

}  // namespace loom::models
