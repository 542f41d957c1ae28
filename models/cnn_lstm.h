// models/cnn_lstm.h: convolution and pooling first, then an LSTM over the shorter sequence.
//
//   tokens [T, B] -> Embedding [T', B, E] -> Conv1d(E -> F, K, valid) [T' - K + 1, B, F] -> ReLU
//                 -> MaxPool1d(2, stride 2) [(T' - K - 1) / 2 + 1, B, F]
//                 -> LSTM (L layers, lengths) -> h_n of the last layer [B, H]
//                 -> Dropout -> Linear [B, K_out]
//
// One convolution, of width widths[0] (the default config's 3; its other widths are not used),
// with F = filters. Lengths follow the rows through every stage: conv output lengths
// len_b - K + 1, pooled lengths (len_c - 2) / 2 + 1 (a window reaching past the row is dropped,
// as kernels/pool/pool.h defines), and the LSTM stops at each row's pooled length, so its h_n is
// the last valid state. Short inputs: a row is seen as padded with <pad> up to K + 1 tokens
// (T' = max(T, K + 1)), the least that leaves two conv outputs and so one pooling window.
// Pooling halves the steps the recurrence walks: why this model is cheaper than lstm.
// State dict: embedding.weight, conv.weight [F, E, K], conv.bias [F], lstm.* (input F),
// head.weight [K_out, H], head.bias.
#pragma once

#include "layers/conv1d.h"
#include "layers/lstm.h"
#include "models/text_classifier.h"

namespace loom::models {

class CnnLstmClassifier final : public TextClassifier {
 public:
  CnnLstmClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);
  Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const override;

 protected:
  std::vector<layers::NamedTensor> body_parameters() const override;

 private:
  layers::Conv1d conv_;
  layers::Lstm lstm_;
  static constexpr std::int64_t kPool = 2;
};

}  // namespace loom::models
