// models/bilstm.h: the bidirectional LSTM classifier.
//
//   tokens [T, B] -> Embedding [T, B, E] -> BiLSTM (L layers, each [T, B, 2H] into the next,
//                    dropout between layers, lengths)
//                 -> [h_fwd ; h_bwd] of the last layer [B, 2H] -> Dropout -> Linear [B, K]
//
// h_fwd is the forward direction's state after step len_b - 1; h_bwd the reverse direction's
// state after it has read the row from len_b - 1 down to step 0. These are the last layer's two
// h_n rows (h_n[-2], h_n[-1] in PyTorch's indexing, the same as output[len_b - 1, :H] and
// output[0, H:]): the reverse pass starts at each row's own last token, never at the padding.
// State dict: embedding.weight, lstm.{weight,bias}_{ih,hh}_l{k}[_reverse] (input 2H above layer
// 0), head.weight [K, 2H], head.bias.
#pragma once

#include "layers/lstm.h"
#include "models/text_classifier.h"

namespace loom::models {

class BilstmClassifier final : public TextClassifier {
 public:
  BilstmClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);
  Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const override;

 protected:
  std::vector<layers::NamedTensor> body_parameters() const override;

 private:
  layers::Lstm lstm_;
};

}  // namespace loom::models
