// train/user_vectors.h: from a user's tweets to what the user models read (train/user_level.h):
// the tweet encoder's vectors of the rows a set of users needs, their per-user means (knn), their
// per-user stacks [n, B, D] (the user CNN), and the mean of the tweet model's probabilities
// (mean-prob). Shared by the user stage's training and by the UserModels eval and predict load.
#pragma once

#include <cstdint>
#include <vector>

#include "core/random.h"
#include "data/batching.h"
#include "data/groups.h"
#include "models/classifier.h"
#include "models/user_cnn.h"
#include "ops/autocast.h"

namespace loom::train::detail {

// The encoder's features (Classifier::features, Phase::Eval) of every distinct row the sets use.
struct TweetVectors {
  std::int64_t dim = 0;
  std::vector<std::int64_t> rows;   // the distinct rows, ascending
  std::vector<std::int64_t> slot;   // slot[row] = its index in `rows`, -1 for rows no set uses
  std::vector<float> values;        // [rows.size(), dim]
  const float* of(std::int64_t row) const { return values.data() + slot[static_cast<std::size_t>(row)] * dim; }
};

// No gradient; batches of `batch_size` rows sorted by length; the forward in an autocast region of
// `precision`. Error when a set names a row outside `rows`.
TweetVectors tweet_vectors(const models::Classifier& encoder, const std::vector<data::EncodedExample>& rows,
                           const std::vector<data::UserSet>& sets, std::int64_t max_len, ops::Precision precision,
                           std::int64_t batch_size = 256);

// Each set's mean vector, [S, D] F64 on the CPU (summed in double).
Tensor mean_vectors(const TweetVectors& v, const std::vector<data::UserSet>& sets);

// The user CNN's input for a batch of sets.
struct CnnInput {
  Tensor x;       // [n, B, D], n = the batch's largest set; zeros past each set's count
  Tensor counts;  // [B] I32
};
// From precomputed vectors (frozen encoder): constants, F32 on `device`.
CnnInput stack_vectors(const TweetVectors& v, const std::vector<data::UserSet>& sets, Device device);
// With the encoder in the graph (fine-tuning): the sets' rows are collated and encoded in
// Phase::Train (dropout from gen) and gathered into [n, B, D], so the loss differentiates the encoder.
CnnInput encode_batch(const models::Classifier& encoder, const std::vector<data::EncodedExample>& rows,
                      const std::vector<data::UserSet>& sets, std::int64_t max_len, Generator& gen);

// The CNN's logit for every set, Phase::Eval, no gradient, in batches of `batch_users`.
std::vector<double> cnn_logits(const models::UserCnn& cnn, const TweetVectors& v,
                               const std::vector<data::UserSet>& sets, ops::Precision precision,
                               std::int64_t batch_users = 256);

// mean-prob: the mean over each set's rows of the tweet model's P(label 1) (train::predict_scores,
// binary, on the distinct rows the sets use).
std::vector<double> mean_probabilities(const models::Classifier& tweet_model,
                                       const std::vector<data::EncodedExample>& rows,
                                       const std::vector<data::UserSet>& sets, std::int64_t max_len,
                                       ops::Precision precision);

}  // namespace loom::train::detail
