// ops/matmul.cc: matmul and linear with autograd (kernels: kernels/gemm/).
//
// y = x W^T + b, x [R, in], W [out, in]:
//   dx (+)= dy W          [R, out] x [out, in]
//   dW (+)= dy^T x        [out, R] x [R, in]
//   db (+)= sum_r dy[r]   (a column reduction)
// Accumulate is a GEMM with beta = 1, so no temporary is ever made for a gradient.
#include "ops/matmul.h"

#include "ops/autograd.h"
#include "ops/op_util.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/gemm/gemm.h"
#include "kernels/reduce/reduce.h"

namespace loom::ops {
namespace {

using kernels::Transpose;

// out (+)= op(a) op(b) for row-major a, b, out with the given logical sizes.
void gemm(Transpose ta, Transpose tb, std::int64_t M, std::int64_t N, std::int64_t K, const Tensor& a,
          const Tensor& b, void* out, GradMode mode) {
  kernels::GemmArgs g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.M = M;
  g.N = N;
  g.K = K;
  g.beta = mode == GradMode::Accumulate ? 1.0f : 0.0f;
  g.dtype = a.dtype();
  g.A = a.data_ptr();
  g.lda = ta == Transpose::No ? K : M;
  g.B = b.data_ptr();
  g.ldb = tb == Transpose::No ? N : K;
  g.C = out;
  g.ldc = N;
  if (a.device().is_cpu()) kernels::gemm_cpu(g);
  else LOOM_IF_CUDA(kernels::gemm_cublas(g, detail::ctx(a)));
}

void sum_rows_into(const Tensor& src, std::int64_t rows, std::int64_t cols, const GradTarget& dst) {
  kernels::ReduceArgs a;
  a.rows = rows;
  a.cols = cols;
  a.dtype = src.dtype();
  a.dim = kernels::ReduceDim::First;
  a.x = src.data_ptr();
  a.y = dst.buffer.data_ptr();
  a.mode = dst.mode;
  if (src.device().is_cpu()) kernels::reduce_sum_cpu(a);
  else LOOM_IF_CUDA(kernels::reduce_sum_cuda(a, detail::ctx(src)));
}

struct MatmulNode final : Node {
  Tensor saved_a, saved_b;  // [M, K], [K, N]
  const char* name() const override { return "matmul"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const std::int64_t M = saved_a.dim(0), K = saved_a.dim(1), N = saved_b.dim(1);
    if (needs_grad(0)) {
      const GradTarget da = grad_input(0);
      gemm(Transpose::No, Transpose::Yes, M, K, N, dy, saved_b, da.buffer.data_ptr(), da.mode);
    }
    if (needs_grad(1)) {
      const GradTarget db = grad_input(1);
      gemm(Transpose::Yes, Transpose::No, K, N, M, saved_a, dy, db.buffer.data_ptr(), db.mode);
    }
  }
};

struct LinearNode final : Node {
  Tensor saved_x, saved_w;  // x [..., in], W [out, in]
  const char* name() const override { return "linear"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const std::int64_t in = saved_w.dim(1), out = saved_w.dim(0), rows = detail::rows_of(saved_x);
    if (needs_grad(0)) {
      const GradTarget dx = grad_input(0);
      gemm(Transpose::No, Transpose::No, rows, in, out, dy, saved_w, dx.buffer.data_ptr(), dx.mode);
    }
    if (needs_grad(1)) {
      const GradTarget dw = grad_input(1);
      gemm(Transpose::Yes, Transpose::No, out, in, rows, dy, saved_x, dw.buffer.data_ptr(), dw.mode);
    }
    if (inputs.size() > 2 && needs_grad(2)) sum_rows_into(dy, rows, out, grad_input(2));
  }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_defined("matmul", a, "a");
  detail::check_defined("matmul", b, "b");
  detail::check_float("matmul", a);
  detail::check_same_kind("matmul", a, b);
  LOOM_CHECK_SHAPE(a.ndim() == 2 && b.ndim() == 2 && a.dim(1) == b.dim(0), "matmul: shapes ",
                   shape_str(a.shape()), " and ", shape_str(b.shape()), " do not chain ([M, K] x [K, N])");
  const std::int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
  Tensor y = Tensor::empty({M, N}, a.dtype(), a.device());
  detail::trace("matmul", a);
  gemm(Transpose::No, Transpose::No, M, N, K, a, b, y.data_ptr(), GradMode::Overwrite);
  if (should_record({&a, &b})) {
    auto node = std::make_unique<MatmulNode>();
    node->saved_a = a;
    node->saved_b = b;
    record_node(std::move(node), {&a, &b}, {&y});
  }
  return y;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_defined("linear", x, "x");
  detail::check_defined("linear", weight, "weight");
  detail::check_float("linear", x);
  detail::check_same_kind("linear", x, weight);
  LOOM_CHECK_SHAPE(weight.ndim() == 2 && x.ndim() >= 1 && x.dim(-1) == weight.dim(1), "linear: input ",
                   shape_str(x.shape()), " does not fit weight ", shape_str(weight.shape()),
                   " (expected input [..., ", weight.ndim() == 2 ? weight.dim(1) : -1, "] and weight [out, in])");
  const std::int64_t out = weight.dim(0), in = weight.dim(1), rows = detail::rows_of(x);
  if (bias.defined()) {
    detail::check_same_kind("linear", x, bias);
    LOOM_CHECK_SHAPE(bias.ndim() == 1 && bias.dim(0) == out, "linear: bias ", shape_str(bias.shape()),
                     " does not fit weight ", shape_str(weight.shape()), " (expected [", out, "])");
  }
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  detail::trace("linear", x);
  gemm(Transpose::No, Transpose::Yes, rows, out, in, x, weight, y.data_ptr(), GradMode::Overwrite);
  if (bias.defined()) {
    kernels::BinaryArgs a;  // y += bias, in place, broadcast over rows
    a.rows = rows;
    a.cols = out;
    a.dtype = y.dtype();
    a.op = kernels::BinaryOp::Add;
    a.b_layout = kernels::Broadcast::Row;
    a.a = y.data_ptr();
    a.b = bias.data_ptr();
    a.y = y.data_ptr();
    if (y.device().is_cpu()) kernels::binary_cpu(a);
    else LOOM_IF_CUDA(kernels::binary_cuda(a, detail::ctx(y)));
  }
  const bool record = bias.defined() ? should_record({&x, &weight, &bias}) : should_record({&x, &weight});
  if (record) {
    auto node = std::make_unique<LinearNode>();
    node->saved_x = x;
    node->saved_w = weight;
    if (bias.defined()) record_node(std::move(node), {&x, &weight, &bias}, {&y});
    else record_node(std::move(node), {&x, &weight}, {&y});
  }
  return y;
}

}  // namespace loom::ops
