// core/parallel.h: the engine owns one CPU thread count.
//
// CPU kernels parallelize with OpenMP over num_threads() threads when the work is large enough;
// BLAS calls run BLAS-threaded outside parallel regions and single-threaded inside them, never
// both, because OpenBLAS's threads and ours fighting over 2 cores costs 3x.
// LOOM_NUM_THREADS overrides the default (all cores). OMP_WAIT_POLICY=passive matters as much:
// OpenMP threads that spin after a loop take the cores from OpenBLAS's threads in the next GEMM
// (tools/loom.cc sets it before libgomp reads it; the ctest registration sets it for the tests).
#pragma once

#include <cstdint>

namespace loom {

int num_threads();
void set_num_threads(int n);

// Call first thing in main(): when OMP_WAIT_POLICY is unset, sets it to passive and starts the
// program again (libgomp reads the variable once, when it loads, so setting it later does
// nothing). Spinning OpenMP threads take both cores from OpenBLAS's threads in the GEMM after a
// parallel loop: LSTM fwd+bwd measured 500 ms spinning vs 96 ms passive on 2 cores. A policy the
// user set is kept. Returns normally (without restarting) only when the policy is already set
// or the restart failed.
void ensure_passive_openmp_wait(char** argv);

// Below this many scalar operations a loop runs on one thread: a fork/join costs ~1-5 us.
constexpr std::int64_t kParallelGrain = 1 << 15;

}  // namespace loom
