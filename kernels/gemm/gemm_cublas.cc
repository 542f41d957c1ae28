// kernels/gemm/gemm_cublas.cc: C = alpha * op(A) op(B) + beta * C on the GPU through cuBLAS.
//
// Math: C[m, n] = alpha * sum_k op(A)[m, k] op(B)[k, n] + beta * C[m, n]; 2MNK flops, and at least
// (MK + KN + MN (+ MN when beta != 0)) elements of memory traffic (gemm_cost()).
//
// Layout: loom is row-major, cuBLAS column-major. A row-major [M, N] matrix with row stride ldc is
// the column-major [N, M] matrix C^T with leading dimension ldc, and C^T = op(B)^T op(A)^T. So we
// ask cuBLAS for the product with the operands swapped: m = N, n = M, first operand B (op from
// trans_b), second operand A (op from trans_a). No data moves; only the roles change.
//
// Precision: A, B and C share one storage type (F32, F16 or BF16), or C is F32 (GemmOut::F32); products accumulate in F32
// (CUBLAS_COMPUTE_32F), or in TF32 tensor cores for F32 when the context's math_mode is AllowTf32.
// alpha and beta are host floats. F64 runs only on the CPU (gemm_cpu), I32 nowhere.
//
// Reference: kernels/gemm/gemm_cpu.cc. Tests: tests/ops/test_ops_matmul.cc, suite "cuda".
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <climits>
#include <cstdint>

#include "core/cuda_context.h"
#include "core/error.h"
#include "kernels/gemm/gemm.h"

namespace loom::kernels {
namespace {

int to_int(std::int64_t v, const char* what) {
  LOOM_CHECK_SHAPE(v >= 0 && v <= INT_MAX, "gemm_cublas: ", what, " = ", v,
                   " does not fit the 32-bit int cuBLAS takes");
  return static_cast<int>(v);
}

cublasOperation_t to_cublas(Transpose t) { return t == Transpose::Yes ? CUBLAS_OP_T : CUBLAS_OP_N; }

// K == 0: the product is empty, so C = beta * C. cuBLAS's handling of k = 0 is not something to
// lean on, so it is done here: a 2-D memset for beta == 0 (C is write-only then and may hold NaN),
// otherwise one scal per row (rows are ldc apart, so they are not one contiguous vector in general).
void scale_c_only(const GemmArgs& a, cudaDataType_t type, std::size_t elem, const CudaContext& ctx) {
  if (a.beta == 1.0f) return;
  const cudaStream_t stream = ctx.stream();
  if (a.beta == 0.0f) {
    LOOM_CUDA_CHECK(cudaMemset2DAsync(a.C, static_cast<std::size_t>(a.ldc) * elem, 0,
                                      static_cast<std::size_t>(a.N) * elem, static_cast<std::size_t>(a.M), stream));
    return;
  }
  cublasHandle_t handle = ctx.cublas();
  const float beta = a.beta;
  char* c = static_cast<char*>(a.C);
  const bool contiguous = a.ldc == a.N;
  const std::int64_t rows = contiguous ? 1 : a.M;
  const int len = to_int(contiguous ? a.M * a.N : a.N, "M * N");
  for (std::int64_t r = 0; r < rows; ++r) {
    LOOM_CUBLAS_CHECK(cublasScalEx(handle, len, &beta, CUDA_R_32F, c + r * a.ldc * elem, type, 1, CUDA_R_32F));
  }
}

}  // namespace

void gemm_cublas(const GemmArgs& a, const CudaContext& ctx) {
  cudaDataType_t type = CUDA_R_32F;
  std::size_t elem = 4;
  switch (a.dtype) {
    case DType::F32: type = CUDA_R_32F; elem = 4; break;
    case DType::F16: type = CUDA_R_16F; elem = 2; break;
    case DType::BF16: type = CUDA_R_16BF; elem = 2; break;
    case DType::F64:
    case DType::I32:
      LOOM_THROW(ShapeError, "gemm_cublas: dtype ", dtype_name(a.dtype),
                 " is not supported on CUDA (f32, f16 and bf16 only; f64 runs on the CPU)");
  }
  // C's type: the operands' (Storage), or F32 (the accumulator kept, for mixed precision).
  const cudaDataType_t c_type = a.out == GemmOut::F32 ? CUDA_R_32F : type;
  const std::size_t c_elem = a.out == GemmOut::F32 ? 4 : elem;
  const int M = to_int(a.M, "M"), N = to_int(a.N, "N"), K = to_int(a.K, "K");
  if (M == 0 || N == 0) return;
  const int ldc = to_int(a.ldc, "ldc");
  LOOM_CHECK_SHAPE(ldc >= N, "gemm_cublas: ldc = ", ldc, " is smaller than N = ", N);
  if (K == 0) {
    scale_c_only(a, c_type, c_elem, ctx);
    return;
  }
  const int lda = to_int(a.lda, "lda"), ldb = to_int(a.ldb, "ldb");
  // Row strides must cover a row: A's rows are K long (No) or M long (Yes), B's N or K.
  LOOM_CHECK_SHAPE(lda >= (a.trans_a == Transpose::No ? K : M), "gemm_cublas: lda = ", lda, " is too small");
  LOOM_CHECK_SHAPE(ldb >= (a.trans_b == Transpose::No ? N : K), "gemm_cublas: ldb = ", ldb, " is too small");

  const cublasComputeType_t compute =
      (a.dtype == DType::F32 && ctx.math_mode == MathMode::AllowTf32) ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                      : CUBLAS_COMPUTE_32F;
  const float alpha = a.alpha, beta = a.beta;
  // C^T [N, M] = op(B)^T [N, K] * op(A)^T [K, M], all column-major views of the row-major buffers.
  LOOM_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), to_cublas(a.trans_b), to_cublas(a.trans_a), N, M, K, &alpha,
                                 a.B, type, ldb, a.A, type, lda, &beta, a.C, c_type, ldc, compute,
                                 CUBLAS_GEMM_DEFAULT));
}

}  // namespace loom::kernels
