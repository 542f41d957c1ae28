// core/ops/elementwise.cc: add, sub, mul, scale, sigmoid, tanh, relu and dropout: argument
// checks, the CPU/CUDA switch, and the autograd nodes (kernels: kernels/elementwise/).
//
// Backward of y = a op b (b possibly one broadcast row):
//   add: da += dy, db += dy (summed over rows when broadcast)
//   sub: da += dy, db -= dy (likewise)
//   mul: da += dy * b, db += dy * a (summed over rows when broadcast)
#include "core/ops/elementwise.h"

#include "core/autograd.h"
#include "core/ops/op_util.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/reduce/reduce.h"

namespace loom::ops {
namespace {

using kernels::BinaryOp;
using kernels::Broadcast;

const char* binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
  }
  return "?";
}

void run_binary(const kernels::BinaryArgs& a, const Tensor& on) {
  if (on.device().is_cpu()) kernels::binary_cpu(a);
  else LOOM_IF_CUDA(kernels::binary_cuda(a, detail::ctx(on)));
}

void run_scale(const kernels::ScaleArgs& a, const Tensor& on) {
  if (on.device().is_cpu()) kernels::scale_cpu(a);
  else LOOM_IF_CUDA(kernels::scale_cuda(a, detail::ctx(on)));
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
  run_scale(a, src);
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
  if (src.device().is_cpu()) kernels::reduce_sum_cpu(a);
  else LOOM_IF_CUDA(kernels::reduce_sum_cuda(a, detail::ctx(src)));
}

// y (+)= a * b with b full-shape or one broadcast row.
void mul_into(const Tensor& a, const Tensor& b, Broadcast layout, void* y, GradMode mode) {
  kernels::BinaryArgs k;
  k.rows = detail::rows_of(a);
  k.cols = detail::cols_of(a);
  k.dtype = a.dtype();
  k.op = BinaryOp::Mul;
  k.b_layout = layout;
  k.a = a.data_ptr();
  k.b = b.data_ptr();
  k.y = y;
  k.mode = mode;
  run_binary(k, a);
}

struct BinaryNode final : Node {
  BinaryOp op;
  Broadcast layout;
  Tensor saved_a, saved_b;  // only for mul
  const char* name() const override { return binary_name(op); }
  void backward() override {
    const Tensor dy = grad_output(0);
    if (needs_grad(0)) {
      const GradTarget da = grad_input(0);
      if (op == BinaryOp::Mul) mul_into(dy, saved_b, layout, da.buffer.data_ptr(), da.mode);
      else scale_into(dy, 1.0f, da);
    }
    if (needs_grad(1)) {
      const GradTarget db = grad_input(1);
      const float sign = op == BinaryOp::Sub ? -1.0f : 1.0f;
      Tensor contribution = dy;
      if (op == BinaryOp::Mul) {
        contribution = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
        mul_into(dy, saved_a, Broadcast::None, contribution.data_ptr(), GradMode::Overwrite);
      }
      if (layout == Broadcast::Row) sum_rows_into(contribution, sign, db);
      else scale_into(contribution, sign, db);
    }
  }
};

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
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
  kernels::BinaryArgs k;
  k.rows = detail::rows_of(a);
  k.cols = detail::cols_of(a);
  k.dtype = a.dtype();
  k.op = op;
  k.b_layout = layout;
  k.a = a.data_ptr();
  k.b = b.data_ptr();
  k.y = y.data_ptr();
  detail::trace(name, a);
  run_binary(k, a);
  if (should_record({&a, &b})) {
    auto node = std::make_unique<BinaryNode>();
    node->op = op;
    node->layout = layout;
    if (op == BinaryOp::Mul) {
      node->saved_a = a;
      node->saved_b = b;
    }
    record_node(std::move(node), {&a, &b}, {&y});
  }
  return y;
}

struct ScaleNode final : Node {
  float alpha = 1.0f;
  const char* name() const override { return "scale"; }
  void backward() override { scale_into(grad_output(0), alpha, grad_input(0)); }
};

const char* unary_name(kernels::UnaryOp op) {
  switch (op) {
    case kernels::UnaryOp::Sigmoid: return "sigmoid";
    case kernels::UnaryOp::Tanh: return "tanh";
    case kernels::UnaryOp::Relu: return "relu";
  }
  return "?";
}

struct UnaryNode final : Node {
  kernels::UnaryOp op;
  Tensor saved_y;  // the derivative of each activation is a function of its output
  const char* name() const override { return unary_name(op); }
  void backward() override {
    const Tensor dy = grad_output(0);
    const GradTarget dx = grad_input(0);
    kernels::UnaryBwdArgs a;
    a.n = dy.numel();
    a.dtype = dy.dtype();
    a.op = op;
    a.y = saved_y.data_ptr();
    a.dy = dy.data_ptr();
    a.dx = dx.buffer.data_ptr();
    a.mode = dx.mode;
    if (dy.device().is_cpu()) kernels::unary_bwd_cpu(a);
    else LOOM_IF_CUDA(kernels::unary_bwd_cuda(a, detail::ctx(dy)));
  }
};

Tensor unary(kernels::UnaryOp op, const Tensor& x) {
  const char* name = unary_name(op);
  detail::check_defined(name, x, "x");
  detail::check_float(name, x);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  kernels::UnaryFwdArgs a;
  a.n = x.numel();
  a.dtype = x.dtype();
  a.op = op;
  a.x = x.data_ptr();
  a.y = y.data_ptr();
  detail::trace(name, x);
  if (x.device().is_cpu()) kernels::unary_fwd_cpu(a);
  else LOOM_IF_CUDA(kernels::unary_fwd_cuda(a, detail::ctx(x)));
  if (should_record({&x})) {
    auto node = std::make_unique<UnaryNode>();
    node->op = op;
    node->saved_y = y;
    record_node(std::move(node), {&x}, {&y});
  }
  return y;
}

void run_dropout(const Tensor& x, float p, std::uint64_t seed, std::uint64_t offset, void* y, GradMode mode) {
  kernels::DropoutArgs a;
  a.n = x.numel();
  a.dtype = x.dtype();
  a.p = p;
  a.seed = seed;
  a.offset = offset;
  a.x = x.data_ptr();
  a.y = y;
  a.mode = mode;
  if (x.device().is_cpu()) kernels::dropout_cpu(a);
  else LOOM_IF_CUDA(kernels::dropout_cuda(a, detail::ctx(x)));
}

// The mask is recomputed from (seed, offset) in backward: nothing but two integers is saved.
struct DropoutNode final : Node {
  float p = 0;
  std::uint64_t seed = 0, offset = 0;
  const char* name() const override { return "dropout"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const GradTarget dx = grad_input(0);
    run_dropout(dy, p, seed, offset, dx.buffer.data_ptr(), dx.mode);
  }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }

Tensor scale(const Tensor& x, float alpha) {
  detail::check_defined("scale", x, "x");
  detail::check_float("scale", x);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  kernels::ScaleArgs a;
  a.n = x.numel();
  a.dtype = x.dtype();
  a.alpha = alpha;
  a.x = x.data_ptr();
  a.y = y.data_ptr();
  detail::trace("scale", x);
  run_scale(a, x);
  if (should_record({&x})) {
    auto node = std::make_unique<ScaleNode>();
    node->alpha = alpha;
    record_node(std::move(node), {&x}, {&y});
  }
  return y;
}

Tensor sigmoid(const Tensor& x) { return unary(kernels::UnaryOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary(kernels::UnaryOp::Tanh, x); }
Tensor relu(const Tensor& x) { return unary(kernels::UnaryOp::Relu, x); }

Tensor dropout(const Tensor& x, float p, Generator& gen) {
  detail::check_defined("dropout", x, "x");
  detail::check_float("dropout", x);
  LOOM_CHECK(p >= 0.0f && p < 1.0f, "dropout: p must be in [0, 1), got ", p);
  if (p == 0.0f) return x;
  const std::uint64_t offset = gen.reserve(static_cast<std::uint64_t>(x.numel()));
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  detail::trace("dropout", x);
  run_dropout(x, p, gen.seed(), offset, y.data_ptr(), GradMode::Overwrite);
  if (should_record({&x})) {
    auto node = std::make_unique<DropoutNode>();
    node->p = p;
    node->seed = gen.seed();
    node->offset = offset;
    record_node(std::move(node), {&x}, {&y});
  }
  return y;
}

}  // namespace loom::ops
