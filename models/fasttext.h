// models/fasttext.h: fastText's classifier (Joulin et al. 2016, "Bag of Tricks for Efficient Text
// Classification"), bow's big brother.
//
//   tokens [T, B]: each row = its words (ids < V) then its hashed n-grams (ids in [V, V + buckets))
//     -> Embedding [T, B, E] over V + buckets rows -> mean over each row's len_b ids [B, E]
//     -> (dropout, training) -> Linear [B, K]
//
// The n-gram ids are made on the data side from the token strings (data/ngrams.h: word n-grams
// up to config.word_ngrams, character n-grams char_min..char_max with < > marks, FNV-1a into
// config.ngram_buckets rows) and carried in the batch after the words (data::collate), so the
// model itself is a mean of embeddings: words and n-grams count alike, as in fastText's averaged
// input vectors. Without n-grams (word_ngrams 1, no chars) it is bow plus the head's dropout.
// Dropout: config.dropout on the averaged vector (fastText has none: pass --dropout 0 for it).
// State dict: embedding.weight [V + buckets, E], head.weight [K, E], head.bias [K].
#pragma once

#include "models/text_classifier.h"

namespace loom::models {

class FastTextClassifier final : public TextClassifier {
 public:
  FastTextClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);
  Tensor encode(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const override;

 protected:
  std::vector<layers::NamedTensor> body_parameters() const override { return {}; }
};

}  // namespace loom::models
