// ops/matmul.cc: matmul and linear with autograd (kernels: kernels/gemm/).
//
// y = x W^T + b, x [R, in], W [out, in]:
//   dx (+)= dy W          [R, out] x [out, in]
//   dW (+)= dy^T x        [out, R] x [R, in]
//   db (+)= sum_r dy[r]   (a column reduction)
// Accumulate is a GEMM with beta = 1, so no temporary is ever made for a gradient.
#include "ops/matmul.h"

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/gemm/gemm.h"
#include "kernels/reduce/reduce.h"

namespace loom::ops {
namespace {

using kernels::Transpose;

// out (+)= op(a) op(b) for row-major a, b, out with the given logical sizes. `op` names the
// front-end (matmul or linear) in the LOOM_TRACE line.
void gemm(const char* op, Transpose ta, Transpose tb, std::int64_t M, std::int64_t N, std::int64_t K, const Tensor& a,
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
  run_kernel(op, a, g, kernels::gemm_cpu, LOOM_CUDA_FN(kernels::gemm_cublas));
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
  run_kernel("linear", src, a, kernels::reduce_sum_cpu, LOOM_CUDA_FN(kernels::reduce_sum_cuda));
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  const Tensor a = autocast_input("matmul", a_in), b = autocast_input("matmul", b_in);
  detail::check_defined("matmul", a, "a");
  detail::check_defined("matmul", b, "b");
  detail::check_float("matmul", a);
  detail::check_same_kind("matmul", a, b);
  LOOM_CHECK_SHAPE(a.ndim() == 2 && b.ndim() == 2 && a.dim(1) == b.dim(0), "matmul: shapes ",
                   shape_str(a.shape()), " and ", shape_str(b.shape()), " do not chain ([M, K] x [K, N])");
  const std::int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
  Tensor y = Tensor::empty({M, N}, a.dtype(), a.device());
  gemm("matmul", Transpose::No, Transpose::No, M, N, K, a, b, y.data_ptr(), GradMode::Overwrite);
  record_op("matmul", {&a, &b}, {&y}, [a, b, M, K, N](Node& node) {
    const Tensor dy = node.grad_output(0);
    if (node.needs_grad(0)) {
      const GradTarget da = node.grad_input(0);
      gemm("matmul", Transpose::No, Transpose::Yes, M, K, N, dy, b, da.buffer.data_ptr(), da.mode);
    }
    if (node.needs_grad(1)) {
      const GradTarget db = node.grad_input(1);
      gemm("matmul", Transpose::Yes, Transpose::No, K, N, M, a, dy, db.buffer.data_ptr(), db.mode);
    }
  });
  return y;
}

Tensor linear(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in) {
  // In a region all three become the region's dtype (the weight through the per-region cache).
  const Tensor x = autocast_input("linear", x_in), weight = autocast_input("linear", weight_in),
               bias = autocast_input("linear", bias_in);
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
  gemm("linear", Transpose::No, Transpose::Yes, rows, out, in, x, weight, y.data_ptr(), GradMode::Overwrite);
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
    run_kernel("linear", y, a, kernels::binary_cpu, LOOM_CUDA_FN(kernels::binary_cuda));
  }

  // Without a bias the node has two inputs, so Tape::dump shows no phantom third one.
  const std::vector<const Tensor*> inputs =
      bias.defined() ? std::vector<const Tensor*>{&x, &weight, &bias} : std::vector<const Tensor*>{&x, &weight};
  record_op("linear", inputs, {&y}, [x, weight, rows, in, out](Node& node) {
    const Tensor dy = node.grad_output(0);
    if (node.needs_grad(0)) {
      const GradTarget dx = node.grad_input(0);
      gemm("linear", Transpose::No, Transpose::No, rows, in, out, dy, weight, dx.buffer.data_ptr(), dx.mode);
    }
    if (node.needs_grad(1)) {
      const GradTarget dw = node.grad_input(1);
      gemm("linear", Transpose::Yes, Transpose::No, out, in, rows, dy, x, dw.buffer.data_ptr(), dw.mode);
    }
    if (node.inputs.size() > 2 && node.needs_grad(2)) sum_rows_into(dy, rows, out, node.grad_input(2));
  });
  return y;
}

}  // namespace loom::ops
