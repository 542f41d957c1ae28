// kernels/lstm/lstm_cuda_step_gemm.cuh (internal to lstm_cuda_time_loop.cu): the per-step GEMM of
// both directions of a BiLSTM as one cuBLAS call. With D == 2 the step's two GEMMs are one
// cublasGemmBatchedEx of batch 2, whose operand addresses for every step are computed once on the
// device (a pointer table) before the loop; with D == 1 one cublasGemmEx per step.
#pragma once

#include <cublas_v2.h>

#include <cstdint>

#include "core/workspace.h"
#include "kernels/common/launch.cuh"
#include "kernels/lstm/lstm_cuda_time_loop.cuh"  // kMaxDirs

namespace loom::kernels::lstm_cuda {

// The per-step operand addresses of the batched recurrent GEMMs, for every step at once:
// table[(op * T + s) * D + d] for op 0 = A, 1 = B, 2 = C.
struct GemmPtrSpec {
  const char* base[3][kMaxDirs] = {};
  std::int64_t step_bytes[3][kMaxDirs] = {};  // 0: the same address every step
  int reverse[3][kMaxDirs] = {};              // 1: step s sits at T - 1 - s
};

__host__ __device__ inline const char* gemm_ptr(const GemmPtrSpec& p, int op, int d, std::int64_t s, std::int64_t T) {
  const std::int64_t slot = p.reverse[op][d] ? T - 1 - s : s;
  return p.base[op][d] + slot * p.step_bytes[op][d];
}

static __global__ void lstm_gemm_pointer_table_kernel(GemmPtrSpec spec, std::int64_t T, int D, const void** table) {
  const std::int64_t n = 3 * T * D;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const int d = static_cast<int>(i % D);
    const std::int64_t s = (i / D) % T;
    const int op = static_cast<int>(i / (D * T));
    table[i] = gemm_ptr(spec, op, d, s, T);
  }
}

inline cudaDataType_t lstm_cuda_type(DType t) {
  switch (t) {
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

inline cublasComputeType_t lstm_compute_type(DType t, const CudaContext& ctx) {
  return (t == DType::F32 && ctx.math_mode == MathMode::AllowTf32) ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

// One recurrent GEMM shape, in cuBLAS's column-major terms (lstm_fwd_run and lstm_bwd_run give the mapping).
struct StepGemm {
  cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
  int m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  float beta = 0.0f;
  GemmPtrSpec spec;
  const void** table = nullptr;  // device, D == 2 only
};

// The step GEMM(s) of step s: C (F32) = op(A) op(B) (+ C), storage-type operands. D == 1: one
// cublasGemmEx with addresses computed here; D == 2: one cublasGemmBatchedEx over both directions.
inline void lstm_step_gemm(const StepGemm& g, std::int64_t s, std::int64_t T, int D, DType dtype,
                           const CudaContext& ctx) {
  if (g.m == 0 || g.n == 0) return;
  const float alpha = 1.0f;
  const cudaDataType_t type = lstm_cuda_type(dtype);
  const cublasComputeType_t compute = lstm_compute_type(dtype, ctx);
  if (D == 1) {
    LOOM_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), g.ta, g.tb, g.m, g.n, g.k, &alpha, gemm_ptr(g.spec, 0, 0, s, T), type,
                                   g.lda, gemm_ptr(g.spec, 1, 0, s, T), type, g.ldb, &g.beta,
                                   const_cast<char*>(gemm_ptr(g.spec, 2, 0, s, T)), CUDA_R_32F, g.ldc, compute,
                                   CUBLAS_GEMM_DEFAULT));
    return;
  }
  const void* const* a = g.table + (0 * T + s) * D;
  const void* const* b = g.table + (1 * T + s) * D;
  void* const* c = const_cast<void* const*>(g.table + (2 * T + s) * D);
  LOOM_CUBLAS_CHECK(cublasGemmBatchedEx(ctx.cublas(), g.ta, g.tb, g.m, g.n, g.k, &alpha, a, type, g.lda, b, type,
                                        g.ldb, &g.beta, c, CUDA_R_32F, g.ldc, D, compute, CUBLAS_GEMM_DEFAULT));
}

// Fills g.table (D == 2) from g.spec, in memory taken from `ws`.
inline void lstm_make_pointer_table(StepGemm& g, std::int64_t T, int D, const CudaContext& ctx, Workspace& ws) {
  if (D == 1 || T == 0) return;
  g.table = ws.alloc<const void*>(3 * T * D);
  launch<lstm_gemm_pointer_table_kernel>(blocks_for(3 * T * D), kBlock, ctx.stream(), g.spec, T, D, g.table);
  LOOM_CUDA_CHECK_LAUNCH();
}

}  // namespace loom::kernels::lstm_cuda
