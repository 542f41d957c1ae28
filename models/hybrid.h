// models/hybrid.h: the hybrid text + account-metadata classifier (--arch hybrid --text-arch A).
//
// The "contextual LSTM" pattern of Kudugunta & Ferrara (2018, "Deep neural networks for bot
// detection"): the account's metadata is an auxiliary input whose dense encoding is concatenated
// with the text encoding before the last dense layers (a Keras-style concatenate of two branches):
//
//   tokens [T, B], lengths [B] --text encoder (architecture A, its encode())--> t [B, D_text]
//                               --text dropout, then Dropout (training)--> t'
//   meta [B, F] --standardize (meta_scaler)--> meta.0 Linear(F, meta_hidden) --> ReLU
//                                                      --Dropout (training)--> m'
//   concat_last([t', m']) [B, D_text + meta_hidden] --fuse Linear(., fuse_hidden)--> ReLU
//                                                   = features [B, fuse_hidden]
//                                                      --Dropout (training)--> head Linear = logits [B, K]
//
// With --text-arch fasttext the token batch carries each tweet's hashed n-gram ids after its words
// (data::collate), and the encoder's embedding has ngram_buckets rows more (ModelConfig::hashes_ngrams).
// The text encoder is make_text_model(config with arch = text_arch), the same weights the text
// model of that seed would draw; its own head is built but never used and is not a parameter of
// the hybrid. Its parameters keep their names, so the state dict reads (tests/peers/
// torch_models.py TorchHybrid loads it with strict=True):
//   embedding.weight, lstm.*, convs.{i}.* / conv.*   the encoder, named as in text_classifier.h
//   meta.0.weight [meta_hidden, F], meta.0.bias       the metadata tower (models/meta_mlp.h)
//   fuse.weight [fuse_hidden, D_text + meta_hidden], fuse.bias
//   head.weight [K, fuse_hidden], head.bias [K]
//   meta_scaler.mean [F], meta_scaler.std [F]         buffers (not trained; in state_dict())
// --text-dropout P (config.text_dropout, modality dropout): in training, before that dropout, an
// example's whole text vector t is zeroed with probability P (kept ones scaled by 1/(1-P), as
// inverted dropout does), so the fused layers must also score from the metadata alone and cannot
// lean on a weak text branch; evaluation always sees the text.
// Every other dropout uses p = config.dropout (also between stacked LSTM layers of the encoder); the
// text dropout applies to every text architecture, bow included (here bow is one branch, not the
// plain linear baseline it is alone). Embedding hooks (--freeze-embeddings, pretrained vectors)
// reach the encoder's table.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "layers/linear.h"
#include "models/classifier.h"
#include "models/meta_mlp.h"
#include "models/text_classifier.h"

namespace loom::models {

class HybridClassifier final : public Classifier {
 public:
  HybridClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);

  Tensor forward(const ModelInputs& in, layers::Phase phase, Generator& gen) const override;
  Tensor features(const ModelInputs& in, layers::Phase phase, Generator& gen) const override;

  // The encoder's parameters (its head left out), then meta.0.*, fuse.*, head.*.
  std::vector<layers::NamedTensor> named_parameters() const override;
  std::vector<layers::NamedTensor> named_buffers() const override { return tower_.named_buffers(); }

  bool has_embedding() const override { return true; }
  Tensor embedding_weight() const override { return encoder_->embedding_weight(); }
  void set_freeze_embeddings(bool frozen) override { encoder_->set_freeze_embeddings(frozen); }
  bool embeddings_frozen() const override { return encoder_->embeddings_frozen(); }

  bool uses_meta() const override { return true; }
  void set_meta_scaler(const std::vector<float>& mean, const std::vector<float>& std) override {
    tower_.set_scaler(mean, std);
  }
  // --meta-encoding ple: the bins (models/meta_mlp.h MetaTower::set_encoding).
  void set_meta_encoding(const std::vector<float>& lo, const std::vector<float>& inv_width) {
    tower_.set_encoding(lo, inv_width);
  }

  // The text branch (a TextClassifier of arch text_arch; only its encode() is used).
  const TextClassifier& encoder() const { return *encoder_; }

 private:
  std::unique_ptr<TextClassifier> encoder_;
  MetaTower tower_;
  layers::Linear fuse_;
  layers::Linear head_;
};

// The encoder's config: `config` with arch = text_arch (the text fields are shared).
ModelConfig text_encoder_config(const ModelConfig& config);

}  // namespace loom::models
