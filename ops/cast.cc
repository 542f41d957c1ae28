// ops/cast.cc: dtype conversion with autograd. Backward casts the gradient back to the
// input's dtype (dx (+)= cast(dy)), which is how F32 master weights receive the gradients of their
// F16/BF16 working copies.
#include "ops/cast.h"

#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/elementwise/elementwise.h"

namespace loom::ops {
namespace {

void run_cast(const Tensor& src, DType to, void* dst, GradMode mode) {
  kernels::CastArgs a;
  a.n = src.numel();
  a.src_dtype = src.dtype();
  a.dst_dtype = to;
  a.src = src.data_ptr();
  a.dst = dst;
  a.mode = mode;
  run_kernel("cast", src, a, kernels::cast_cpu, LOOM_CUDA_FN(kernels::cast_cuda));
}

}  // namespace

Tensor cast(const Tensor& x, DType to) {
  detail::check_defined("cast", x, "x");
  LOOM_CHECK_SHAPE(is_floating(x.dtype()) && is_floating(to), "cast: only float dtypes convert, got ", x.str(),
                   " -> ", dtype_name(to));
  LOOM_CHECK_SHAPE(!(to == DType::F64 && x.device().is_cuda()), "cast: f64 is CPU-only, got ", x.str());
  if (x.dtype() == to) return x;
  Tensor y = Tensor::empty(x.shape(), to, x.device());
  run_cast(x, to, y.data_ptr(), GradMode::Overwrite);
  record_op("cast", {&x}, {&y}, [](Node& node) {
    const Tensor dy = node.grad_output(0);
    const GradTarget dx = node.grad_input(0);
    run_cast(dy, dx.buffer.dtype(), dx.buffer.data_ptr(), dx.mode);
  });
  return y;
}

}  // namespace loom::ops
