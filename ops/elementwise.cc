// ops/elementwise.cc: add, sub, mul, scale, sigmoid, tanh, relu and dropout: argument checks, the
// kernel call (run_kernel picks the CPU or CUDA function: ops/dispatch.h) and, next to each forward,
// its backward (record_op: ops/autograd.h). Kernels: kernels/elementwise/.
//
// Backward of y = a op b (b possibly one broadcast row):
//   add: da += dy, db += dy (summed over rows when broadcast)
//   sub: da += dy, db -= dy (likewise)
//   mul: da += dy * b, db += dy * a (summed over rows when broadcast)
#include "ops/elementwise.h"

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/reduce/reduce.h"

namespace loom::ops {
namespace {

using kernels::BinaryOp;
using kernels::Broadcast;
using kernels::UnaryOp;

const char* binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
  }
  return "?";
}

const char* unary_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Sigmoid: return "sigmoid";
    case UnaryOp::Tanh: return "tanh";
    case UnaryOp::Relu: return "relu";
  }
  return "?";
}

// dst (+)= alpha * src over the whole tensor.
void scale_into(const Tensor& src, float alpha, const GradTarget& dst) {
  kernels::ScaleArgs a;
  a.n = src.numel();
  a.dtype = src.dtype();
  a.alpha = alpha;
  a.x = src.data_ptr();
  a.y = dst.buffer.data_ptr();
  a.mode = dst.mode;
  run_kernel("scale", src, a, kernels::scale_cpu, LOOM_CUDA_FN(kernels::scale_cuda));
}

// dst[c] (+)= alpha * sum_r src[r, c]: the gradient of a broadcast row.
void sum_rows_into(const Tensor& src, float alpha, const GradTarget& dst) {
  kernels::ReduceArgs a;
  a.rows = detail::rows_of(src);
  a.cols = detail::cols_of(src);
  a.dtype = src.dtype();
  a.dim = kernels::ReduceDim::First;
  a.scale = alpha;
  a.x = src.data_ptr();
  a.y = dst.buffer.data_ptr();
  a.mode = dst.mode;
  run_kernel("sum_rows", src, a, kernels::reduce_sum_cpu, LOOM_CUDA_FN(kernels::reduce_sum_cuda));
}

// y (+)= a op b with b full-shape or one broadcast row.
void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, Broadcast layout, void* y, GradMode mode) {
  kernels::BinaryArgs k;
  k.rows = detail::rows_of(a);
  k.cols = detail::cols_of(a);
  k.dtype = a.dtype();
  k.op = op;
  k.b_layout = layout;
  k.a = a.data_ptr();
  k.b = b.data_ptr();
  k.y = y;
  k.mode = mode;
  run_kernel(binary_name(op), a, k, kernels::binary_cpu, LOOM_CUDA_FN(kernels::binary_cuda));
}

void dropout_into(const Tensor& x, float p, std::uint64_t seed, std::uint64_t offset, void* y, GradMode mode) {
  kernels::DropoutArgs a;
  a.n = x.numel();
  a.dtype = x.dtype();
  a.p = p;
  a.seed = seed;
  a.offset = offset;
  a.x = x.data_ptr();
  a.y = y;
  a.mode = mode;
  run_kernel("dropout", x, a, kernels::dropout_cpu, LOOM_CUDA_FN(kernels::dropout_cuda));
}

Tensor binary(BinaryOp op, const Tensor& a_in, const Tensor& b_in) {
  const char* name = binary_name(op);
  const std::vector<Tensor> ab = autocast_inputs(name, {a_in, b_in});  // Widest in a region
  const Tensor& a = ab[0];
  const Tensor& b = ab[1];
  detail::check_defined(name, a, "a");
  detail::check_defined(name, b, "b");
  detail::check_float(name, a);
  detail::check_same_kind(name, a, b);
  Broadcast layout = Broadcast::None;
  if (a.shape() != b.shape()) {
    LOOM_CHECK_SHAPE(b.ndim() == 1 && a.ndim() >= 1 && b.dim(0) == a.dim(-1), name, ": shapes ", shape_str(a.shape()),
                     " and ", shape_str(b.shape()), " do not match (b must equal a's shape or be one row [",
                     a.ndim() ? a.dim(-1) : 1, "])");
    layout = Broadcast::Row;
  }
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  binary_into(op, a, b, layout, y.data_ptr(), GradMode::Overwrite);

  // mul saves both operands; add and sub save nothing.
  const Tensor saved_a = op == BinaryOp::Mul ? a : Tensor(), saved_b = op == BinaryOp::Mul ? b : Tensor();
  record_op(name, {&a, &b}, {&y}, [op, layout, saved_a, saved_b](Node& node) {
    const Tensor dy = node.grad_output(0);
    if (node.needs_grad(0)) {
      const GradTarget da = node.grad_input(0);
      if (op == BinaryOp::Mul) binary_into(BinaryOp::Mul, dy, saved_b, layout, da.buffer.data_ptr(), da.mode);
      else scale_into(dy, 1.0f, da);
    }
    if (node.needs_grad(1)) {
      const GradTarget db = node.grad_input(1);
      const float sign = op == BinaryOp::Sub ? -1.0f : 1.0f;
      Tensor contribution = dy;
      if (op == BinaryOp::Mul) {
        contribution = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
        binary_into(BinaryOp::Mul, dy, saved_a, Broadcast::None, contribution.data_ptr(), GradMode::Overwrite);
      }
      if (layout == Broadcast::Row) sum_rows_into(contribution, sign, db);
      else scale_into(contribution, sign, db);
    }
  });
  return y;
}

Tensor unary(UnaryOp op, const Tensor& x_in) {
  const char* name = unary_name(op);
  const Tensor x = autocast_input(name, x_in);  // AsIs: checks the op has a row
  detail::check_defined(name, x, "x");
  detail::check_float(name, x);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  kernels::UnaryFwdArgs a;
  a.n = x.numel();
  a.dtype = x.dtype();
  a.op = op;
  a.x = x.data_ptr();
  a.y = y.data_ptr();
  run_kernel(name, x, a, kernels::unary_fwd_cpu, LOOM_CUDA_FN(kernels::unary_fwd_cuda));

  // The derivative of each activation is a function of its output: save y.
  record_op(name, {&x}, {&y}, [op, saved_y = y](Node& node) {
    const Tensor dy = node.grad_output(0);
    const GradTarget dx = node.grad_input(0);
    kernels::UnaryBwdArgs b;
    b.n = dy.numel();
    b.dtype = dy.dtype();
    b.op = op;
    b.y = saved_y.data_ptr();
    b.dy = dy.data_ptr();
    b.dx = dx.buffer.data_ptr();
    b.mode = dx.mode;
    run_kernel(unary_name(op), dy, b, kernels::unary_bwd_cpu, LOOM_CUDA_FN(kernels::unary_bwd_cuda));
  });
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }

Tensor scale(const Tensor& x_in, float alpha) {
  const Tensor x = autocast_input("scale", x_in);
  detail::check_defined("scale", x, "x");
  detail::check_float("scale", x);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  scale_into(x, alpha, {y, GradMode::Overwrite});
  record_op("scale", {&x}, {&y}, [alpha](Node& node) { scale_into(node.grad_output(0), alpha, node.grad_input(0)); });
  return y;
}

Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::Tanh, x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::Relu, x); }

Tensor dropout(const Tensor& x_in, float p, Generator& gen) {
  const Tensor x = autocast_input("dropout", x_in);
  detail::check_defined("dropout", x, "x");
  detail::check_float("dropout", x);
  LOOM_CHECK(p >= 0.0f && p < 1.0f, "dropout: p must be in [0, 1), got ", p);
  if (p == 0.0f) return x;
  const std::uint64_t offset = gen.reserve(static_cast<std::uint64_t>(x.numel()));
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dropout_into(x, p, gen.seed(), offset, y.data_ptr(), GradMode::Overwrite);
  // The mask is recomputed from (seed, offset) in backward: nothing but two integers is saved.
  record_op("dropout", {&x}, {&y}, [p, seed = gen.seed(), offset](Node& node) {
    const GradTarget dx = node.grad_input(0);
    dropout_into(node.grad_output(0), p, seed, offset, dx.buffer.data_ptr(), dx.mode);
  });
  return y;
}

}  // namespace loom::ops
