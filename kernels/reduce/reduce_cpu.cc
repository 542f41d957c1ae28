// kernels/reduce/reduce_cpu.cc: the CPU reference for sums over one dimension, their adjoint
// broadcast, and the sum of squares behind clip-by-global-norm.
//
// Math, for a row-major x [rows, cols]:
//   First: y[c] = scale * sum_r x[r, c]      (the bias gradient: sum over the batch)
//   Last:  y[r] = scale * sum_c x[r, c]      (a row sum or mean)
// Backward of a reduction is a broadcast and vice versa (each is the other's transpose):
//   First: dx[r, c] = scale * dy[c]          Last: dx[r, c] = scale * dy[r]
// sum_squares: out (+)= sum_i x_i^2, the squared L2 norm that clipping divides by.
//
// Determinism. Float addition is not associative, so a sum is only reproducible if its order
// is. Every output element here is summed by one thread in increasing index order, and threads
// only split the set of outputs, so the bits do not depend on the thread count:
//   First: threads take blocks of (at most kColumnBlock) columns; each walks all rows, adding a
//          row segment into a per-block accumulator array (reads stay unit-stride along the row).
//   Last:  threads take rows; each row is one sequential sum.
//   sum_squares: one scalar, so the split is fixed instead: chunks of kChunk elements, each
//          summed in kLanes interleaved lanes (for vector adds) that are then added in lane order,
//          then the chunk sums added in chunk order. Same bits on 1 or 16 threads.
// Accumulators are F32 for F32/F16/BF16 and F64 for F64 (compute_t<T>).
//
// Memory traffic at storage size s: reduce reads rows cols s and writes (cols | rows) s (+ the
// same again read when accumulating); rows cols adds. broadcast reads (cols | rows) s, writes
// rows cols s (+ reads it when accumulating). sum_squares reads n s and does 2 n flops.
//
// Twin: kernels/reduce/reduce_cuda.cu (a thread, warp or CUB block per row for Last, one thread
// per column for First). Tests: tests/ops/test_ops_reduce.cc.
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/common/cpu_types.h"
#include "kernels/reduce/reduce.h"

namespace loom::kernels {

using cpu::store;
using cpu::with_float_type;

namespace {

constexpr std::int64_t kColumnBlock = 256;  // most columns one thread owns in a First reduction
constexpr std::int64_t kChunk = 4096;       // fixed split of the sum of squares
constexpr int kLanes = 16;                  // running sums per chunk (a 512-bit vector of floats)

template <typename T>
void reduce_first(const ReduceArgs& a) {
  using C = compute_t<T>;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  // Narrow blocks let a few hundred columns still reach every thread; the block width changes
  // who sums a column, never the order it is summed in, so the result stays the same bits.
  const std::int64_t threads = loom::num_threads();
  const std::int64_t width = std::clamp<std::int64_t>((a.cols + threads - 1) / threads, 16, kColumnBlock);
  const std::int64_t blocks = (a.cols + width - 1) / width;
#pragma omp parallel for num_threads(loom::num_threads()) if (a.rows * a.cols > loom::kParallelGrain)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t c0 = b * width, c1 = std::min(a.cols, c0 + width);
    C acc[kColumnBlock] = {};
    for (std::int64_t r = 0; r < a.rows; ++r) {
      const T* row = x + r * a.cols;
      for (std::int64_t c = c0; c < c1; ++c) acc[c - c0] += to_float(row[c]);
    }
    for (std::int64_t c = c0; c < c1; ++c) store(y[c], static_cast<C>(a.scale) * acc[c - c0], a.mode);
  }
}

template <typename T>
void reduce_last(const ReduceArgs& a) {
  using C = compute_t<T>;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.rows * a.cols > loom::kParallelGrain)
  for (std::int64_t r = 0; r < a.rows; ++r) {
    const T* row = x + r * a.cols;
    C acc = 0;
    for (std::int64_t c = 0; c < a.cols; ++c) acc += to_float(row[c]);
    store(y[r], static_cast<C>(a.scale) * acc, a.mode);
  }
}

template <typename T>
void broadcast(const BroadcastArgs& a) {
  using C = compute_t<T>;
  const T* y = static_cast<const T*>(a.y);
  T* x = static_cast<T*>(a.x);
  const C scale = static_cast<C>(a.scale);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.rows * a.cols > loom::kParallelGrain)
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (std::int64_t c = 0; c < a.cols; ++c) {
      const C source = to_float(a.dim == ReduceDim::First ? y[c] : y[r]);
      store(x[r * a.cols + c], scale * source, a.mode);
    }
  }
}

template <typename T>
void sum_squares(const SumSquaresArgs& a) {
  using C = compute_t<T>;
  const T* x = static_cast<const T*>(a.x);
  const std::int64_t chunks = (a.n + kChunk - 1) / kChunk;
  std::vector<C> partial(static_cast<std::size_t>(chunks));
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  for (std::int64_t k = 0; k < chunks; ++k) {
    const std::int64_t i0 = k * kChunk, i1 = std::min(a.n, i0 + kChunk);
    // kLanes independent running sums (lane j takes elements i0 + j, i0 + j + kLanes, ...): one
    // sum would be a chain of dependent adds the compiler may not reorder, while independent lanes
    // become one vector add per kLanes elements. The lanes are then added in lane order, so the
    // bits are still fixed by n alone.
    C lanes[kLanes] = {};
    std::int64_t i = i0;
    for (; i + kLanes <= i1; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        const C v = to_float(x[i + j]);
        lanes[j] += v * v;
      }
    for (int j = 0; i < i1; ++i, ++j) {
      const C v = to_float(x[i]);
      lanes[j] += v * v;
    }
    C acc = 0;
    for (int j = 0; j < kLanes; ++j) acc += lanes[j];
    partial[k] = acc;
  }
  C total = 0;
  for (const C p : partial) total += p;  // chunk order: fixed, whatever the thread count
  if (a.mode == GradMode::Accumulate) total += static_cast<C>(*a.out);
  *a.out = static_cast<float>(total);
}

}  // namespace

Cost reduce_cost(const ReduceArgs& a) {
  const double elems = static_cast<double>(a.rows) * static_cast<double>(a.cols);
  const double outs = static_cast<double>(a.dim == ReduceDim::First ? a.cols : a.rows);
  const double s = static_cast<double>(dtype_size(a.dtype));
  Cost c;
  c.flops = elems;  // one add per input element (the scale is per output: ignored)
  c.bytes = s * (elems + outs * (a.mode == GradMode::Accumulate ? 2.0 : 1.0));
  return c;
}

void reduce_sum_cpu(const ReduceArgs& a) {
  with_float_type(a.dtype, "reduce_sum_cpu", [&](auto tag) {
    using T = decltype(tag);
    if (a.dim == ReduceDim::First) reduce_first<T>(a);
    else reduce_last<T>(a);
  });
}

void broadcast_cpu(const BroadcastArgs& a) {
  with_float_type(a.dtype, "broadcast_cpu", [&](auto tag) { broadcast<decltype(tag)>(a); });
}

void sum_squares_cpu(const SumSquaresArgs& a) {
  with_float_type(a.dtype, "sum_squares_cpu", [&](auto tag) { sum_squares<decltype(tag)>(a); });
}

}  // namespace loom::kernels
