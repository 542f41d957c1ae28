// kernels/gemm/gemm_provider.h (internal): the one seam between gemm_cpu.cc and the library
// that does the F32/F64 multiply on the CPU.
//
// Exactly one provider file is linked: gemm_openblas.cc when CMake found OpenBLAS, else
// gemm_portable.cc (plain blocked loops, so the GPU machine, which has no BLAS, still builds).
// Both implement the contract below and cpu_gemm_provider() from gemm.h.
//
// Contract (row-major, same meaning as GemmArgs): C = alpha * op(A) * op(B) + beta * C with
// op(A) [M, K], op(B) [K, N], C [M, N]. Callers guarantee M, N, K >= 1 and leading dimensions at
// least the stored row length, so a provider never sees an empty or degenerate call.
// beta == 0 means C is write-only: whatever it held (even NaN) must not reach the result.
#pragma once

#include <cstdint>

#include "kernels/gemm/gemm.h"

namespace loom::kernels::detail {

void sgemm_rowmajor(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                    float beta, float* C, std::int64_t ldc);

void dgemm_rowmajor(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    double alpha, const double* A, std::int64_t lda, const double* B, std::int64_t ldb,
                    double beta, double* C, std::int64_t ldc);

}  // namespace loom::kernels::detail
