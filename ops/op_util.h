// ops/op_util.h (internal): argument checks shared by the op front-ends.
#pragma once

#include "core/error.h"
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

}  // namespace loom::ops::detail
