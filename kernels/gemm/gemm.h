// kernels/gemm/gemm.h: C = alpha * op(A) * op(B) + beta * C, row-major.
//
// CPU: F32 on oneDNN's dnnl_sgemm or OpenBLAS when the build found them, else the portable blocked
// loops in gemm_portable.cc; F64 on OpenBLAS or the loops (gemm_provider.h).
// CPU BF16: native bf16 (oneDNN's matmul primitive: bf16 operands, F32 accumulation) when oneDNN is
// compiled in and the CPU has AVX512_BF16 or AMX-BF16; otherwise (or LOOM_CPU_BF16=emulate) A and B
// are widened to F32 and C rounded back, and the first such call says so on stderr, once.
// CPU F16: always widened. There is no fast f16 multiply here: the project's CPU has no
// AVX512_FP16, and oneDNN 2.6's CPU matmul refuses f16 operands on it (no implementation found,
// probed with f16 -> f32 and f16 -> f16 destinations).
// CUDA: cublasGemmEx with F32/F16/BF16 operands and F32 accumulation (CUBLAS_COMPUTE_32F; TF32
// only when the context's math_mode is AllowTf32). F64 is CPU only.
// Output type: by default C has the storage type of A and B. With out = GemmOut::F32, A and B are
// F16/BF16 (or F32) and C is F32: the F32 accumulator is written (or, beta != 0, added) without a
// rounding to the low precision, which is what the mixed-precision LSTM and conv1d paths want for
// their pre-activations and weight gradients.
// Row-major on a column-major library: C^T = op(B)^T op(A)^T, so the cuBLAS call swaps A and B.
#pragma once

#include <string>

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

enum class Transpose { No, Yes };

// The type of C: the operands' storage type, or F32 whatever the operands are.
enum class GemmOut { Storage, F32 };

struct GemmArgs {
  Transpose trans_a = Transpose::No, trans_b = Transpose::No;
  std::int64_t M = 0, N = 0, K = 0;  // op(A) is [M, K], op(B) is [K, N], C is [M, N]
  float alpha = 1.0f, beta = 0.0f;   // beta 0: C is write-only (its old contents may be NaN)
  DType dtype = DType::F32;          // storage type of A and B (and of C unless out is F32)
  GemmOut out = GemmOut::Storage;    // F32: C is float (A, B F32, F16 or BF16)
  const void* A = nullptr;           // [M, K] (No) or [K, M] (Yes), row stride lda
  std::int64_t lda = 0;
  const void* B = nullptr;           // [K, N] (No) or [N, K] (Yes), row stride ldb
  std::int64_t ldb = 0;
  void* C = nullptr;                 // [M, N], row stride ldc
  std::int64_t ldc = 0;
};

Cost gemm_cost(const GemmArgs&);  // 2MNK flops; A, B read once, C read (beta != 0) and written

void gemm_cpu(const GemmArgs&);
void gemm_cublas(const GemmArgs&, const CudaContext&);

// What the CPU GEMM runs on and why, e.g. "oneDNN 2.6.3 (dnnl_sgemm, 2 threads) [default]; compiled:
// onednn, openblas, portable" (providers and the choice: kernels/gemm/gemm_provider.h).
std::string cpu_gemm_provider();

// Whether the CPU GEMM that this process will use runs on threads of its own (OpenBLAS's pthreads)
// rather than on the OpenMP pool loom's loops use (oneDNN, the portable loops). Decides the OpenMP
// wait policy at start-up (core/parallel.h), so it reads LOOM_CPU_GEMM as active_cpu_gemm() will,
// but never throws: an invalid LOOM_CPU_GEMM answers true (the cautious policy), and the error
// itself comes from the first GEMM.
bool cpu_gemm_has_own_threads() noexcept;

// Whether CPU BF16 GEMMs run natively (true) or emulated through F32. Throws loom::Error when
// LOOM_CPU_BF16 is invalid or asks for native bf16 this build or CPU cannot run.
bool cpu_bf16_native();
// What CPU BF16 GEMMs run on, one line: "oneDNN 2.6.3 matmul (brg:avx512_core_bf16), native" or
// "emulated through F32: <why>" (or "unusable: <the LOOM_CPU_BF16 error>"); never throws.
std::string cpu_bf16_gemm_provider();

}  // namespace loom::kernels
