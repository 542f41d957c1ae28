// sim/profile.h: the simulator's profile (LOOM_SIM_PROFILE=1): per kernel, what the code asks of
// memory, counted from every load and store the compiler instrumentation shows sim/checks.cc.
//
// These are counts, not timings: how many bytes a kernel moves, how well a warp's accesses fall
// into 32-byte sectors (coalescing), how many shared-memory bank conflicts it makes, how many
// barriers each thread passes. sim/README.md ("Profile") explains each column.
//
// The first half is for users (tests, bench/sim_profile.cc); the second half is the hooks the
// scheduler and the checks call. Only plain types here, like sim/state.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/state.h"

namespace loom::sim {

// What one kernel (by name) did over all its launches since the last profile_reset().
struct KernelProfile {
  std::string kernel;              // as the launch helper names it
  std::uint64_t launches = 0;
  Index3 grid, block;              // of the last launch
  std::uint64_t threads = 0;       // CUDA threads run, over all launches
  // Global memory: accesses to device allocations (cudaMalloc), never the stack or host memory.
  std::uint64_t bytes_read = 0, bytes_written = 0;
  std::uint64_t load_requests = 0, load_sectors = 0;    // warp requests and the 32-byte sectors they touch
  std::uint64_t store_requests = 0, store_sectors = 0;
  // Shared memory: warp requests, and the wavefronts (passes over the 32 banks) they need beyond
  // the fewest their size allows (a conflict-free 4-byte request: 1 wavefront, 0 conflicts).
  std::uint64_t shared_requests = 0, shared_wavefronts = 0, bank_conflicts = 0;
  std::uint64_t barriers = 0;      // __syncthreads passed, summed over threads
};

// On when LOOM_SIM_PROFILE=1 (read at the first launch) or after set_profile(true).
void set_profile(bool on);
bool profile_on();

std::vector<KernelProfile> profile_snapshot();  // sorted by kernel name
void profile_reset();                           // forget everything counted so far
// The table, one line per kernel, as profile_print() writes it.
std::string profile_table(const std::vector<KernelProfile>& kernels);
// Writes the table to LOOM_SIM_PROFILE_FILE when set, else to stderr. With LOOM_SIM_PROFILE=1 it
// also runs at process exit.
void profile_print();

// "loom::kernels::(anonymous namespace)::lstm_fwd<float>" -> "lstm_fwd<float>".
std::string short_kernel_name(const std::string& kernel);

// ---- hooks (scheduler.cc, checks.cc) ------------------------------------------------------------

// True while a profiled launch runs: the one branch a kernel's access pays when profiling is off.
extern bool g_profile_active;

void profile_launch_begin(const char* kernel, Index3 grid, Index3 block);
void profile_launch_end();
// Every instrumented access while a CUDA thread runs (before the checks look at it).
void profile_access(std::uintptr_t addr, std::size_t size, bool is_write, std::uintptr_t pc);
// A __syncthreads released `threads` threads: every warp's pending requests are complete.
void profile_barrier(unsigned threads);
// A warp operation of warp `warp` completed: that warp's pending requests are complete.
void profile_warp_sync(unsigned warp);
// The running block finished (every thread exited or the block was abandoned).
void profile_block_end();

}  // namespace loom::sim
