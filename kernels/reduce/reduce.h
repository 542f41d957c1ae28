// kernels/reduce/reduce.h: sums over one dimension of a row-major [rows, cols] matrix, the
// broadcast that is their backward, and the sum of squares behind clip-by-global-norm.
//
// All sums accumulate in F32 (F64 for F64) in a fixed order: the result is the same bits run to
// run (no float atomics). GPU (kernels/reduce/reduce_cuda.cu): a row (ReduceDim::Last) goes to one
// thread, one warp or one block (CUB BlockReduce) by its width; columns (ReduceDim::First) to one
// thread per column walking the rows in order, so neighbouring threads read neighbouring addresses,
// in two fixed passes over 128-row chunks when there are many rows.
#pragma once

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

// First: y[c] = scale * sum_r x[r, c] (the bias gradient). Last: y[r] = scale * sum_c x[r, c].
enum class ReduceDim { First, Last };

struct ReduceArgs {
  std::int64_t rows = 0, cols = 0;
  DType dtype = DType::F32;  // of x and y
  ReduceDim dim = ReduceDim::Last;
  double scale = 1.0;        // 1 for sum, 1/count for mean (double: exact enough for the F64 path)
  const void* x = nullptr;   // [rows, cols]
  void* y = nullptr;         // [cols] (First) or [rows] (Last)
  GradMode mode = GradMode::Overwrite;
};

// The adjoint: x[r, c] (+)= scale * y[c] (First) or scale * y[r] (Last).
struct BroadcastArgs {
  std::int64_t rows = 0, cols = 0;
  DType dtype = DType::F32;
  ReduceDim dim = ReduceDim::Last;
  double scale = 1.0;
  const void* y = nullptr;  // [cols] (First) or [rows] (Last)
  void* x = nullptr;        // [rows, cols]
  GradMode mode = GradMode::Overwrite;
};

// out[0] (+)= sum_i x[i]^2, in F32, into a single F32 on x's device.
struct SumSquaresArgs {
  std::int64_t n = 0;
  DType dtype = DType::F32;
  const void* x = nullptr;  // [n]
  float* out = nullptr;     // [1]
  GradMode mode = GradMode::Overwrite;
};

Cost reduce_cost(const ReduceArgs&);

void reduce_sum_cpu(const ReduceArgs&);
void broadcast_cpu(const BroadcastArgs&);
void sum_squares_cpu(const SumSquaresArgs&);

void reduce_sum_cuda(const ReduceArgs&, const CudaContext&);
void broadcast_cuda(const BroadcastArgs&, const CudaContext&);
void sum_squares_cuda(const SumSquaresArgs&, const CudaContext&);

}  // namespace loom::kernels
