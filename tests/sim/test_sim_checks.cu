// tests/sim/test_sim_checks.cu: the simulator's checks (sim/checks.cc) catch each kind of bug they
// are for, and stay silent on the correct twin of each buggy kernel.
//
// Each buggy kernel here has exactly one bug: a write one past the end, a use after free, a
// misaligned load, a read of a fresh allocation, a read of shared memory no thread wrote, a missing
// __syncthreads, a missing __syncwarp. The test asserts the check that must fire (its count and its
// printed report), that the runtime then returns the device fault, and that the twin without the
// bug runs clean. Racecheck compares barrier epochs, not the order fibers ran in, so the races are
// asserted under schedule seeds 0, 1 and 2.
//
// Kernels are launched through loom::sim::launch with a lambda closure (what kernels/common/
// launch.cuh does for loom's own kernels).
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <chrono>
#include <ctime>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/checks.h"
#include "sim/launch.h"

namespace {

using loom::sim::Check;
using loom::sim::fault_count;
using loom::sim::fault_log;

template <class F>
void run(const char* name, dim3 grid, dim3 block, F body) {
  loom::sim::LaunchShape shape;
  shape.grid = grid;
  shape.block = block;
  shape.kernel = name;
  loom::sim::launch(shape, body);
}

// Every test starts with no recorded fault, reports kept off stderr (they go to fault_log()) and
// schedule seed 0 (CI runs the suite under other seeds too; which thread faults first, and so which
// one a report names, depends on the seed), and leaves the device usable and the checks and the
// seed as it found them.
struct Clean {
  std::uint64_t seed = loom::sim::schedule_seed();
  Clean() {
    loom::sim::set_reports_quiet(true);
    loom::sim::set_schedule_seed(0);
    reset();
  }
  ~Clean() {
    reset();
    loom::sim::set_checks("all");
    loom::sim::set_schedule_seed(seed);
    loom::sim::set_reports_quiet(false);
  }
  static void reset() {
    cudaDeviceReset();  // the runtime's sticky fault
    loom::sim::clear_faults();
    cudaGetLastError();
  }
};

bool log_has(const std::string& text) { return fault_log().find(text) != std::string::npos; }

template <class T>
T* device_array(std::size_t n) {
  void* p = nullptr;
  REQUIRE(cudaMalloc(&p, n * sizeof(T)) == cudaSuccess);
  return static_cast<T*>(p);
}

// ---- the kernels: each bug next to its twin ----------------------------------------------------------

__global__ void fill_upto(float* p, int n, bool off_by_one) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (off_by_one ? i <= n : i < n) p[i] = 1.0f;
}

__global__ void copy_kernel(const float* in, float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i];
}

// Reads floats starting `byte_offset` bytes into `in`.
__global__ void load_at_offset(const float* in, float* out, int byte_offset) {
  const auto* src = reinterpret_cast<const float*>(reinterpret_cast<const char*>(in) + byte_offset);
  out[threadIdx.x] = src[threadIdx.x];
}

// Only the first `writers` threads fill their shared slot; every thread reads its own.
__global__ void shared_partly_written(float* out, unsigned writers) {
  __shared__ float s[64];
  if (threadIdx.x < writers) s[threadIdx.x] = static_cast<float>(threadIdx.x);
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = s[threadIdx.x];
}

// Each thread writes its slot and reads its neighbour's (across a warp boundary too).
__global__ void neighbour_exchange(float* out, bool with_barrier) {
  __shared__ float s[64];
  s[threadIdx.x] = static_cast<float>(threadIdx.x);
  if (with_barrier) __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = s[(threadIdx.x + 1) % blockDim.x];
}

// A one-warp tree sum through shared memory, the way code written for lockstep warps does it. A
// template, as most of loom's kernels are: its shared array is then a different kind of symbol.
template <class T>
__global__ void warp_sum(const T* in, T* out, bool with_syncwarp) {
  __shared__ T s[32];
  const unsigned lane = threadIdx.x;
  s[lane] = in[lane];
  if (with_syncwarp) __syncwarp();
  for (unsigned offset = 16; offset > 0; offset /= 2) {
    if (lane < offset) s[lane] += s[lane + offset];
    if (with_syncwarp) __syncwarp();
  }
  if (lane == 0) out[0] = s[0];
}

__global__ void scale(const float* x, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = 2.0f * x[i] + 1.0f;
}

}  // namespace

TEST_SUITE("sim") {

TEST_CASE("sim checks: memcheck finds a write one past the end once per launch and names its thread") {
  Clean clean;
  const int n = 300;  // 2 blocks of 256: thread (44,0,0) of block (1,0,0) is element 300
  float* p = device_array<float>(n);
  run("fill_upto", dim3(2), dim3(256), [&] { fill_upto(p, n, false); });
  CHECK(loom::sim::fault_count_total() == 0);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);

  run("fill_upto", dim3(2), dim3(256), [&] { fill_upto(p, n, true); });
  CHECK(fault_count(Check::memcheck) == 1);
  CHECK(log_has("loom-sim memcheck: invalid global write of 4 bytes"));
  CHECK(log_has("kernel fill_upto block (1,0,0) thread (44,0,0)"));
  CHECK(log_has("address is 0 bytes past the end of allocation #"));
  CHECK(log_has("(1200 bytes at 0x"));
  CHECK(cudaDeviceSynchronize() == cudaErrorIllegalAddress);
  CHECK(cudaGetLastError() == cudaErrorIllegalAddress);  // sticky, as a real device fault
  Clean::reset();
  cudaFree(p);
}

TEST_CASE("sim checks: a fault repeated in a loop prints once and is counted") {
  Clean clean;
  float* p = device_array<float>(16);
  // Each of 32 threads writes past the end (into the 256-byte redzone, where the allocation is still
  // known): one report, 31 repeats summed up at the launch's end.
  run("fill_upto", dim3(1), dim3(32), [&] { fill_upto(p + 16, 32, false); });
  CHECK(fault_count(Check::memcheck) == 32);
  CHECK(log_has("loom-sim memcheck: 31 more like the report at pc 0x"));
  CHECK(log_has(" in this launch of fill_upto\n"));
  std::size_t reports = 0;
  for (std::size_t at = fault_log().find("loom-sim memcheck: invalid"); at != std::string::npos;
       at = fault_log().find("loom-sim memcheck: invalid", at + 1)) {
    ++reports;
  }
  CHECK(reports == 1);
  Clean::reset();
  cudaFree(p);
}

TEST_CASE("sim checks: memcheck finds a use after free") {
  Clean clean;
  const int n = 64;
  float* in = device_array<float>(n);
  float* out = device_array<float>(n);
  REQUIRE(cudaMemset(in, 0, n * sizeof(float)) == cudaSuccess);
  run("copy_kernel", dim3(1), dim3(n), [&] { copy_kernel(in, out, n); });
  CHECK(loom::sim::fault_count_total() == 0);

  REQUIRE(cudaFree(in) == cudaSuccess);
  run("copy_kernel", dim3(1), dim3(n), [&] { copy_kernel(in, out, n); });
  CHECK(fault_count(Check::memcheck) == n);
  CHECK(log_has("loom-sim memcheck: use after free: global read of 4 bytes"));
  CHECK(log_has("address is byte +0 of allocation #"));
  CHECK(log_has(", freed)\n"));
  CHECK(cudaDeviceSynchronize() == cudaErrorIllegalAddress);
  Clean::reset();
  cudaFree(out);
}

TEST_CASE("sim checks: memcheck finds a misaligned load") {
  Clean clean;
  const int n = 32;
  float* in = device_array<float>(n + 1);
  float* out = device_array<float>(n);
  REQUIRE(cudaMemset(in, 0, (n + 1) * sizeof(float)) == cudaSuccess);
  run("load_at_offset", dim3(1), dim3(n), [&] { load_at_offset(in, out, 4); });
  CHECK(loom::sim::fault_count_total() == 0);

  run("load_at_offset", dim3(1), dim3(n), [&] { load_at_offset(in, out, 2); });
  CHECK(fault_count(Check::memcheck) == n);
  CHECK(log_has("loom-sim memcheck: misaligned global read of 4 bytes"));
  CHECK(log_has("is not a multiple of 4 (byte +2 of allocation #"));
  CHECK(cudaDeviceSynchronize() == cudaErrorMisalignedAddress);
  Clean::reset();
  cudaFree(in);
  cudaFree(out);
}

TEST_CASE("sim checks: initcheck finds a read of a fresh cudaMalloc") {
  Clean clean;
  const int n = 100;
  float* in = device_array<float>(n);
  float* out = device_array<float>(n);
  run("copy_kernel", dim3(1), dim3(128), [&] { copy_kernel(in, out, n); });
  CHECK(fault_count(Check::initcheck) == n);
  CHECK(fault_count(Check::memcheck) == 0);
  CHECK(log_has("loom-sim initcheck: global read of 4 bytes at"));
  CHECK(log_has("byte +0 of allocation #"));
  CHECK(log_has("was never written"));
  CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure);
  Clean::reset();

  // The twin: the input written first (by a memset here; a copy or a kernel counts too).
  REQUIRE(cudaMemset(in, 0, n * sizeof(float)) == cudaSuccess);
  run("copy_kernel", dim3(1), dim3(128), [&] { copy_kernel(in, out, n); });
  CHECK(loom::sim::fault_count_total() == 0);
  // What the kernel stored counts as written: a second kernel may read `out`.
  run("copy_kernel", dim3(1), dim3(128), [&] { copy_kernel(out, in, n); });
  CHECK(loom::sim::fault_count_total() == 0);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  cudaFree(in);
  cudaFree(out);
}

TEST_CASE("sim checks: initcheck finds a read of shared memory no thread wrote") {
  Clean clean;
  float* out = device_array<float>(4 * 64);
  run("shared_partly_written", dim3(4), dim3(64), [&] { shared_partly_written(out, 64); });
  CHECK(loom::sim::fault_count_total() == 0);

  // Block 0 of the correct launch filled every slot; the next launch's blocks must not see it.
  run("shared_partly_written", dim3(4), dim3(64), [&] { shared_partly_written(out, 32); });
  CHECK(fault_count(Check::initcheck) == 4 * 32);
  CHECK(fault_count(Check::racecheck) == 0);
  CHECK(log_has("loom-sim initcheck: read of 4 bytes of shared memory at"));
  CHECK(log_has("that no thread of this block wrote"));
  CHECK(log_has("block (0,0,0) thread (32,0,0)"));
  // And fresh shared memory reads as 0xFF bytes (a NaN), as a reminder even with the checks off.
  std::vector<float> host(4 * 64);
  Clean::reset();
  REQUIRE(cudaMemcpy(host.data(), out, host.size() * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(host[31] == 31.0f);
  CHECK(host[32] != host[32]);
  cudaFree(out);
}

TEST_CASE("sim checks: racecheck finds a missing __syncthreads under every seed") {
  Clean clean;
  float* out = device_array<float>(2 * 64);
  for (std::uint64_t seed : {0, 1, 2}) {
    CAPTURE(seed);
    loom::sim::set_schedule_seed(seed);
    run("neighbour_exchange", dim3(2), dim3(64), [&] { neighbour_exchange(out, true); });
    CHECK(loom::sim::fault_count_total() == 0);

    run("neighbour_exchange", dim3(2), dim3(64), [&] { neighbour_exchange(out, false); });
    CHECK(fault_count(Check::racecheck) > 0);
    CHECK(log_has("hazard on shared memory 0x"));
    CHECK(log_has("neighbour_exchange(float*, bool)::s, byte "));
    CHECK(log_has(" with no __syncthreads"));
    CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure);
    Clean::reset();
  }
  // Whichever thread ran first, the report names both sites.
  CHECK(fault_log().empty());
  loom::sim::set_schedule_seed(0);
  run("neighbour_exchange", dim3(1), dim3(64), [&] { neighbour_exchange(out, false); });
  CHECK(log_has("loom-sim racecheck: write-after-read hazard"));  // thread 0 read slot 1 first
  CHECK(log_has("  read at pc 0x"));
  CHECK(log_has("  written at pc 0x"));
  Clean::reset();
  cudaFree(out);
}

TEST_CASE("sim checks: racecheck finds a warp reduction without __syncwarp") {
  Clean clean;
  float* in = device_array<float>(32);
  float* out = device_array<float>(1);
  std::vector<float> host(32);
  for (int i = 0; i < 32; ++i) host[i] = static_cast<float>(i);
  REQUIRE(cudaMemcpy(in, host.data(), sizeof(float) * 32, cudaMemcpyHostToDevice) == cudaSuccess);
  for (std::uint64_t seed : {0, 1, 2}) {
    CAPTURE(seed);
    loom::sim::set_schedule_seed(seed);
    run("warp_sum", dim3(1), dim3(32), [&] { warp_sum<float>(in, out, true); });
    CHECK(loom::sim::fault_count_total() == 0);
    float sum = 0;
    REQUIRE(cudaMemcpy(&sum, out, sizeof sum, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(sum == 496.0f);

    run("warp_sum", dim3(1), dim3(32), [&] { warp_sum<float>(in, out, false); });
    CHECK(fault_count(Check::racecheck) > 0);
    CHECK(log_has("loom-sim racecheck:"));
    CHECK(log_has("warp_sum<float>(float const*, float*, bool)::s, byte "));
    Clean::reset();
  }
  cudaFree(in);
  cudaFree(out);
}

TEST_CASE("sim checks: LOOM_SIM_CHECKS selects the checks") {
  Clean clean;
  CHECK_FALSE(loom::sim::set_checks("memcheck,bogus"));
  CHECK(loom::sim::check_enabled(Check::racecheck));  // a refused spec changes nothing
  REQUIRE(loom::sim::set_checks("initcheck,racecheck"));
  CHECK_FALSE(loom::sim::check_enabled(Check::memcheck));
  CHECK(loom::sim::check_enabled(Check::launch));  // a kernel that throws is always reported
  float* p = device_array<float>(16);
  run("fill_upto", dim3(1), dim3(32), [&] { fill_upto(p, 16, true); });
  CHECK(loom::sim::fault_count_total() == 0);  // the bad write went unchecked
  REQUIRE(loom::sim::set_checks("none"));
  run("copy_kernel", dim3(1), dim3(16), [&] { copy_kernel(p, p, 16); });
  CHECK(loom::sim::fault_count_total() == 0);
  REQUIRE(loom::sim::set_checks("all"));
  CHECK(loom::sim::check_enabled(Check::synccheck));
  cudaFree(p);
}

TEST_CASE("sim checks: a fault reported outside a kernel says so") {
  Clean clean;
  loom::sim::report_fault(Check::initcheck, "cublasGemmEx reads unwritten A\nA is 16 x 16");
  CHECK(fault_count(Check::initcheck) == 1);
  CHECK(log_has("loom-sim initcheck: cublasGemmEx reads unwritten A\n"
                "  on the host (outside a kernel)\n  A is 16 x 16\n"));
  CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure);
}

// The price of the checks, for sim/README.md: run with
//   loom_tests -tc="sim checks: cost*" --no-skip
TEST_CASE("sim checks: cost of the checks on an elementwise kernel" * doctest::skip()) {
  Clean clean;
  const int n = 1 << 20;
  float* x = device_array<float>(n);
  float* y = device_array<float>(n);
  REQUIRE(cudaMemset(x, 0, n * sizeof(float)) == cudaSuccess);
  for (const char* checks : {"none", "all", "none", "all"}) {
    REQUIRE(loom::sim::set_checks(checks));
    // CPU time as well as wall time: on a busy machine only the first is stable.
    const std::clock_t cpu_start = std::clock();
    const auto start = std::chrono::steady_clock::now();
    run("scale", dim3(n / 256), dim3(256), [&] { scale(x, y, n); });
    const std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start;
    const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    MESSAGE("checks=" << std::string(checks) << ": " << cpu_ms << " ms CPU, " << ms.count()
                      << " ms wall for 1M floats (4096 blocks x 256 threads)");
  }
  CHECK(loom::sim::fault_count_total() == 0);
  cudaFree(x);
  cudaFree(y);
}

}  // TEST_SUITE
