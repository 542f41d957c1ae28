// models/knn.cc: cosine k-nearest neighbours (see models/knn.h).
#include "models/knn.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "ops/autograd.h"
#include "ops/matmul.h"

namespace loom::models {

Tensor l2_normalize_rows(const Tensor& x) {
  LOOM_CHECK_SHAPE(x.defined() && x.ndim() == 2 && x.dim(0) >= 1 && x.dim(1) >= 1,
                   "knn: vectors must be [N, D] with N, D >= 1, got ", x.defined() ? x.str() : "undefined");
  const std::int64_t N = x.dim(0), D = x.dim(1);
  std::vector<double> v = x.to_vector_f64();
  for (std::int64_t i = 0; i < N; ++i) {
    double* row = v.data() + i * D;
    double ss = 0.0;
    for (std::int64_t j = 0; j < D; ++j) ss += row[j] * row[j];
    LOOM_CHECK(std::isfinite(ss), "knn: vector ", i, " has a non-finite value");
    if (ss == 0.0) continue;  // a zero vector stays zero: similarity 0 to everything
    const double inv = 1.0 / std::sqrt(ss);
    for (std::int64_t j = 0; j < D; ++j) row[j] *= inv;
  }
  return Tensor::from_vector(v, {N, D}, DType::F64);
}

CosineKnn::CosineKnn(int k, std::int64_t block_entries) : k_(k), block_entries_(block_entries) {
  LOOM_CHECK(k >= 1, "knn: k must be >= 1, got ", k);
  LOOM_CHECK(block_entries >= 1, "knn: block_entries must be >= 1, got ", block_entries);
}

void CosineKnn::restore(const Tensor& normalized, const std::vector<int>& labels) {
  LOOM_CHECK_SHAPE(normalized.defined() && normalized.ndim() == 2 && normalized.dim(0) >= 1 && normalized.dim(1) >= 1,
                   "knn: training vectors must be [N, D] with N, D >= 1, got ",
                   normalized.defined() ? normalized.str() : "undefined");
  LOOM_CHECK(static_cast<std::int64_t>(labels.size()) == normalized.dim(0), "knn: ", normalized.dim(0),
             " training vectors but ", labels.size(), " labels");
  for (std::size_t i = 0; i < labels.size(); ++i)
    LOOM_CHECK(labels[i] == 0 || labels[i] == 1, "knn: label ", i, " is ", labels[i], ", expected 0 or 1");
  normalized_ = normalized.to(Device::cpu()).to(DType::F64);
  labels_ = labels;
}

void CosineKnn::fit(const Tensor& vectors, const std::vector<int>& labels) {
  restore(l2_normalize_rows(vectors), labels);
}

std::int64_t CosineKnn::block_rows(std::int64_t n_train) const {
  return std::max<std::int64_t>(1, block_entries_ / std::max<std::int64_t>(1, n_train));
}

std::vector<std::vector<std::int64_t>> CosineKnn::neighbours(const Tensor& queries) const {
  LOOM_CHECK(fitted(), "knn: score() before fit()");
  const std::int64_t N = normalized_.dim(0), D = normalized_.dim(1);
  LOOM_CHECK_SHAPE(queries.defined() && queries.ndim() == 2 && queries.dim(1) == D, "knn: queries must be [M, ", D,
                   "], got ", queries.defined() ? queries.str() : "undefined");
  const std::int64_t M = queries.dim(0);
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(M));
  if (M == 0) return out;
  NoGradGuard no_grad;
  const Tensor q = l2_normalize_rows(queries);
  const std::int64_t kk = std::min<std::int64_t>(k_, N);
  const std::int64_t rows = block_rows(N);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(N));
  for (std::int64_t start = 0; start < M; start += rows) {
    const std::int64_t end = std::min(M, start + rows);
    // [rows, D] x [N, D]^T: every similarity of the block's queries in one GEMM.
    const Tensor sims = ops::linear(q.slice(start, end), normalized_);
    const double* s = sims.data<double>();
    for (std::int64_t i = start; i < end; ++i) {
      const double* si = s + (i - start) * N;
      std::iota(idx.begin(), idx.end(), 0);
      // (similarity descending, index ascending): a strict total order, so ties go to the lower
      // index and the selection does not depend on the sort's internals.
      std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(), [si](std::int64_t a, std::int64_t b) {
        return si[a] > si[b] || (si[a] == si[b] && a < b);
      });
      out[static_cast<std::size_t>(i)].assign(idx.begin(), idx.begin() + kk);
    }
  }
  return out;
}

std::vector<double> CosineKnn::score(const Tensor& queries) const {
  const auto nn = neighbours(queries);
  std::vector<double> out;
  out.reserve(nn.size());
  for (const auto& row : nn) {
    std::int64_t pos = 0;
    for (std::int64_t j : row) pos += labels_[static_cast<std::size_t>(j)];
    out.push_back(static_cast<double>(pos) / static_cast<double>(row.size()));
  }
  return out;
}

}  // namespace loom::models
