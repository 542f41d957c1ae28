// models/meta_mlp.h: the account-metadata models' shared tower (MetaTower) and meta-mlp, the
// metadata-only baseline the hybrid must beat (issue 14).
//
//   meta [B, F] raw F32 --standardize: (meta - meta_scaler.mean) * (1 / meta_scaler.std)-->
//        --meta.0 Linear(F, meta_hidden)--> ReLU   = features [B, meta_hidden]
//        --Dropout (training)--> head Linear(meta_hidden, K) = logits [B, K]
//
// State dict (PyTorch's names; tests/peers/torch_models.py TorchMetaMlp loads it with strict=True):
//   meta.0.weight [meta_hidden, F], meta.0.bias [meta_hidden]   (an nn.Sequential's first Linear)
//   head.weight [K, meta_hidden], head.bias [K]
//   meta_scaler.mean [F], meta_scaler.std [F]   buffers: in state_dict(), not in named_parameters(),
//                                               never trained (init 0 and 1: the identity)
// The scaler holds statistics of the training split (the trainer calls set_meta_scaler), so it
// travels in the weights file and eval / predict standardize exactly as training did. The
// standardization is made of recorded ops (sub, mul by a [F] row of 1/std), so it runs on any
// device and under autocast (sub and mul take the widest input dtype: the raw features stay F32).
//
// --meta-encoding ple (config.meta_encoding, m = config.meta_bins): after the standardization,
// each feature j becomes m values v_jb = clamp((z_j - lo_jb) * inv_width_jb, 0, 1), b = 0..m-1
// (Gorishniy et al. 2022, piecewise-linear encoding). The edges are quantiles 0, 1/m, ..., 1 of the
// standardized training values with equal edges merged (a binary feature has one bin); unused bin
// slots hold lo 0, inv_width 0 and give a constant 0. The first bin is not clamped below and the
// last not above, so values outside the training range extrapolate linearly. meta.0 then reads
// F*m inputs (slot j*m + b). Extra buffers meta_encoding.lo, meta_encoding.inv_width [F*m] (init 0: all zeros
// until set_meta_encoding; the trainer fits them from the training split, after the scaler).
//
// Tokens and lengths are ignored (they may be undefined). config.vocab_size is recorded but unused:
// the trainer still builds a vocabulary (the data pipeline is shared), nothing is made from it.
#pragma once

#include <cstdint>
#include <vector>

#include "layers/linear.h"
#include "models/classifier.h"

namespace loom::models {

// The metadata branch both hybrid and meta-mlp own: the scaler buffers and meta.0 + ReLU. Its
// dropout belongs to the caller (meta-mlp: the head's; hybrid: before the concatenation).
class MetaTower {
 public:
  // meta.0 is drawn from `seed` (Torch or Keras init as config.init, like every dense layer).
  MetaTower(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);

  // meta [B, F] (any float dtype, any device) -> ReLU(meta.0(standardized)) [B, meta_hidden] in
  // the model's dtype on its device. `who` names the model in shape errors.
  Tensor forward(const Tensor& meta, const char* who) const;
  // (meta - mean) * (1 / std): [B, F] on the model's device, in its dtype.
  Tensor standardize(const Tensor& meta, const char* who) const;

  std::vector<layers::NamedTensor> named_parameters() const;  // meta.0.weight, meta.0.bias
  // meta_scaler.mean, meta_scaler.std (+ meta_encoding.lo, meta_encoding.inv_width with ple)
  std::vector<layers::NamedTensor> named_buffers() const;
  // F values each; std must be > 0 and finite (a constant feature gets std 1 from its fitter).
  void set_scaler(const std::vector<float>& mean, const std::vector<float>& std);

  // ple only: F*m values each (lo finite, inv_width finite and >= 0; a slot with inv_width 0 is
  // unused and must come after the feature's used slots).
  void set_encoding(const std::vector<float>& lo, const std::vector<float>& inv_width);
  // What meta.0 reads: ple: the encoded features [B, F*m]; standardize: standardize(meta).
  Tensor encode(const Tensor& meta, const char* who) const;

  std::int64_t num_features() const { return features_; }
  bool ple() const { return bins_ > 0; }

 private:
  std::int64_t features_;
  std::int64_t bins_;  // m with ple, 0 without
  Device device_;
  DType dtype_;
  layers::Linear linear_;  // meta.0
  Tensor mean_, std_;      // [F] buffers, shared with named_buffers() so loading fills them
  Tensor lo_, inv_width_;  // ple: [F*m] buffers (feature-major: slot j*m + b)

  Tensor checked_input(const Tensor& meta, const char* who) const;  // [B, F] on the device, in dtype
};

// The PLE bins of F features from the raw training rows (each F values) and the scaler's mean and
// std: edges are the quantiles k/m (k = 0..m; the nearest order statistic, so a feature with two
// values gets the edges {min, max}) of z = (x - mean) * (1/std), equal edges merged. Returns lo and
// inv_width [F*m] for set_meta_encoding. A constant feature gets no bin (all slots unused).
struct PleBins {
  std::vector<float> lo, inv_width;
};
PleBins fit_ple_bins(const std::vector<std::vector<float>>& rows, const std::vector<float>& mean,
                     const std::vector<float>& std, std::int64_t bins);

class MetaMlpClassifier final : public Classifier {
 public:
  MetaMlpClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);

  Tensor forward(const ModelInputs& in, layers::Phase phase, Generator& gen) const override;
  Tensor features(const ModelInputs& in, layers::Phase phase, Generator& gen) const override;

  std::vector<layers::NamedTensor> named_parameters() const override;
  std::vector<layers::NamedTensor> named_buffers() const override { return tower_.named_buffers(); }

  bool uses_meta() const override { return true; }
  void set_meta_scaler(const std::vector<float>& mean, const std::vector<float>& std) override {
    tower_.set_scaler(mean, std);
  }
  void set_meta_encoding(const std::vector<float>& lo, const std::vector<float>& inv_width) {
    tower_.set_encoding(lo, inv_width);
  }

 private:
  MetaTower tower_;
  layers::Linear head_;
};

// Seeds of the metadata models' own layers (sub_seed indices): far from the text models' 0..3, so
// a hybrid's encoder draws exactly the weights of the text model of the same seed.
inline constexpr std::uint64_t kMetaSeedIndex = 10, kFuseSeedIndex = 11, kMetaHeadSeedIndex = 12;

// A dense layer of a metadata model: Torch or Keras init as config.init, in `dtype`.
layers::LinearConfig dense_config(const ModelConfig& config, std::int64_t in, std::int64_t out, DType dtype);

}  // namespace loom::models
