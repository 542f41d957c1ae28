// ops/reduce.cc: sum and mean over the first or last dimension, with autograd.
// The tensor is viewed as a [rows, cols] matrix: Last reduces each row, First each column.
// Backward broadcasts dy back: dx[r, c] (+)= scale * dy[c or r].
#include "ops/reduce.h"

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/reduce/reduce.h"

namespace loom::ops {
namespace {

Tensor reduce(const char* op, const Tensor& x_in, ReduceDim dim, bool mean) {
  const Tensor x = autocast_input(op, x_in);  // F32 in a region: one rounding of a long sum would cost 2^-9
  detail::check_defined(op, x, "x");
  detail::check_float(op, x);
  LOOM_CHECK_SHAPE(x.ndim() >= 1, op, ": needs at least one dimension, got ", x.str());
  std::int64_t rows, cols;
  Shape out_shape;
  if (dim == ReduceDim::Last) {
    cols = x.dim(-1);
    rows = cols == 0 ? 0 : x.numel() / cols;
    out_shape.assign(x.shape().begin(), x.shape().end() - 1);
  } else {
    rows = x.dim(0);
    cols = rows == 0 ? 0 : x.numel() / rows;
    out_shape.assign(x.shape().begin() + 1, x.shape().end());
  }
  const std::int64_t count = dim == ReduceDim::Last ? cols : rows;
  LOOM_CHECK_SHAPE(!mean || count > 0, op, ": mean over an empty dimension of ", x.str());
  const double scale = mean ? 1.0 / static_cast<double>(count) : 1.0;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  kernels::ReduceArgs a;
  a.rows = rows;
  a.cols = cols;
  a.dtype = x.dtype();
  a.dim = dim == ReduceDim::Last ? kernels::ReduceDim::Last : kernels::ReduceDim::First;
  a.scale = scale;
  a.x = x.data_ptr();
  a.y = y.data_ptr();
  run_kernel(op, x, a, kernels::reduce_sum_cpu, LOOM_CUDA_FN(kernels::reduce_sum_cuda));

  record_op(op, {&x}, {&y}, [op, kdim = a.dim, scale, rows, cols](Node& node) {
    const Tensor dy = node.grad_output(0);
    const GradTarget dx = node.grad_input(0);
    kernels::BroadcastArgs b;
    b.rows = rows;
    b.cols = cols;
    b.dtype = dy.dtype();
    b.dim = kdim;
    b.scale = scale;
    b.y = dy.data_ptr();
    b.x = dx.buffer.data_ptr();
    b.mode = dx.mode;
    run_kernel(op, dy, b, kernels::broadcast_cpu, LOOM_CUDA_FN(kernels::broadcast_cuda));
  });
  return y;
}

}  // namespace

Tensor sum(const Tensor& x, ReduceDim dim) { return reduce("sum", x, dim, false); }
Tensor mean(const Tensor& x, ReduceDim dim) { return reduce("mean", x, dim, true); }

}  // namespace loom::ops
