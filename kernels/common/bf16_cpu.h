// kernels/common/bf16_cpu.h: F32 <-> bf16 conversion of whole buffers on the CPU, shared by every
// CPU kernel with a BF16 path (widen_cpu.h's widen / round_into, the LSTM's pointwise passes and
// its native BF16 wrappers, conv1d and the text-CNN block).
//
// The bits are exactly core/dtype.h's: float_to_bf16_bits rounds to nearest even and turns every
// NaN into 0x7fff; bf16_bits_to_float is a 16-bit left shift (exact). Only the speed differs: GCC
// builds the scalar loops 4 lanes wide at best (and the rounding 8 lanes wide even with AVX-512F,
// having no AVX512BW for 16-bit vectors), so on a CPU with AVX-512F both directions run a 16-lane
// intrinsics loop of integer operations (exact, hence the same bits). Without it, the scalar loops
// of core/dtype.h run. tests/kernels/test_bf16_cpu.cc holds the two against each other.
//
//   round_to_bf16(src, n, dst)   n floats -> bf16 bits, threaded above loom::kParallelGrain
//   widen_bf16(src, n, dst)      n bf16 bits -> floats, threaded the same way
//   round_bf16_serial(...)       one thread, for a caller that is already inside a parallel loop
//                                (the LSTM's per-row passes); dst2, when given, gets a second copy
//   round_bf16_scalar / widen_bf16_scalar   the plain loops, for the tests and non-AVX-512 CPUs
#pragma once

#include <cstdint>

namespace loom::kernels::cpu {

void round_to_bf16(const float* src, std::int64_t n, std::uint16_t* dst);
void widen_bf16(const std::uint16_t* src, std::int64_t n, float* dst);

void round_bf16_serial(const float* src, std::int64_t n, std::uint16_t* dst, std::uint16_t* dst2 = nullptr);

void round_bf16_scalar(const float* src, std::int64_t n, std::uint16_t* dst);
void widen_bf16_scalar(const std::uint16_t* src, std::int64_t n, float* dst);

// Whether the 16-lane loops run on this CPU ("avx512f") or the scalar ones ("scalar").
const char* bf16_cpu_isa();

}  // namespace loom::kernels::cpu
