// models/knn.h: cosine k-nearest neighbours, the user-level "knn" bot model (issue 14).
//
//   fit(vectors [N, D], labels 0/1)   every training vector is L2-normalized and kept
//   score(queries [M, D]) -> [M]      the share of label-1 vectors among each query's k most
//                                     similar training vectors (cosine similarity)
//
// Definitions (each one a choice, tested against a brute-force reference in tests/models/
// test_user_models.cc):
//   - Normalization: v / ||v||_2 in double precision. A zero vector stays zero, so its similarity
//     to everything is 0 (it is neither near nor far).
//   - Similarity: the dot product of the normalized vectors, computed in F64 by a GEMM
//     (ops::linear, queries in blocks so the [block, N] similarity matrix stays small). Identical
//     (or positively scaled) training vectors therefore get exactly the same similarity.
//   - Ties: among equal similarities the LOWER training index ranks first. Ranking is by the pair
//     (similarity descending, index ascending), a strict total order, so the k chosen are unique.
//   - k larger than the training set: all N vectors are the neighbours (score = the share of
//     positives overall).
// Parameters in double precision: the neighbours' vectors are what a saved model holds
// (user_model.safetensors), and F64 keeps a reloaded model's similarities bit-identical.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/tensor.h"

namespace loom::models {

class CosineKnn {
 public:
  // block_entries: similarities held at once (queries per GEMM block = block_entries / N, at least
  // one); the default is 4M doubles (32 MiB). Tests make it small to cross block boundaries.
  explicit CosineKnn(int k = 1, std::int64_t block_entries = kDefaultBlockEntries);
  static constexpr std::int64_t kDefaultBlockEntries = std::int64_t{1} << 22;

  // vectors [N, D] (any float dtype, any device; N >= 1, D >= 1), labels: N values in {0, 1}.
  void fit(const Tensor& vectors, const std::vector<int>& labels);
  // queries [M, D] with the fitted D -> M scores in [0, 1].
  std::vector<double> score(const Tensor& queries) const;
  // The indices (into the training set) of each query's k nearest, nearest first: [M][min(k, N)].
  std::vector<std::vector<std::int64_t>> neighbours(const Tensor& queries) const;

  // A fitted model from stored parts: normalized vectors [N, D] F64 (as normalized() returns) and
  // their labels. Error when the sizes disagree or a label is not 0/1.
  void restore(const Tensor& normalized, const std::vector<int>& labels);

  int k() const { return k_; }
  bool fitted() const { return normalized_.defined(); }
  const Tensor& normalized() const { return normalized_; }  // [N, D] F64 on the CPU
  const std::vector<int>& labels() const { return labels_; }

  // Rows of queries per GEMM block: max(1, block_entries / n_train).
  std::int64_t block_rows(std::int64_t n_train) const;

 private:
  int k_;
  std::int64_t block_entries_;
  Tensor normalized_;  // [N, D] F64 CPU, unit rows (or zero rows)
  std::vector<int> labels_;
};

// Rows of `x` ([N, D], any float dtype and device) divided by their L2 norm in F64 on the CPU;
// zero rows stay zero.
Tensor l2_normalize_rows(const Tensor& x);

}  // namespace loom::models
