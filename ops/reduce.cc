// ops/reduce.cc: sum and mean over the first or last dimension, with autograd.
// The tensor is viewed as a [rows, cols] matrix: Last reduces each row, First each column.
// Backward broadcasts dy back: dx[r, c] (+)= scale * dy[c or r].
#include "ops/reduce.h"

#include "ops/autograd.h"
#include "ops/op_util.h"

namespace loom::ops {
namespace {

struct ReduceNode final : Node {
  ReduceDim dim = ReduceDim::Last;
  double scale = 1.0;
  std::int64_t rows = 0, cols = 0;
  const char* op_name = "sum";
  const char* name() const override { return op_name; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const GradTarget dx = grad_input(0);
    kernels::BroadcastArgs a;
    a.rows = rows;
    a.cols = cols;
    a.dtype = dy.dtype();
    a.dim = dim;
    a.scale = scale;
    a.y = dy.data_ptr();
    a.x = dx.buffer.data_ptr();
    a.mode = dx.mode;
    if (dy.device().is_cpu()) kernels::broadcast_cpu(a);
    else LOOM_IF_CUDA(kernels::broadcast_cuda(a, detail::ctx(dy)));
  }
};

Tensor reduce(const char* op, const Tensor& x, ReduceDim dim, bool mean) {
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
  a.dim = dim;
  a.scale = scale;
  a.x = x.data_ptr();
  a.y = y.data_ptr();
  detail::trace(op, x);
  if (x.device().is_cpu()) kernels::reduce_sum_cpu(a);
  else LOOM_IF_CUDA(kernels::reduce_sum_cuda(a, detail::ctx(x)));
  if (should_record({&x})) {
    auto node = std::make_unique<ReduceNode>();
    node->dim = dim;
    node->scale = scale;
    node->rows = rows;
    node->cols = cols;
    node->op_name = op;
    record_node(std::move(node), {&x}, {&y});
  }
  return y;
}

}  // namespace

Tensor sum(const Tensor& x, ReduceDim dim) { return reduce("sum", x, dim, false); }
Tensor mean(const Tensor& x, ReduceDim dim) { return reduce("mean", x, dim, true); }

}  // namespace loom::ops
