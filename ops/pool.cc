// ops/pool.cc: max_pool1d and the global max / mean over time, with lengths and autograd.
#include "ops/pool.h"

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/pool/pool.h"

namespace loom::ops {
namespace {

void check_pool_input(const char* op, const Tensor& x, const Tensor& lengths) {
  detail::check_defined(op, x, "x");
  detail::check_float(op, x);
  LOOM_CHECK_SHAPE(x.ndim() == 3, op, ": x must be [T, B, C], got ", shape_str(x.shape()));
  if (!lengths.defined()) return;
  LOOM_CHECK_SHAPE(lengths.dtype() == DType::I32 && lengths.shape() == Shape({x.dim(1)}) &&
                       lengths.device() == x.device(),
                   op, ": lengths must be i32 [", x.dim(1), "] on ", x.device().str(), ", got ", lengths.str());
  for (std::int32_t l : lengths.to_vector_i32())
    LOOM_CHECK_SHAPE(l >= 0 && l <= x.dim(0), op, ": length ", l, " is outside [0, T] = [0, ", x.dim(0), "]");
}

const std::int32_t* lengths_ptr(const Tensor& lengths) {
  return lengths.defined() ? lengths.data<std::int32_t>() : nullptr;
}

Tensor global_pool(const char* name, kernels::TimeReduce op, const Tensor& x_in, const Tensor& lengths) {
  const Tensor x = autocast_input(name, x_in);  // AsIs: checks the op has a row
  check_pool_input(name, x, lengths);
  const std::int64_t T = x.dim(0), B = x.dim(1), C = x.dim(2);
  Tensor y = Tensor::empty({B, C}, x.dtype(), x.device());
  Tensor argmax;
  if (op == kernels::TimeReduce::Max) argmax = Tensor::empty({B, C}, DType::I32, x.device());
  kernels::GlobalPoolFwdArgs a;
  a.T = T;
  a.B = B;
  a.C = C;
  a.dtype = x.dtype();
  a.op = op;
  a.x = x.data_ptr();
  a.lengths = lengths_ptr(lengths);
  a.y = y.data_ptr();
  a.argmax = argmax.defined() ? argmax.data<std::int32_t>() : nullptr;
  run_kernel(name, x, a, kernels::global_pool_fwd_cpu, LOOM_CUDA_FN(kernels::global_pool_fwd_cuda));

  // Max sends each gradient to the step that won (argmax); mean spreads it over the row's length.
  record_op(name, {&x}, {&y}, [name, op, T, B, C, lengths, argmax](Node& node) {
    const Tensor dy = node.grad_output(0);
    const GradTarget dx = node.grad_input(0);
    kernels::GlobalPoolBwdArgs b;
    b.T = T;
    b.B = B;
    b.C = C;
    b.dtype = dy.dtype();
    b.op = op;
    b.lengths = lengths_ptr(lengths);
    b.argmax = argmax.defined() ? argmax.data<std::int32_t>() : nullptr;
    b.dy = dy.data_ptr();
    b.dx = dx.buffer.data_ptr();
    b.mode = dx.mode;
    run_kernel(name, dy, b, kernels::global_pool_bwd_cpu, LOOM_CUDA_FN(kernels::global_pool_bwd_cuda));
  });
  return y;
}

}  // namespace

MaxPool1dResult max_pool1d(const Tensor& x_in, const Tensor& lengths, std::int64_t kernel, std::int64_t stride) {
  const Tensor x = autocast_input("max_pool1d", x_in);  // AsIs: checks the op has a row
  check_pool_input("max_pool1d", x, lengths);
  LOOM_CHECK_SHAPE(kernel >= 1 && stride >= 1, "max_pool1d: kernel and stride must be >= 1, got ", kernel, " and ",
                   stride);
  const std::int64_t T = x.dim(0), B = x.dim(1), C = x.dim(2);
  const std::int64_t T_out = kernels::maxpool1d_out_T(T, kernel, stride);
  LOOM_CHECK_SHAPE(T_out >= 1, "max_pool1d: input of T = ", T, " steps is shorter than the kernel ", kernel);
  MaxPool1dResult r;
  r.y = Tensor::empty({T_out, B, C}, x.dtype(), x.device());
  const Tensor argmax = Tensor::empty({T_out, B, C}, DType::I32, x.device());
  if (lengths.defined()) r.lengths = Tensor::empty({B}, DType::I32, x.device());
  kernels::MaxPool1dFwdArgs a;
  a.T = T;
  a.B = B;
  a.C = C;
  a.kernel = kernel;
  a.stride = stride;
  a.dtype = x.dtype();
  a.x = x.data_ptr();
  a.lengths = lengths_ptr(lengths);
  a.y = r.y.data_ptr();
  a.argmax = argmax.data<std::int32_t>();
  a.out_lengths = r.lengths.defined() ? r.lengths.data<std::int32_t>() : nullptr;
  run_kernel("max_pool1d", x, a, kernels::maxpool1d_fwd_cpu, LOOM_CUDA_FN(kernels::maxpool1d_fwd_cuda));

  // Each output's gradient goes back to the input step that won its window (argmax).
  record_op("max_pool1d", {&x}, {&r.y}, [T, B, C, kernel, stride, argmax](Node& node) {
    const Tensor dy = node.grad_output(0);
    const GradTarget dx = node.grad_input(0);
    kernels::MaxPool1dBwdArgs b;
    b.T = T;
    b.B = B;
    b.C = C;
    b.kernel = kernel;
    b.stride = stride;
    b.dtype = dy.dtype();
    b.argmax = argmax.data<std::int32_t>();
    b.dy = dy.data_ptr();
    b.dx = dx.buffer.data_ptr();
    b.mode = dx.mode;
    run_kernel("max_pool1d", dy, b, kernels::maxpool1d_bwd_cpu, LOOM_CUDA_FN(kernels::maxpool1d_bwd_cuda));
  });
  return r;
}

Tensor global_max_pool(const Tensor& x, const Tensor& lengths) {
  return global_pool("global_max_pool", kernels::TimeReduce::Max, x, lengths);
}
Tensor global_mean_pool(const Tensor& x, const Tensor& lengths) {
  return global_pool("global_mean_pool", kernels::TimeReduce::Mean, x, lengths);
}

}  // namespace loom::ops
