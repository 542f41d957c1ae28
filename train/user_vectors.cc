// train/user_vectors.cc: tweet vectors, their per-user means and stacks, and mean-prob (see
// train/user_vectors.h).
#include "train/user_vectors.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "ops/autograd.h"
#include "ops/embedding.h"
#include "ops/shape_ops.h"
#include "train/evaluate.h"

namespace loom::train::detail {
namespace {

// The distinct rows the sets use, ascending; Error naming the set for a row outside [0, n).
std::vector<std::int64_t> used_rows(const std::vector<data::UserSet>& sets, std::int64_t n) {
  std::vector<char> used(static_cast<std::size_t>(n), 0);
  for (std::size_t s = 0; s < sets.size(); ++s) {
    LOOM_CHECK(!sets[s].rows.empty(), "user set ", s, " (group ", sets[s].group, ") has no tweet");
    for (std::int64_t r : sets[s].rows) {
      LOOM_CHECK(r >= 0 && r < n, "user set ", s, " (group ", sets[s].group, ") names row ", r, " of ", n);
      used[static_cast<std::size_t>(r)] = 1;
    }
  }
  std::vector<std::int64_t> out;
  for (std::int64_t r = 0; r < n; ++r)
    if (used[static_cast<std::size_t>(r)]) out.push_back(r);
  return out;
}

std::int64_t largest_set(const std::vector<data::UserSet>& sets) {
  std::size_t n = 0;
  for (const auto& s : sets) n = std::max(n, s.rows.size());
  return static_cast<std::int64_t>(n);
}

}  // namespace

TweetVectors tweet_vectors(const models::Classifier& encoder, const std::vector<data::EncodedExample>& rows,
                           const std::vector<data::UserSet>& sets, std::int64_t max_len, ops::Precision precision,
                           std::int64_t batch_size) {
  TweetVectors v;
  const auto n = static_cast<std::int64_t>(rows.size());
  v.rows = used_rows(sets, n);
  v.slot.assign(static_cast<std::size_t>(n), -1);
  for (std::size_t i = 0; i < v.rows.size(); ++i) v.slot[static_cast<std::size_t>(v.rows[i])] = static_cast<std::int64_t>(i);
  if (v.rows.empty()) return v;
  // Longest first, as predict_scores does: a row's features do not depend on its batch, so this
  // only saves padding work.
  auto len = [&](std::int64_t r) {
    const auto l = static_cast<std::int64_t>(rows[static_cast<std::size_t>(r)].ids.size());
    return max_len > 0 ? std::min(l, max_len) : l;
  };
  std::vector<std::int64_t> order = v.rows;
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return len(a) > len(b); });
  NoGradGuard no_grad;
  const ops::AutocastScope amp(precision);
  Generator unused;  // Phase::Eval draws no dropout mask
  for (std::size_t start = 0; start < order.size(); start += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(order.size(), start + static_cast<std::size_t>(batch_size));
    const std::vector<std::int64_t> idx(order.begin() + static_cast<std::ptrdiff_t>(start),
                                        order.begin() + static_cast<std::ptrdiff_t>(end));
    const data::Batch b = data::collate(rows, idx, max_len, data::TaskKind::Binary, 2);
    const Tensor f = encoder.features({b.tokens, b.lengths, b.meta}, layers::Phase::Eval, unused);
    if (v.dim == 0) {
      v.dim = f.dim(1);
      v.values.assign(v.rows.size() * static_cast<std::size_t>(v.dim), 0.0f);
    }
    const std::vector<float> h = f.to_vector();
    for (std::size_t i = 0; i < idx.size(); ++i)
      std::copy(h.begin() + static_cast<std::ptrdiff_t>(i * v.dim), h.begin() + static_cast<std::ptrdiff_t>((i + 1) * v.dim),
                v.values.begin() + v.slot[static_cast<std::size_t>(idx[i])] * v.dim);
  }
  return v;
}

Tensor mean_vectors(const TweetVectors& v, const std::vector<data::UserSet>& sets) {
  const auto S = static_cast<std::int64_t>(sets.size());
  std::vector<double> out(static_cast<std::size_t>(S * v.dim), 0.0);
  for (std::int64_t s = 0; s < S; ++s) {
    double* o = out.data() + s * v.dim;
    for (std::int64_t r : sets[static_cast<std::size_t>(s)].rows) {
      const float* x = v.of(r);
      for (std::int64_t j = 0; j < v.dim; ++j) o[j] += x[j];
    }
    const double inv = 1.0 / static_cast<double>(sets[static_cast<std::size_t>(s)].rows.size());
    for (std::int64_t j = 0; j < v.dim; ++j) o[j] *= inv;
  }
  return Tensor::from_vector(out, {S, v.dim}, DType::F64);
}

CnnInput stack_vectors(const TweetVectors& v, const std::vector<data::UserSet>& sets, Device device) {
  const auto B = static_cast<std::int64_t>(sets.size());
  const std::int64_t n = largest_set(sets), D = v.dim;
  std::vector<float> x(static_cast<std::size_t>(n * B * D), 0.0f);
  std::vector<std::int32_t> counts(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) {
    const auto& rows = sets[static_cast<std::size_t>(b)].rows;
    counts[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(rows.size());
    for (std::size_t t = 0; t < rows.size(); ++t) {
      const float* src = v.of(rows[t]);
      std::copy(src, src + D, x.begin() + (static_cast<std::int64_t>(t) * B + b) * D);
    }
  }
  return {Tensor::from_vector(x, {n, B, D}).to(device), Tensor::from_vector(counts, {B})};
}

CnnInput encode_batch(const models::Classifier& encoder, const std::vector<data::EncodedExample>& rows,
                      const std::vector<data::UserSet>& sets, std::int64_t max_len, Generator& gen) {
  const auto B = static_cast<std::int64_t>(sets.size());
  const std::int64_t n = largest_set(sets);
  const auto nrows = static_cast<std::int64_t>(rows.size());
  // The batch's tweets in time-major order (tweet t of every user, then t + 1), and where each
  // (t, b) slot finds its vector: position in that list, or the zero row appended after it.
  std::vector<std::int64_t> list;
  std::vector<std::int32_t> counts(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) counts[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(sets[b].rows.size());
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n * B), 0);
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t b = 0; b < B; ++b) {
      const auto& r = sets[static_cast<std::size_t>(b)].rows;
      if (t < static_cast<std::int64_t>(r.size())) {
        LOOM_CHECK(r[t] >= 0 && r[t] < nrows, "user set (group ", sets[b].group, ") names row ", r[t], " of ", nrows);
        ids[t * B + b] = static_cast<std::int32_t>(list.size());
        list.push_back(r[t]);
      } else {
        ids[t * B + b] = -1;  // filled below, once the list's size is known
      }
    }
  for (auto& id : ids)
    if (id < 0) id = static_cast<std::int32_t>(list.size());
  const data::Batch batch = data::collate(rows, list, max_len, data::TaskKind::Binary, 2);
  const Tensor f = encoder.features({batch.tokens, batch.lengths, batch.meta}, layers::Phase::Train, gen);  // [R, D]
  const Tensor table = ops::concat0({f, Tensor::zeros({1, f.dim(1)}, f.dtype(), f.device())});
  const Tensor x = ops::embedding(table, Tensor::from_vector(ids, {n, B}, f.device()));  // [n, B, D]
  return {x, Tensor::from_vector(counts, {B})};
}

std::vector<double> cnn_logits(const models::UserCnn& cnn, const TweetVectors& v,
                               const std::vector<data::UserSet>& sets, ops::Precision precision,
                               std::int64_t batch_users) {
  NoGradGuard no_grad;
  const ops::AutocastScope amp(precision);
  Generator unused;  // Phase::Eval draws no dropout mask
  std::vector<double> out;
  out.reserve(sets.size());
  for (std::size_t start = 0; start < sets.size(); start += static_cast<std::size_t>(batch_users)) {
    const std::size_t end = std::min(sets.size(), start + static_cast<std::size_t>(batch_users));
    const std::vector<data::UserSet> part(sets.begin() + static_cast<std::ptrdiff_t>(start),
                                          sets.begin() + static_cast<std::ptrdiff_t>(end));
    const CnnInput in = stack_vectors(v, part, cnn.device());
    const std::vector<float> z = cnn.forward(in.x, in.counts, layers::Phase::Eval, unused).to_vector();
    for (std::size_t i = 0; i < part.size(); ++i) out.push_back(z[i * static_cast<std::size_t>(cnn.config().num_outputs)]);
  }
  return out;
}

std::vector<double> mean_probabilities(const models::Classifier& tweet_model,
                                       const std::vector<data::EncodedExample>& rows,
                                       const std::vector<data::UserSet>& sets, std::int64_t max_len,
                                       ops::Precision precision) {
  const std::vector<std::int64_t> used = used_rows(sets, static_cast<std::int64_t>(rows.size()));
  std::vector<data::EncodedExample> subset;
  subset.reserve(used.size());
  std::vector<std::int64_t> slot(rows.size(), -1);
  for (std::int64_t r : used) {
    slot[static_cast<std::size_t>(r)] = static_cast<std::int64_t>(subset.size());
    subset.push_back(rows[static_cast<std::size_t>(r)]);
  }
  const Scores s =
      predict_scores(tweet_model, subset, data::TaskKind::Binary, 2, max_len, nullptr, 256, precision);
  std::vector<double> out;
  out.reserve(sets.size());
  for (const auto& set : sets) {
    double sum = 0.0;
    for (std::int64_t r : set.rows) sum += s.probs[static_cast<std::size_t>(slot[static_cast<std::size_t>(r)])];
    out.push_back(sum / static_cast<double>(set.rows.size()));
  }
  return out;
}

}  // namespace loom::train::detail
