// ops/pool.cc: max_pool1d and the global max / mean over time, with lengths and autograd.
#include "ops/pool.h"

#include "ops/autograd.h"
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

struct MaxPool1dNode final : Node {
  std::int64_t T = 0, B = 0, C = 0, kernel = 0, stride = 0;
  Tensor saved_argmax;
  const char* name() const override { return "max_pool1d"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const GradTarget dx = grad_input(0);
    kernels::MaxPool1dBwdArgs a;
    a.T = T;
    a.B = B;
    a.C = C;
    a.kernel = kernel;
    a.stride = stride;
    a.dtype = dy.dtype();
    a.argmax = saved_argmax.data<std::int32_t>();
    a.dy = dy.data_ptr();
    a.dx = dx.buffer.data_ptr();
    a.mode = dx.mode;
    if (dy.device().is_cpu()) kernels::maxpool1d_bwd_cpu(a);
    else LOOM_IF_CUDA(kernels::maxpool1d_bwd_cuda(a, detail::ctx(dy)));
  }
};

struct GlobalPoolNode final : Node {
  std::int64_t T = 0, B = 0, C = 0;
  kernels::TimeReduce op = kernels::TimeReduce::Max;
  Tensor saved_lengths, saved_argmax;
  const char* name() const override { return op == kernels::TimeReduce::Max ? "global_max_pool" : "global_mean_pool"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const GradTarget dx = grad_input(0);
    kernels::GlobalPoolBwdArgs a;
    a.T = T;
    a.B = B;
    a.C = C;
    a.dtype = dy.dtype();
    a.op = op;
    a.lengths = lengths_ptr(saved_lengths);
    a.argmax = saved_argmax.defined() ? saved_argmax.data<std::int32_t>() : nullptr;
    a.dy = dy.data_ptr();
    a.dx = dx.buffer.data_ptr();
    a.mode = dx.mode;
    if (dy.device().is_cpu()) kernels::global_pool_bwd_cpu(a);
    else LOOM_IF_CUDA(kernels::global_pool_bwd_cuda(a, detail::ctx(dy)));
  }
};

Tensor global_pool(const char* name, kernels::TimeReduce op, const Tensor& x, const Tensor& lengths) {
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
  detail::trace(name, x);
  if (x.device().is_cpu()) kernels::global_pool_fwd_cpu(a);
  else LOOM_IF_CUDA(kernels::global_pool_fwd_cuda(a, detail::ctx(x)));
  if (should_record({&x})) {
    auto node = std::make_unique<GlobalPoolNode>();
    node->T = T;
    node->B = B;
    node->C = C;
    node->op = op;
    node->saved_lengths = lengths;
    node->saved_argmax = argmax;
    record_node(std::move(node), {&x}, {&y});
  }
  return y;
}

}  // namespace

MaxPool1dResult max_pool1d(const Tensor& x, const Tensor& lengths, std::int64_t kernel, std::int64_t stride) {
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
  detail::trace("max_pool1d", x);
  if (x.device().is_cpu()) kernels::maxpool1d_fwd_cpu(a);
  else LOOM_IF_CUDA(kernels::maxpool1d_fwd_cuda(a, detail::ctx(x)));
  if (should_record({&x})) {
    auto node = std::make_unique<MaxPool1dNode>();
    node->T = T;
    node->B = B;
    node->C = C;
    node->kernel = kernel;
    node->stride = stride;
    node->saved_argmax = argmax;
    record_node(std::move(node), {&x}, {&r.y});
  }
  return r;
}

Tensor global_max_pool(const Tensor& x, const Tensor& lengths) {
  return global_pool("global_max_pool", kernels::TimeReduce::Max, x, lengths);
}
Tensor global_mean_pool(const Tensor& x, const Tensor& lengths) {
  return global_pool("global_mean_pool", kernels::TimeReduce::Mean, x, lengths);
}

}  // namespace loom::ops
