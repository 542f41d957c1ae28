// tests/sim/test_sim_exec.cu: the simulator's execution model (sim/README.md), proven with small
// kernels: indices on 3-D grids, __syncthreads, shuffles and votes against CUDA's documented answers,
// atomics, deadlocks and partial masks reported as synccheck, and the schedule seed.
//
// Kernels are launched through sim::launch directly (not kernels/common/launch.cuh), so these tests
// depend on the scheduler alone. Device memory is plain host memory here: the kernels' buffers are
// std::vector or static arrays, which the checks treat as host memory and leave alone.
#include <doctest/doctest.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "sim/checks.h"
#include "sim/launch.h"

TEST_SUITE("sim") {
namespace {

using loom::sim::Check;

template <auto Kernel, class... Args>
void run(const char* name, dim3 grid, dim3 block, Args... args) {
  auto body = [&] { Kernel(args...); };
  loom::sim::launch(loom::sim::LaunchShape{grid, block, 0, nullptr, name}, body);
}

// Faults these tests provoke on purpose: keep stderr quiet, and leave no sticky error behind.
struct ExpectFaults {
  ExpectFaults() {
    loom::sim::clear_faults();
    loom::sim::set_reports_quiet(true);
  }
  ~ExpectFaults() {
    loom::sim::set_reports_quiet(false);
    loom::sim::clear_faults();
    (void)cudaDeviceReset();
    (void)cudaGetLastError();
  }
};

// Restores the seed the run started with (LOOM_SIM_SEED), so CI's seeded passes stay seeded.
struct SeedGuard {
  std::uint64_t saved = loom::sim::schedule_seed();
  ~SeedGuard() { loom::sim::set_schedule_seed(saved); }
};

// ---- indices -----------------------------------------------------------------------------------

__global__ void record_indices(unsigned* out, unsigned* count) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned global = block * (blockDim.x * blockDim.y * blockDim.z) + thread;
  // Each thread writes its coordinates; a second visit would double the count.
  out[global * 6 + 0] = threadIdx.x;
  out[global * 6 + 1] = threadIdx.y;
  out[global * 6 + 2] = threadIdx.z;
  out[global * 6 + 3] = blockIdx.x;
  out[global * 6 + 4] = blockIdx.y;
  out[global * 6 + 5] = blockIdx.z;
  atomicAdd(&count[global], 1u);
}

TEST_CASE("sim: every thread of a 3-D grid of 3-D blocks runs once with its own indices") {
  const dim3 grid(3, 2, 2), block(4, 3, 5);  // 60 threads: a full warp and a partial one
  const unsigned blocks = 12, threads = 60;
  std::vector<unsigned> out(blocks * threads * 6, 99), count(blocks * threads, 0);
  run<record_indices>("record_indices", grid, block, out.data(), count.data());
  REQUIRE(cudaGetLastError() == cudaSuccess);
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 2; ++by)
      for (unsigned bx = 0; bx < 3; ++bx)
        for (unsigned tz = 0; tz < 5; ++tz)
          for (unsigned ty = 0; ty < 3; ++ty)
            for (unsigned tx = 0; tx < 4; ++tx) {
              const unsigned g = (bx + 3 * (by + 2 * bz)) * threads + tx + 4 * (ty + 3 * tz);
              CHECK(count[g] == 1);
              CHECK(out[g * 6 + 0] == tx);
              CHECK(out[g * 6 + 1] == ty);
              CHECK(out[g * 6 + 2] == tz);
              CHECK(out[g * 6 + 3] == bx);
              CHECK(out[g * 6 + 4] == by);
              CHECK(out[g * 6 + 5] == bz);
            }
}

TEST_CASE("sim: an invalid launch shape runs nothing and reports cudaErrorInvalidConfiguration") {
  std::vector<unsigned> out(6 * 2048, 0), count(2048, 0);
  run<record_indices>("record_indices", dim3(1), dim3(2048), out.data(), count.data());
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  run<record_indices>("record_indices", dim3(0), dim3(32), out.data(), count.data());
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  run<record_indices>("record_indices", dim3(1), dim3(1, 1, 65), out.data(), count.data());
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  CHECK(std::accumulate(count.begin(), count.end(), 0u) == 0);
}

// ---- __syncthreads -------------------------------------------------------------------------------

// Reverses 256 values through shared memory: without the barrier, thread i would read slot
// 255 - i before its owner wrote it (thread order runs thread i to completion first).
__global__ void reverse_block(const int* in, int* out) {
  __shared__ int tile[256];
  const unsigned i = threadIdx.x;
  tile[i] = in[blockIdx.x * 256 + i];
  __syncthreads();
  out[blockIdx.x * 256 + i] = tile[255 - i];
}

TEST_CASE("sim: __syncthreads orders shared memory (a block-wide reversal in 4 blocks)") {
  std::vector<int> in(1024), out(1024, -1);
  std::iota(in.begin(), in.end(), 0);
  run<reverse_block>("reverse_block", dim3(4), dim3(256), in.data(), out.data());
  REQUIRE(cudaGetLastError() == cudaSuccess);
  for (int b = 0; b < 4; ++b)
    for (int i = 0; i < 256; ++i) CHECK(out[b * 256 + i] == b * 256 + 255 - i);
}

// Threads that return early no longer count toward a __syncthreads (as on sm_70 and later).
__global__ void barrier_after_early_exit(int* out) {
  __shared__ int tile[64];
  if (threadIdx.x >= 32) return;
  tile[threadIdx.x] = static_cast<int>(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = tile[31 - threadIdx.x];
}

TEST_CASE("sim: exited threads do not count toward __syncthreads") {
  std::vector<int> out(64, -1);
  run<barrier_after_early_exit>("barrier_after_early_exit", dim3(1), dim3(64), out.data());
  REQUIRE(cudaGetLastError() == cudaSuccess);
  for (int i = 0; i < 32; ++i) CHECK(out[i] == 31 - i);
}

// ---- shuffles and votes -----------------------------------------------------------------------------

// out[k * 64 + t]: the k-th probe of thread t (two warps, to prove warps are separate).
__global__ void shuffle_probes(int* out, float* fout, double* dout) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int t = static_cast<int>(threadIdx.x);
  const int v = 100 * t;
  out[0 * 64 + t] = __shfl_xor_sync(0xffffffffu, v, 1);
  out[1 * 64 + t] = __shfl_xor_sync(0xffffffffu, v, 16, 16);  // later segment: own value
  out[2 * 64 + t] = __shfl_up_sync(0xffffffffu, v, 3);
  out[3 * 64 + t] = __shfl_up_sync(0xffffffffu, v, 3, 8);
  out[4 * 64 + t] = __shfl_down_sync(0xffffffffu, v, 5);
  out[5 * 64 + t] = __shfl_down_sync(0xffffffffu, v, 5, 8);
  out[6 * 64 + t] = __shfl_sync(0xffffffffu, v, 7);
  out[7 * 64 + t] = __shfl_sync(0xffffffffu, v, 9, 4);  // source 9 % 4 = 1 of each 4-lane segment
  out[8 * 64 + t] = static_cast<int>(__ballot_sync(0xffffffffu, lane % 3 == 0));
  out[9 * 64 + t] = __any_sync(0xffffffffu, t == 40);
  out[10 * 64 + t] = __all_sync(0xffffffffu, lane < 31);
  out[11 * 64 + t] = __all_sync(0xffffffffu, v >= 0);
  fout[t] = __shfl_xor_sync(0xffffffffu, 0.5f * static_cast<float>(t), 2);
  dout[t] = __shfl_down_sync(0xffffffffu, 0.25 * t, 1);
  // A reduction as kernels/common/launch.cuh writes it: every lane ends with the warp's sum.
  float s = static_cast<float>(t);
  for (int offset = 16; offset > 0; offset >>= 1) s += __shfl_xor_sync(0xffffffffu, s, offset);
  fout[64 + t] = s;
}

TEST_CASE("sim: shuffles (xor/up/down/idx with width) and votes give CUDA's answers") {
  std::vector<int> out(12 * 64, -1);
  std::vector<float> fout(128, -1);
  std::vector<double> dout(64, -1);
  run<shuffle_probes>("shuffle_probes", dim3(1), dim3(64), out.data(), fout.data(), dout.data());
  REQUIRE(cudaGetLastError() == cudaSuccess);
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, base = t - lane;
    auto value = [&](int l) { return 100 * (base + l); };
    INFO("thread " << t);
    CHECK(out[0 * 64 + t] == value(lane ^ 1));
    CHECK(out[1 * 64 + t] == ((lane ^ 16) > (lane | 15) ? value(lane) : value(lane ^ 16)));
    CHECK(out[2 * 64 + t] == (lane >= 3 ? value(lane - 3) : value(lane)));
    CHECK(out[3 * 64 + t] == (lane % 8 >= 3 ? value(lane - 3) : value(lane)));
    CHECK(out[4 * 64 + t] == (lane + 5 < 32 ? value(lane + 5) : value(lane)));
    CHECK(out[5 * 64 + t] == (lane % 8 + 5 < 8 ? value(lane + 5) : value(lane)));
    CHECK(out[6 * 64 + t] == value(7));
    CHECK(out[7 * 64 + t] == value((lane & ~3) + 1));
    CHECK(static_cast<unsigned>(out[8 * 64 + t]) == 0x49249249u);  // lanes 0, 3, 6, ..., 30
    CHECK(out[9 * 64 + t] == (t >= 32 ? 1 : 0));                    // only thread 40's warp
    CHECK(out[10 * 64 + t] == 0);
    CHECK(out[11 * 64 + t] == 1);
    CHECK(fout[t] == 0.5f * static_cast<float>(base + (lane ^ 2)));
    CHECK(dout[t] == 0.25 * (lane < 31 ? t + 1 : t));
    CHECK(fout[64 + t] == static_cast<float>(32 * base + 496));  // sum of base..base+31
  }
}

// Every type the kernels shuffle: the bits come through unchanged.
__global__ void shuffle_types(long long* wide, unsigned long long* uwide, __half* h, __nv_bfloat16* b) {
  const unsigned t = threadIdx.x;
  wide[t] = __shfl_xor_sync(0xffffffffu, -(1ll << 40) - static_cast<long long>(t), 3);
  uwide[t] = __shfl_sync(0xffffffffu, (1ull << 63) + t, 31 - static_cast<int>(t));
  h[t] = __shfl_down_sync(0xffffffffu, __float2half_rn(static_cast<float>(t)), 1);
  b[t] = __shfl_up_sync(0xffffffffu, __float2bfloat16_rn(static_cast<float>(t)), 1);
}

TEST_CASE("sim: shuffles carry 64-bit integers and __half and __nv_bfloat16") {
  std::vector<long long> wide(32);
  std::vector<unsigned long long> uwide(32);
  std::vector<__half> h(32);
  std::vector<__nv_bfloat16> b(32);
  run<shuffle_types>("shuffle_types", dim3(1), dim3(32), wide.data(), uwide.data(), h.data(), b.data());
  REQUIRE(cudaGetLastError() == cudaSuccess);
  for (int t = 0; t < 32; ++t) {
    CHECK(wide[t] == -(1ll << 40) - (t ^ 3));
    CHECK(uwide[t] == (1ull << 63) + static_cast<unsigned>(31 - t));
    CHECK(__half2float(h[t]) == static_cast<float>(t < 31 ? t + 1 : t));
    CHECK(__bfloat162float(b[t]) == static_cast<float>(t > 0 ? t - 1 : t));
  }
}

// A shuffle in a partial last warp (48 threads: lanes 16..31 of warp 1 do not exist) with the full
// mask reads only lanes that exist.
__global__ void partial_warp_sum(int* out) {
  int v = static_cast<int>(threadIdx.x);
  for (int offset = 8; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset, 16);
  out[threadIdx.x] = v;
}

TEST_CASE("sim: a full-mask shuffle in a partial last warp involves the lanes that exist") {
  std::vector<int> out(48, -1);
  run<partial_warp_sum>("partial_warp_sum", dim3(1), dim3(48), out.data());
  REQUIRE(cudaGetLastError() == cudaSuccess);
  CHECK(out[0] == 120);        // 0 + ... + 15
  CHECK(out[32] == 32 * 16 + 120);  // 32 + ... + 47
}

// ---- atomics --------------------------------------------------------------------------------------

__global__ void atomic_counts(int* total, float* ftotal, unsigned* maxima) {
  atomicAdd(total, 1);
  atomicAdd(ftotal, 0.5f);
  atomicMax(maxima, blockIdx.x * 1000 + threadIdx.x);
}

TEST_CASE("sim: atomicAdd from 8 blocks of 128 threads counts every thread") {
  int total = 0;
  float ftotal = 0;
  unsigned maximum = 0;
  run<atomic_counts>("atomic_counts", dim3(8), dim3(128), &total, &ftotal, &maximum);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  CHECK(total == 1024);
  CHECK(ftotal == 512.0f);
  CHECK(maximum == 7127u);
}

// ---- synccheck ---------------------------------------------------------------------------------------

// Threads 0..199 take the branch with the barrier; 200..255 shuffle with the full mask, which names
// lanes 0..7 of their warp (threads 192..199), stuck at the barrier: neither can complete.
__global__ void barrier_in_branch(int* out) {
  if (threadIdx.x < 200) {
    __syncthreads();
    out[threadIdx.x] = 1;
  } else {
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 2, 1);
  }
}

TEST_CASE("sim: a __syncthreads in a branch not taken by every thread is reported as synccheck without a hang") {
  ExpectFaults guard;
  std::vector<int> out(256, 0);
  run<barrier_in_branch>("barrier_in_branch", dim3(2), dim3(256), out.data());
  CHECK(cudaGetLastError() != cudaSuccess);
  CHECK(loom::sim::fault_count(Check::synccheck) >= 1);
  CHECK(loom::sim::fault_log().find("deadlock") != std::string::npos);
}

// Lanes 0..15 shuffle with the full mask; lanes 16..31 never reach a shuffle (they exit).
__global__ void partial_mask_shuffle(int* out) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (lane < 16) out[lane] = __shfl_xor_sync(0xffffffffu, lane, 1);
}

TEST_CASE("sim: a shuffle whose mask names lanes that did not arrive is reported as synccheck") {
  ExpectFaults guard;
  std::vector<int> out(32, -1);
  run<partial_mask_shuffle>("partial_mask_shuffle", dim3(1), dim3(32), out.data());
  CHECK(cudaGetLastError() != cudaSuccess);
  CHECK(loom::sim::fault_count(Check::synccheck) >= 1);
  CHECK(loom::sim::fault_log().find("lanes 16..31, which exited") != std::string::npos);
}

// The mask names lanes 0..15 only, but lane 20 calls the shuffle too.
__global__ void mask_without_caller(int* out) {
  out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, static_cast<int>(threadIdx.x), 1);
}

TEST_CASE("sim: a warp operation whose mask does not include the caller is reported as synccheck") {
  ExpectFaults guard;
  std::vector<int> out(32, -1);
  run<mask_without_caller>("mask_without_caller", dim3(1), dim3(32), out.data());
  CHECK(cudaGetLastError() != cudaSuccess);
  CHECK(loom::sim::fault_count(Check::synccheck) >= 1);
}

// A kernel's exception stops the launch and is reported, never unwound across fibers.
__global__ void throwing_kernel(int* out) {
  if (blockIdx.x == 1 && threadIdx.x == 5) throw std::runtime_error("thrown on purpose");
  __syncthreads();
  atomicAdd(out, 1);
}

TEST_CASE("sim: an exception thrown inside a kernel is reported and abandons the launch") {
  ExpectFaults guard;
  int count = 0;
  run<throwing_kernel>("throwing_kernel", dim3(4), dim3(64), &count);
  CHECK(cudaGetLastError() != cudaSuccess);
  CHECK(loom::sim::fault_count(Check::launch) == 1);
  // Thread order: block 0 finishes, block 1 stops at the throw, blocks 2 and 3 never run. A seeded
  // block order runs a different number of whole blocks first.
  CHECK(count % 64 == 0);
  CHECK(count < 256);
  // The fibers are reusable afterwards.
  count = 0;
  loom::sim::clear_faults();
  (void)cudaDeviceReset();
  run<throwing_kernel>("throwing_kernel", dim3(1), dim3(64), &count);
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(count == 64);
}

// ---- the schedule seed ------------------------------------------------------------------------------

__global__ void arrival_order(unsigned* order, unsigned* next) {
  order[(*next)++] = blockIdx.x * blockDim.x + threadIdx.x;  // one OS thread: no atomic needed
  __syncthreads();
  order[(*next)++] = blockIdx.x * blockDim.x + threadIdx.x;
}

std::vector<unsigned> arrivals(std::uint64_t seed) {
  loom::sim::set_schedule_seed(seed);
  std::vector<unsigned> order(2 * 4 * 64, 0);
  unsigned next = 0;
  run<arrival_order>("arrival_order", dim3(4), dim3(64), order.data(), &next);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  return order;
}

TEST_CASE("sim: LOOM_SIM_SEED changes the resume and block order, one seed repeats its order") {
  SeedGuard guard;
  const std::vector<unsigned> in_order = arrivals(0);
  for (unsigned b = 0; b < 4; ++b)
    for (unsigned r = 0; r < 2; ++r)
      for (unsigned t = 0; t < 64; ++t) CHECK(in_order[b * 128 + r * 64 + t] == b * 64 + t);
  const std::vector<unsigned> one = arrivals(1), one_again = arrivals(1), two = arrivals(2);
  CHECK(one == one_again);
  CHECK(one != two);
  CHECK(one != in_order);
  std::vector<unsigned> sorted = one;
  std::sort(sorted.begin(), sorted.end());
  for (unsigned i = 0; i < 256; ++i) CHECK(sorted[2 * i] == i);  // every thread arrived twice
}

// Assumes a lockstep warp: lane i reads lane i-1's slot with no __syncwarp in between. Thread order
// happens to run lane i-1 first; a seeded schedule does not.
__global__ void lockstep_assumption(int* out) {
  __shared__ int slot[32];
  const unsigned lane = threadIdx.x;
  slot[lane] = static_cast<int>(lane) + 1;
  out[lane] = lane == 0 ? 0 : slot[lane - 1];
}

TEST_CASE("sim: code that assumes lockstep warps fails under a nonzero seed") {
  SeedGuard seed_guard;
  ExpectFaults guard;  // racecheck may report it as well; the wrong answer is what this test wants
  std::vector<int> out(32, -1);
  loom::sim::set_schedule_seed(1);
  run<lockstep_assumption>("lockstep_assumption", dim3(1), dim3(32), out.data());
  bool all_right = true;
  for (int i = 0; i < 32; ++i) all_right = all_right && out[i] == i;
  CHECK_FALSE(all_right);
}

// ---- speed ------------------------------------------------------------------------------------------

// The README's measurement: 2 blocks x 64 threads, 2 barriers, a 5-step shuffle reduction.
__global__ void speed_kernel(float* out) {
  __shared__ float tile[64];
  tile[threadIdx.x] = static_cast<float>(threadIdx.x);
  __syncthreads();
  float v = tile[63 - threadIdx.x];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  __syncthreads();
  if (threadIdx.x % 32 == 0) out[blockIdx.x * 2 + threadIdx.x / 32] = v;
}

TEST_CASE("sim: launch and fiber-switch speed (printed, see sim/README.md)") {
  std::vector<float> out(4, 0);
  const int launches = 3000;
  const auto before = loom::sim::scheduler_stats();
  // CPU time, not wall time: CI machines are shared, and the number goes into the README.
  const std::clock_t t0 = std::clock();
  for (int i = 0; i < launches; ++i) run<speed_kernel>("speed_kernel", dim3(2), dim3(64), out.data());
  const double seconds = static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  const auto after = loom::sim::scheduler_stats();
  REQUIRE(cudaGetLastError() == cudaSuccess);
  CHECK(out[0] == 1520.0f);  // lanes 0..31 read 63..32: (32 + 63) * 16
  const double switches = static_cast<double>(after.switches - before.switches);
  std::printf("loom-sim speed: %.0f launches/s, %.1f M fiber switches/s (%.0f resumptions per launch), CPU time\n",
              launches / seconds, switches / seconds / 1e6, switches / launches);
}

}  // namespace
}  // TEST_SUITE("sim")
