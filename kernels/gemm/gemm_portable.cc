// kernels/gemm/gemm_portable.cc: the CPU GEMM provider with no BLAS (always compiled; used when no
// BLAS was found, e.g. on the GPU machine, or when LOOM_CPU_GEMM=portable). Correct for every transpose; fast enough for tests and for
// the CPU side of a GPU run, not a rival to a tuned BLAS.
//
// Math: C = alpha * op(A) * op(B) + beta * C, row-major:
//   C[i, j] = beta * C[i, j] + sum_k (alpha * op(A)[i, k]) * op(B)[k, j]
// summed in increasing k for every (i, j), whatever the thread count (each C element is owned by
// one thread for the whole call), so results are the same bits run to run.
//
// Blocking. The loop order is i-k-j: for one row i of C and one k, the innermost loop walks a row
// of op(B) and a row of C with unit stride, so the compiler vectorizes it. To make that row of
// op(B) contiguous whatever the transpose, a [kc, nc] block of op(B) is first packed into a dense
// panel (kc = 256, nc = 512 floats: a 512 KiB panel that stays in L2 while every row of C reuses
// it). Four rows of C are updated together so each panel element loaded feeds four multiply-adds,
// and the four C row segments (4 x nc) stay in L1. The matching alpha-scaled piece of op(A) is
// gathered into a small per-thread buffer, which also turns A^T's strided reads into a copy.
//
// Threads: rows of C are split across threads (four-row groups, static schedule); the panel is
// packed cooperatively, then a barrier, then the multiply, then a barrier before the next panel.
// Called from inside an OpenMP parallel region it runs on the calling thread only
// (never nest two layers of threads: core/parallel.h says why).
//
// Cost: 2 M N K flops; memory traffic: op(B) is read once per call, op(A) once per nc-column
// block (ceil(N / nc) times), C once per kc-block of K (ceil(K / kc) times, from cache mostly).
// Checked against OpenBLAS on every transpose and odd sizes before it was committed.
#include <algorithm>
#include <vector>

#include <omp.h>

#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_provider.h"

namespace loom::kernels {

namespace {

constexpr std::int64_t kKc = 256;  // depth of one packed panel of op(B)
constexpr std::int64_t kNc = 512;  // width of one packed panel of op(B)
constexpr std::int64_t kMr = 4;    // rows of C updated together

template <typename T>
void gemm_blocked(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha,
                  const T* A, std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc) {
  const bool parallel = !omp_in_parallel() && M * N * K > loom::kParallelGrain && M > kMr;
  std::vector<T> panel(static_cast<std::size_t>(kKc * kNc));
  // op(A)[i, k]: A is stored [M, K] (No) or [K, M] (Yes).
  auto a_at = [&](std::int64_t i, std::int64_t k) {
    return trans_a == Transpose::No ? A[i * lda + k] : A[k * lda + i];
  };

#pragma omp parallel num_threads(loom::num_threads()) if (parallel)
  {
    // C = beta * C first; beta == 0 writes zeros so a write-only C's NaNs never leak in.
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < M; ++i) {
      T* c_row = C + i * ldc;
      for (std::int64_t j = 0; j < N; ++j) c_row[j] = beta == T(0) ? T(0) : beta * c_row[j];
    }

    std::vector<T> a_block(static_cast<std::size_t>(kMr * kKc));  // alpha * op(A)[i0..i0+4, k0..k0+kc)
    for (std::int64_t j0 = 0; j0 < N; j0 += kNc) {
      const std::int64_t nc = std::min(kNc, N - j0);
      for (std::int64_t k0 = 0; k0 < K; k0 += kKc) {
        const std::int64_t kc = std::min(kKc, K - k0);

        // Pack op(B)[k0..k0+kc, j0..j0+nc) densely: row kk of the panel is contiguous. The loops
        // follow B's stored rows so the reads from memory are unit-stride in both layouts.
        if (trans_b == Transpose::No) {
#pragma omp for schedule(static)
          for (std::int64_t kk = 0; kk < kc; ++kk)
            for (std::int64_t j = 0; j < nc; ++j) panel[kk * nc + j] = B[(k0 + kk) * ldb + j0 + j];
        } else {
#pragma omp for schedule(static)
          for (std::int64_t j = 0; j < nc; ++j)
            for (std::int64_t kk = 0; kk < kc; ++kk) panel[kk * nc + j] = B[(j0 + j) * ldb + k0 + kk];
        }
        // (implicit barrier: the panel is complete before anyone multiplies)

#pragma omp for schedule(static)
        for (std::int64_t i0 = 0; i0 < M; i0 += kMr) {
          const std::int64_t mr = std::min(kMr, M - i0);
          for (std::int64_t r = 0; r < kMr; ++r)
            for (std::int64_t kk = 0; kk < kc; ++kk)
              a_block[r * kKc + kk] = r < mr ? alpha * a_at(i0 + r, k0 + kk) : T(0);

          if (mr == kMr) {  // the common case: four rows share every panel load
            T* c0 = C + (i0 + 0) * ldc + j0;
            T* c1 = C + (i0 + 1) * ldc + j0;
            T* c2 = C + (i0 + 2) * ldc + j0;
            T* c3 = C + (i0 + 3) * ldc + j0;
            for (std::int64_t kk = 0; kk < kc; ++kk) {
              const T a0 = a_block[0 * kKc + kk], a1 = a_block[1 * kKc + kk];
              const T a2 = a_block[2 * kKc + kk], a3 = a_block[3 * kKc + kk];
              const T* b = &panel[kk * nc];
              for (std::int64_t j = 0; j < nc; ++j) {
                c0[j] += a0 * b[j];
                c1[j] += a1 * b[j];
                c2[j] += a2 * b[j];
                c3[j] += a3 * b[j];
              }
            }
          } else {  // the last 1-3 rows of C
            for (std::int64_t r = 0; r < mr; ++r) {
              T* c = C + (i0 + r) * ldc + j0;
              for (std::int64_t kk = 0; kk < kc; ++kk) {
                const T a_rk = a_block[r * kKc + kk];
                const T* b = &panel[kk * nc];
                for (std::int64_t j = 0; j < nc; ++j) c[j] += a_rk * b[j];
              }
            }
          }
        }
        // (implicit barrier: nobody repacks the panel while another thread still reads it)
      }
    }
  }
}

}  // namespace

namespace detail {

void portable_sgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                    float beta, float* C, std::int64_t ldc) {
  gemm_blocked<float>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void portable_dgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    double alpha, const double* A, std::int64_t lda, const double* B, std::int64_t ldb,
                    double beta, double* C, std::int64_t ldc) {
  gemm_blocked<double>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace detail


}  // namespace loom::kernels
