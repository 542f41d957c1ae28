// sim/state.h: the contract between the simulator's parts (read sim/README.md first).
//
//   scheduler.cc  runs a launch: blocks one after another, every CUDA thread a fiber. It owns the
//                 ThreadState of the running fiber and the block's shared memory.
//   memory.cc     device allocations (cudaMalloc on host memory), their redzones, the freed list,
//                 and the "written" shadow that initcheck reads.
//   checks.cc     the per-access callbacks the compiler inserts into kernel code (memcheck,
//                 initcheck, racecheck) and the one place a fault is reported.
//   runtime.cc    the CUDA runtime entry points; it turns a recorded fault into the error codes
//                 cudaGetLastError() and the synchronizing calls return.
//
// Only plain types here, so every part can include it without the CUDA headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loom::sim {

struct Index3 {
  unsigned x = 0, y = 0, z = 0;
};

// One CUDA thread while its fiber runs. The scheduler updates it at every switch.
struct ThreadState {
  const char* kernel = "";     // the kernel's name, as the launch helper gave it
  Index3 block, thread;        // blockIdx, threadIdx
  Index3 block_dim, grid_dim;  // blockDim, gridDim
  unsigned linear = 0;         // x + y*blockDim.x + z*blockDim.x*blockDim.y
  unsigned warp = 0, lane = 0;  // linear / 32, linear % 32
  std::uint64_t barrier_epoch = 0;  // how many __syncthreads this thread's block has passed
  std::uint64_t warp_epoch = 0;     // how many warp-level syncs (shuffle, vote, __syncwarp) this lane passed
  const char* stack_lo = nullptr;   // this fiber's stack: accesses here are private, never checked
  const char* stack_hi = nullptr;
};

// The running CUDA thread, or nullptr on the host (outside a kernel). Defined in scheduler.cc.
const ThreadState* current_thread();

// The shared memory of the running block: [lo, hi). Defined in scheduler.cc.
struct Span {
  char* lo = nullptr;
  char* hi = nullptr;
  bool contains(const void* p) const { return p >= lo && p < hi; }
};
Span shared_memory();

// ---- device allocations (memory.cc) --------------------------------------------------------------
struct Allocation {
  char* base = nullptr;   // what cudaMalloc returned
  std::size_t bytes = 0;  // what was asked for
  std::uint64_t id = 0;   // 1, 2, 3... in cudaMalloc order (reports name it)
  bool live = true;       // false once cudaFree'd (kept a while to catch use after free)
};
// The allocation whose [base - redzone, base + bytes + redzone) holds p (live or recently freed),
// or nullptr. The caller compares p against base/bytes/live to tell in-bounds from a fault.
const Allocation* find_allocation(const void* p);
void mark_written(const void* p, std::size_t bytes);  // host copies, memsets, library calls, kernel stores
// True when every byte of [p, p+bytes) was written since its allocation; else *first = first unwritten.
bool all_written(const void* p, std::size_t bytes, const void** first);

// ---- checks (checks.cc) ----------------------------------------------------------------------------
enum class Check { memcheck, initcheck, racecheck, synccheck, launch };
// Prints "loom-sim <check>: <message>" with the kernel, block and thread of current_thread(), and
// records the fault. The runtime reports the first recorded fault from cudaGetLastError() and the
// synchronizing calls (sticky, as a real device fault is).
void report_fault(Check check, const std::string& message);
bool check_enabled(Check check);  // LOOM_SIM_CHECKS (default: all on)
// The cudaError_t of the first fault recorded since the previous call (0 = none), and forgets it.
// runtime.cc polls it from cudaGetLastError() and the synchronizing calls and keeps it sticky there
// (until cudaDeviceReset(), which tests that provoke faults call).
int take_sticky_fault();
// Hooks the scheduler calls so checks.cc can reset its per-block state (racecheck shadow, poisoned
// shared memory) and count per-launch statistics.
void checks_launch_begin(const char* kernel);
void checks_block_begin();
void checks_launch_end();

}  // namespace loom::sim

namespace loom::sim {
// runtime.cc: a non-sticky error for the next cudaGetLastError() (e.g. cudaErrorInvalidConfiguration
// from a launch with 2048 threads per block). The value is a cudaError_t.
void set_last_error(int cuda_error);
}  // namespace loom::sim
