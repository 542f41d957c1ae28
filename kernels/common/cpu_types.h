// kernels/common/cpu_types.h: the two helpers every CPU kernel file shares (the CUDA twin is
// dispatch_float_dtype / store_grad in launch.cuh).
//   with_float_type(dtype, op, fn): calls fn(T{}) with T the storage type (float, double, Half,
//     BFloat16), so a kernel template runs on the run-time dtype; I32 throws ShapeError naming op.
//   store(dst, value, mode): THE place a result is written: adds the old value when the GradMode is
//     Accumulate (in the compute type, so F16/BF16 sums happen in F32), then rounds once.
#pragma once

#include "core/dtype.h"
#include "core/error.h"
#include "core/grad_mode.h"

namespace loom::kernels::cpu {

template <typename Fn>
void with_float_type(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::F32: fn(float{}); return;
    case DType::F64: fn(double{}); return;
    case DType::F16: fn(Half{}); return;
    case DType::BF16: fn(BFloat16{}); return;
    case DType::I32: break;
  }
  LOOM_THROW(ShapeError, op, ": expected a float dtype (f32, f64, f16, bf16), got ", dtype_name(t));
}

template <typename T>
inline void store(T& dst, compute_t<T> value, GradMode mode) {
  if (mode == GradMode::Accumulate) value += to_float(dst);
  dst = from_double<T>(value);
}

}  // namespace loom::kernels::cpu
