// ops/op_util.h (internal): argument checks shared by the op front-ends.
#pragma once

#include "ops/dispatch.h"
#include "ops/tensor.h"

namespace loom::ops::detail {

inline void check_defined(const char* op, const Tensor& t, const char* name) {
  LOOM_CHECK_SHAPE(t.defined(), op, ": ", name, " is an undefined tensor");
}

// Same dtype and same device: ops never convert or move data silently.
inline void check_same_kind(const char* op, const Tensor& a, const Tensor& b) {
  LOOM_CHECK_SHAPE(a.dtype() == b.dtype() && a.device() == b.device(), op, ": operands must share dtype and device, got ",
                   a.str(), " and ", b.str());
}

inline void check_float(const char* op, const Tensor& t) {
  LOOM_CHECK_SHAPE(is_floating(t.dtype()), op, ": needs a float tensor, got ", t.str());
}

// The trailing dimension (1 for a scalar) and the number of rows in front of it.
inline std::int64_t cols_of(const Tensor& t) { return t.ndim() == 0 ? 1 : t.shape().back(); }
inline std::int64_t rows_of(const Tensor& t) {
  const std::int64_t c = cols_of(t);
  return c == 0 ? 0 : t.numel() / c;
}

// The CUDA context for a tensor's device; only called inside LOOM_IF_CUDA(...).
inline const CudaContext& ctx(const Tensor& t) { return cuda_context(t.device().index); }

inline const char* backend_name(const Tensor& t) { return t.device().is_cpu() ? "cpu" : "cuda"; }

// LOOM_TRACE=1: "loom: <op> -> cpu|cuda", once per pair.
inline void trace(const char* op, const Tensor& on) { ::loom::detail::trace_choice(op, backend_name(on)); }

}  // namespace loom::ops::detail
