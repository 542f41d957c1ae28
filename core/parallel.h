// core/parallel.h: the engine owns one CPU thread count.
//
// CPU kernels parallelize with OpenMP over num_threads() threads when the work is large enough;
// BLAS calls run BLAS-threaded outside parallel regions and single-threaded inside them, never
// both, because OpenBLAS's threads and ours fighting over 2 cores costs 3x.
// LOOM_NUM_THREADS overrides the default (all cores). The OpenMP wait policy matters as much, and
// which one is right depends on the CPU GEMM (ensure_openmp_wait_policy below).
#pragma once

#include <cstdint>
#include <string>

namespace loom {

int num_threads();
void set_num_threads(int n);

// Call first thing in main(). OpenMP threads that spin after a parallel loop keep their core for
// a while (libgomp's default: about 300,000 spins, then sleep); threads that sleep at once
// (OMP_WAIT_POLICY=passive) must be woken through the kernel at the next loop.
//   - gemm_has_own_threads (OpenBLAS; ops/build_info.h asks kernels/gemm): spinning OpenMP
//     threads take the cores from OpenBLAS's pthreads in the GEMM after a loop (an LSTM with a
//     loop and a BLAS-threaded GEMM per step: 500 ms spinning vs 96 ms passive, 2 cores). So
//     when OMP_WAIT_POLICY is unset this sets it to passive and starts the program again (libgomp
//     reads the variable once, when it loads, so setting it later does nothing).
//   - otherwise (oneDNN, the default, and the portable loops run on the same OpenMP pool): nothing
//     is changed, and libgomp's default applies. On this project's 2-core VM, where waking a
//     sleeping thread is a futex call through the hypervisor, one training step ran 3-20% faster
//     than passive (lstm, bilstm, cnn, lstm-cnn; fp32 and bf16; more in bf16, whose casts are many
//     short loops): bench/results/2026-12-07-cpu-openmp-wait.md.
// A policy the user set (OMP_WAIT_POLICY or GOMP_SPINCOUNT) is always kept. Returns unless it
// restarts the program; a failed restart runs on with libgomp's default.
void ensure_openmp_wait_policy(char** argv, bool gemm_has_own_threads);

// The wait policy this process runs with, for `loom doctor` and benchmark headers:
// "OMP_WAIT_POLICY=passive", "GOMP_SPINCOUNT=...", or "libgomp's default (spin, then sleep)".
std::string openmp_wait_policy_text();

// Below this many scalar operations a loop runs on one thread: a fork/join costs ~1-5 us.
constexpr std::int64_t kParallelGrain = 1 << 15;

}  // namespace loom
