// sim/launch.h: how a kernel launch enters the simulator, and the schedule seed.
//
// kernels/common/launch.cuh turns `launch<kernel>(grid, block, stream, args...)` into a closure that
// calls the kernel with its arguments, and hands it here. The scheduler (scheduler.cc) runs the
// closure once per CUDA thread of the grid, each thread on its own fiber, and returns when the whole
// grid has finished: a launch is synchronous in the simulator.
#pragma once

#include <cuda_runtime_api.h>  // dim3, cudaStream_t (the real toolkit header; host-only is fine)

#include <cstddef>
#include <cstdint>

namespace loom::sim {

struct LaunchShape {
  dim3 grid, block;
  std::size_t dynamic_shared_bytes = 0;
  cudaStream_t stream = nullptr;  // not used: work runs at once, in launch order
  const char* kernel = "";        // named in reports; __PRETTY_FUNCTION__ of the launch helper
};

// Runs body(closure) once per thread of the grid. An invalid shape (more than 1024 threads per block,
// a zero dimension, ...) runs nothing and leaves cudaErrorInvalidConfiguration for
// cudaGetLastError(), as the CUDA runtime does.
void launch(const LaunchShape& shape, void (*body)(void* closure), void* closure);

template <class F>
void launch(const LaunchShape& shape, F& closure) {
  launch(shape, [](void* c) { (*static_cast<F*>(c))(); }, &closure);
}

// The schedule seed. 0: fibers resume in thread order and blocks run in order. N != 0: each round's
// resume order and the block order are drawn from a generator seeded with N, and setting the seed
// restarts that generator, so the same seed gives the same schedule for the same launches.
// The first launch reads LOOM_SIM_SEED unless set_schedule_seed was called before.
void set_schedule_seed(std::uint64_t seed);
std::uint64_t schedule_seed();

// Counters for the speed measurement in sim/README.md and for tests.
struct SchedulerStats {
  std::uint64_t launches = 0;
  std::uint64_t blocks = 0;
  std::uint64_t switches = 0;  // fiber resumptions (each is a switch there and one back)
};
SchedulerStats scheduler_stats();

}  // namespace loom::sim
