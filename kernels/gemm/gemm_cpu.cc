// kernels/gemm/gemm_cpu.cc: C = alpha * op(A) * op(B) + beta * C on the CPU, every dtype.
//
// Math. With op(A) [M, K] and op(B) [K, N]:
//   C[i, j] = alpha * sum_k op(A)[i, k] * op(B)[k, j] + beta * C[i, j]
// The backward of Y = X W^T (a Linear layer) is two more calls of this same kernel:
//   dX = dY W        (trans_a No,  trans_b No)
//   dW = dY^T X      (trans_a Yes, trans_b No), beta = 1 when the gradient accumulates.
// Transposes are flags, never copies: op(A) = A^T reads A [K, M] by columns.
//
// Who does what. F32 and F64 go straight to the provider (gemm_provider.h): oneDNN's or OpenBLAS's
// sgemm / dgemm, or the portable blocked loops on machines without BLAS. F16 and BF16 are storage
// types (all arithmetic is F32). BF16 runs natively where it can (oneDNN's matmul primitive on an
// AVX512_BF16 / AMX-BF16 CPU: bf16 products, F32 accumulation, gemm_onednn.cc); otherwise, and
// always for F16, A and B are widened to F32 temporaries (C too when beta != 0), one sgemm
// accumulates in F32, and C is rounded back once, the same F32 accumulation cuBLAS does with
// CUBLAS_COMPUTE_32F. Both routes give the same math up to the order of the F32 sums (each product
// of two bf16 values is exact in F32). The first emulated BF16 call prints one line to stderr
// saying so and why, so a user who asked for bf16 speed learns they are not getting it. I32 has
// no GEMM.
// GemmOut::F32 (F16/BF16 operands, F32 C) widens A and B the same way and lets the F32 product land
// in C directly. Edge cases are settled here so providers never see them: M or N == 0 does nothing, and K == 0
// (or a call with nothing to multiply) leaves C = beta * C, where beta == 0 writes exact zeros
// (C is write-only then, even if it held NaN).
//
// Cost: 2 M N K flops; bytes at the storage size s: s (M K + K N + M N) plus s M N more when
// beta != 0 (C is read). The widening path moves extra F32 copies; cost() counts the minimum
// traffic, not what this implementation happens to move.
//
// Twin: kernels/gemm/gemm_cublas.cc (cublasGemmEx). Tests: tests/ops/test_ops_matmul.cc
// (every transpose and dtype against naive loops), tests/kernels/test_gemm_lowp_cpu.cc (BF16 native
// and emulated against a float64 oracle with a derived tolerance, inside OpenMP regions too).
#include <cstdio>
#include <mutex>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_provider.h"

namespace loom::kernels {

namespace {

// C = beta * C for the K == 0 case. beta == 0 writes zeros instead of multiplying, so old NaNs
// in a write-only C do not survive (0 * NaN is NaN).
template <typename T>
void scale_c(const GemmArgs& a) {
  T* C = static_cast<T*>(a.C);
  for (std::int64_t i = 0; i < a.M; ++i) {
    T* row = C + i * a.ldc;
    for (std::int64_t j = 0; j < a.N; ++j) {
      const compute_t<T> old = a.beta == 0.0f ? compute_t<T>(0) : to_float(row[j]);
      row[j] = from_double<T>(static_cast<compute_t<T>>(a.beta) * old);
    }
  }
}

// Copies a stored [rows, cols] matrix with row stride ld into a dense float buffer (stride cols).
template <typename T>
std::vector<float> widen(const T* src, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  std::vector<float> out(static_cast<std::size_t>(rows * cols));
#pragma omp parallel for num_threads(loom::num_threads()) if (rows * cols > loom::kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) out[r * cols + c] = to_float(src[r * ld + c]);
  return out;
}

// F16 / BF16: widen, multiply in F32, round C back once.
template <typename T>
void gemm_widened(const GemmArgs& a) {
  // Stored shapes: A is [M, K] unless transposed ([K, M]); B is [K, N] unless transposed ([N, K]).
  const std::int64_t a_rows = a.trans_a == Transpose::No ? a.M : a.K;
  const std::int64_t a_cols = a.trans_a == Transpose::No ? a.K : a.M;
  const std::int64_t b_rows = a.trans_b == Transpose::No ? a.K : a.N;
  const std::int64_t b_cols = a.trans_b == Transpose::No ? a.N : a.K;
  const std::vector<float> A = widen(static_cast<const T*>(a.A), a_rows, a_cols, a.lda);
  const std::vector<float> B = widen(static_cast<const T*>(a.B), b_rows, b_cols, a.ldb);
  if (a.out == GemmOut::F32) {  // the accumulator is the result: no rounding of C at all
    detail::sgemm_rowmajor(a.trans_a, a.trans_b, a.M, a.N, a.K, a.alpha, A.data(), a_cols, B.data(), b_cols, a.beta,
                           static_cast<float*>(a.C), a.ldc);
    return;
  }
  T* C = static_cast<T*>(a.C);
  // beta == 0: C is write-only, so its old contents are never read (they may be NaN).
  std::vector<float> C32 = a.beta != 0.0f ? widen(static_cast<const T*>(C), a.M, a.N, a.ldc)
                                          : std::vector<float>(static_cast<std::size_t>(a.M * a.N));
  detail::sgemm_rowmajor(a.trans_a, a.trans_b, a.M, a.N, a.K, a.alpha, A.data(), a_cols, B.data(), b_cols,
                         a.beta, C32.data(), a.N);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.M * a.N > loom::kParallelGrain)
  for (std::int64_t i = 0; i < a.M; ++i)
    for (std::int64_t j = 0; j < a.N; ++j) C[i * a.ldc + j] = from_float<T>(C32[i * a.N + j]);
}

// The BF16 route: native when chosen (core/cpu_features.h), else widened with a one-time note.
void gemm_bf16(const GemmArgs& a) {
  const CpuBf16Route& choice = cpu_bf16_route();
  LOOM_CHECK(choice.error.empty(), choice.error);
#if LOOM_WITH_ONEDNN
  if (choice.native) return detail::onednn_bf16_gemm(a);
#endif
  static std::once_flag noted;
  std::call_once(noted, [&] {
    std::fprintf(stderr, "loom: bf16 GEMMs on the CPU run emulated through F32 (no bf16 speedup): %s\n",
                 choice.why.c_str());
  });
  gemm_widened<BFloat16>(a);
}

}  // namespace

void detail::gemm_lowp_widened(const GemmArgs& a) {
  if (a.dtype == DType::BF16) return gemm_widened<BFloat16>(a);
  LOOM_CHECK(a.dtype == DType::F16, "gemm_lowp_widened: f16 or bf16 operands only");
  gemm_widened<Half>(a);
}

Cost gemm_cost(const GemmArgs& a) {
  const double M = static_cast<double>(a.M), N = static_cast<double>(a.N), K = static_cast<double>(a.K);
  const double s = static_cast<double>(dtype_size(a.dtype));
  const double sc = a.out == GemmOut::F32 ? 4.0 : s;  // C's element size
  Cost c;
  c.flops = 2.0 * M * N * K;
  c.bytes = s * (M * K + K * N) + sc * M * N * (a.beta != 0.0f ? 2.0 : 1.0);
  return c;
}

void gemm_cpu(const GemmArgs& a) {
  LOOM_CHECK_SHAPE(a.dtype != DType::I32, "gemm_cpu: i32 has no matrix product (use f32, f64, f16 or bf16)");
  LOOM_CHECK_SHAPE(a.out == GemmOut::Storage || a.dtype != DType::F64,
                   "gemm_cpu: an F32 output needs f32, f16 or bf16 operands, got f64");
  if (a.M == 0 || a.N == 0) return;
  if (a.K == 0) {  // an empty sum: C = beta * C
    if (a.out == GemmOut::F32) {
      scale_c<float>(a);
      return;
    }
    switch (a.dtype) {
      case DType::F32: scale_c<float>(a); return;
      case DType::F64: scale_c<double>(a); return;
      case DType::F16: scale_c<Half>(a); return;
      case DType::BF16: scale_c<BFloat16>(a); return;
      case DType::I32: break;
    }
    return;
  }
  switch (a.dtype) {
    case DType::F32:
      detail::sgemm_rowmajor(a.trans_a, a.trans_b, a.M, a.N, a.K, a.alpha, static_cast<const float*>(a.A), a.lda,
                             static_cast<const float*>(a.B), a.ldb, a.beta, static_cast<float*>(a.C), a.ldc);
      return;
    case DType::F64:
      detail::dgemm_rowmajor(a.trans_a, a.trans_b, a.M, a.N, a.K, a.alpha, static_cast<const double*>(a.A), a.lda,
                             static_cast<const double*>(a.B), a.ldb, a.beta, static_cast<double*>(a.C), a.ldc);
      return;
    case DType::F16: gemm_widened<Half>(a); return;
    case DType::BF16: gemm_bf16(a); return;
    case DType::I32: break;
  }
}

}  // namespace loom::kernels
