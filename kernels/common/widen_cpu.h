// kernels/common/widen_cpu.h: how a CPU kernel with a float/double template runs F16/BF16 storage:
// widen every input to F32 once, run the float path, round every output once.
//
//   Wide x = widen(a.x, a.dtype, n);                       // F32 copy, or absent for nullptr
//   Wide dx = output(a.dx, a.dtype, n, mode);              // old contents read only to accumulate
//   ... float kernel on x.ptr(), dx.ptr() ...
//   round_into(dx, a.dx, a.dtype);                         // one rounding per element
// `present` keeps nullptr meaning "absent" through the copy, even for a zero-length buffer. Used by
// the LSTM and Conv1d kernels (kernels/lstm/lstm_widen_cpu.h, kernels/conv1d/conv1d_cpu_common.h).
// BF16 goes through bf16_cpu.h's 16-lane loops (the same bits as core/dtype.h's scalar
// conversions, 3-4x faster); F16 keeps the scalar loops.
//
// Buffers are allocated without zeroing (a std::vector zeroed every element, and widen then wrote
// each one again). output() under Overwrite still hands out zeros, for kernels that add into it;
// overwritten_output() does not, for a kernel that writes every element of that output under
// Overwrite (the LSTM's, whose tests pass NaN-filled outputs to show it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>

#include "core/dtype.h"
#include "core/grad_mode.h"
#include "core/parallel.h"
#include "kernels/common/bf16_cpu.h"

namespace loom::kernels::cpu {

struct Wide {
  std::unique_ptr<float[]> data;  // n floats, allocated uninitialized
  std::int64_t n = 0;
  bool present = false;
  float* ptr() { return present ? data.get() : nullptr; }
};

// A present buffer of n floats, contents unspecified.
inline Wide allocate(std::int64_t n) {
  Wide w;
  w.present = true;
  w.n = n;
  w.data.reset(new float[static_cast<std::size_t>(std::max<std::int64_t>(n, 1))]);  // default-init: not zeroed
  return w;
}

inline Wide widen(const void* src, DType t, std::int64_t n) {
  if (src == nullptr) return Wide{};
  Wide w = allocate(n);
  const std::uint16_t* bits = static_cast<const std::uint16_t*>(src);
  if (t == DType::BF16) {
    widen_bf16(bits, n, w.data.get());
    return w;
  }
  float* out = w.data.get();
#pragma omp parallel for num_threads(loom::num_threads()) if (n > loom::kParallelGrain)
  for (std::int64_t k = 0; k < n; ++k)
    out[k] = t == DType::F16 ? half_bits_to_float(bits[k]) : bf16_bits_to_float(bits[k]);
  return w;
}

// Zeros under Overwrite (the kernel may add into it), the old contents widened under Accumulate.
inline Wide output(void* dst, DType t, std::int64_t n, GradMode mode) {
  if (dst != nullptr && mode == GradMode::Overwrite) {
    Wide w = allocate(n);
    std::fill_n(w.data.get(), n, 0.0f);
    return w;
  }
  return widen(dst, t, n);
}

// As output(), but under Overwrite the buffer is left as allocated: only for a kernel that writes
// every element of this output itself.
inline Wide overwritten_output(void* dst, DType t, std::int64_t n, GradMode mode) {
  if (dst != nullptr && mode == GradMode::Overwrite) return allocate(n);
  return widen(dst, t, n);
}

inline void round_into(const Wide& w, void* dst, DType t) {
  if (dst == nullptr) return;
  const std::int64_t n = w.n;
  const float* src = w.data.get();
  std::uint16_t* bits = static_cast<std::uint16_t*>(dst);
  if (t == DType::BF16) return round_to_bf16(src, n, bits);
#pragma omp parallel for num_threads(loom::num_threads()) if (n > loom::kParallelGrain)
  for (std::int64_t k = 0; k < n; ++k)
    bits[k] = t == DType::F16 ? float_to_half_bits(src[k]) : float_to_bf16_bits(src[k]);
}

}  // namespace loom::kernels::cpu
