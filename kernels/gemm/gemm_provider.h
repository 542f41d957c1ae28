// kernels/gemm/gemm_provider.h (internal): the one seam between gemm_cpu.cc and the libraries that
// do the F32/F64 multiply on the CPU, and (at the end) the BF16 entry points: oneDNN's bf16 matmul
// and the widened emulation.
//
// Several providers can be compiled into one build, one file each, and gemm_provider.cc picks one
// at run time (so a benchmark can compare them in the same build, and `loom doctor` says which):
//   onednn    gemm_onednn.cc    oneDNN's dnnl_sgemm (AVX-512 JIT; F32 only, F64 goes to the next)
//   openblas  gemm_openblas.cc  OpenBLAS's cblas_sgemm / cblas_dgemm
//   portable  gemm_portable.cc  plain blocked loops, always compiled (the GPU machine has no BLAS)
// The default is the first one compiled in that order; LOOM_CPU_GEMM=onednn|openblas|portable
// overrides it. Why oneDNN first: measured on this project's 2-core AVX-512 machine, the conv1d
// training step of the target point (B 64, T 50, C 128, F 100, K 3, fwd+bwd) took
// 3.9 ms with dnnl_sgemm, 8.0 ms with OpenBLAS (the machine's OPENBLAS_CORETYPE=Haswell AVX2
// kernels) and 31 ms with the portable loops, same build, interleaved runs on a loaded machine
// (commands and the table against PyTorch: kernels/conv1d/README.md section 6). The choice is
// fixed for the life of the process, never measured on the fly, because two providers round
// differently and a run must be repeatable.
//
// Contract (row-major, same meaning as GemmArgs): C = alpha * op(A) * op(B) + beta * C with
// op(A) [M, K], op(B) [K, N], C [M, N]. Callers guarantee M, N, K >= 1 and leading dimensions at
// least the stored row length, so a provider never sees an empty or degenerate call.
// beta == 0 means C is write-only: whatever it held (even NaN) must not reach the result.
// Threads: outside an OpenMP parallel region a provider may use loom::num_threads() threads; called
// from inside one it runs on the calling thread only (never nest two pools: on 2 cores
// OpenBLAS threads and OpenMP threads running at once cost ~3x).
#pragma once

#include <cstdint>
#include <string>

#include "kernels/gemm/gemm.h"

namespace loom::kernels::detail {

// What gemm_cpu.cc calls: forwards to the chosen provider.
void sgemm_rowmajor(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                    float beta, float* C, std::int64_t ldc);
void dgemm_rowmajor(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    double alpha, const double* A, std::int64_t lda, const double* B, std::int64_t ldb,
                    double beta, double* C, std::int64_t ldc);

enum class CpuGemm { OneDnn, OpenBlas, Portable };

// Whether a provider was compiled into this build; its name as LOOM_CPU_GEMM spells it.
bool cpu_gemm_compiled(CpuGemm provider);
const char* cpu_gemm_name(CpuGemm provider);
// The provider serving F32 calls in this process (LOOM_CPU_GEMM, else the default above). Throws
// loom::Error naming the valid values when LOOM_CPU_GEMM names an unknown or uncompiled one.
CpuGemm active_cpu_gemm();

// The same contract, per provider (only the compiled ones are defined; oneDNN has no F64).
void onednn_sgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
    const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc);
void openblas_sgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
    const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc);
void openblas_dgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K, double alpha,
    const double* A, std::int64_t lda, const double* B, std::int64_t ldb, double beta, double* C, std::int64_t ldc);
void portable_sgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
    const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc);
void portable_dgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K, double alpha,
    const double* A, std::int64_t lda, const double* B, std::int64_t ldb, double beta, double* C, std::int64_t ldc);

std::string onednn_description();    // "oneDNN 2.6.3 (dnnl_sgemm, 2 threads)"

// ---- BF16 (gemm_cpu.cc routes dtype BF16 here) ----
// native or emulated is core's decision (loom::cpu_bf16_route(), core/cpu_features.h: oneDNN
// compiled in, an AVX512_BF16 / AMX-BF16 CPU, LOOM_CPU_BF16), fixed once per process.
// Same contract as the F32 providers (M, N, K >= 1), dtype BF16, GemmOut::Storage or F32.
void onednn_bf16_gemm(const GemmArgs& a);
// The same without the per-thread primitive cache (a fresh primitive per call): the reference the
// cache is tested against, bit for bit.
void onednn_bf16_gemm_uncached(const GemmArgs& a);
// oneDNN's implementation name for this call's shape ("brg:avx512_core_bf16", "gemm:jit", ...).
std::string onednn_bf16_kernel(const GemmArgs& a);
std::string onednn_version();  // "2.6.3"
// F16 / BF16 through F32: widen A and B, one F32 provider call, round C once (or not: GemmOut::F32).
// Same contract (M, N, K >= 1); the emulated BF16 route and every F16 call.
void gemm_lowp_widened(const GemmArgs& a);
std::string openblas_description();  // "OpenBLAS 0.3.21 (core Haswell, 2 threads)"

}  // namespace loom::kernels::detail
