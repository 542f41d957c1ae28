// kernels/common/widen_cpu.h: how a CPU kernel with a float/double template runs F16/BF16 storage:
// widen every input to F32 once, run the float path, round every output once.
//
//   Wide x = widen(a.x, a.dtype, n);                       // F32 copy, or absent for nullptr
//   Wide dx = output(a.dx, a.dtype, n, mode);              // old contents read only to accumulate
//   ... float kernel on x.ptr(), dx.ptr() ...
//   round_into(dx, a.dx, a.dtype);                         // one rounding per element
// `present` keeps nullptr meaning "absent" through the copy, even for a zero-length buffer whose
// vector has no data(). Used by the LSTM and Conv1d references (kernels/lstm/lstm_cpu.cc,
// kernels/conv1d/conv1d_cpu.cc). BF16 goes through bf16_cpu.h's 16-lane loops (the same bits as
// core/dtype.h's scalar conversions, 3-4x faster); F16 keeps the scalar loops.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/grad_mode.h"
#include "core/parallel.h"
#include "kernels/common/bf16_cpu.h"

namespace loom::kernels::cpu {

struct Wide {
  std::vector<float> v;
  bool present = false;
  float* ptr() { return present ? v.data() : nullptr; }
};

inline Wide widen(const void* src, DType t, std::int64_t n) {
  Wide w;
  if (src == nullptr) return w;
  w.present = true;
  w.v.resize(static_cast<std::size_t>(n));
  const std::uint16_t* bits = static_cast<const std::uint16_t*>(src);
  if (t == DType::BF16) {
    widen_bf16(bits, n, w.v.data());
    return w;
  }
#pragma omp parallel for num_threads(loom::num_threads()) if (n > loom::kParallelGrain)
  for (std::int64_t k = 0; k < n; ++k)
    w.v[k] = t == DType::F16 ? half_bits_to_float(bits[k]) : bf16_bits_to_float(bits[k]);
  return w;
}

// An output: its old contents are read only when the kernel adds onto them.
inline Wide output(void* dst, DType t, std::int64_t n, GradMode mode) {
  if (dst != nullptr && mode == GradMode::Overwrite) {
    Wide w;
    w.present = true;
    w.v.resize(static_cast<std::size_t>(n));
    return w;
  }
  return widen(dst, t, n);
}

inline void round_into(const Wide& w, void* dst, DType t) {
  if (dst == nullptr) return;
  const std::int64_t n = static_cast<std::int64_t>(w.v.size());
  std::uint16_t* bits = static_cast<std::uint16_t*>(dst);
  if (t == DType::BF16) return round_to_bf16(w.v.data(), n, bits);
#pragma omp parallel for num_threads(loom::num_threads()) if (n > loom::kParallelGrain)
  for (std::int64_t k = 0; k < n; ++k)
    bits[k] = t == DType::F16 ? float_to_half_bits(w.v[k]) : float_to_bf16_bits(w.v[k]);
}

}  // namespace loom::kernels::cpu
