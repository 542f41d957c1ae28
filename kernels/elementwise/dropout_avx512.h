// kernels/elementwise/dropout_avx512.h (internal to elementwise_cpu.cc): one chunk of dropout's
// elements in AVX-512, 16 at a time, for F32 and BF16 storage.
//
//   y[k] (+)= x[k] / keep_prob   where u_k = (words[k] >> 8) 2^-24 >= p,   else (+)= 0
//
// The same IEEE operations as the scalar loop of elementwise_cpu.cc (an exact u, one correctly
// rounded division, one addition for Accumulate, one rounding to bf16), so the same bits;
// tests/ops/test_ops_elementwise.cc compares the two on the dropout it runs.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/grad_mode.h"

namespace loom::kernels {

// True on a CPU with AVX-512F/BW/VL (checked once).
bool dropout_avx512_available();
// dtype F32 or BF16; x and y point at element 0 of the chunk.
void dropout_span_avx512(const std::uint32_t* words, const void* x, void* y, std::int64_t len, float p,
                         float keep_prob, DType dtype, GradMode mode);

}  // namespace loom::kernels
