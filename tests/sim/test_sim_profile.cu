// tests/sim/test_sim_profile.cu: the simulator's profile (sim/profile.h) on kernels whose counts can
// be done by hand: one warp of 32 threads, so each load or store instruction is one warp request.
//   coalesced float load      32 consecutive floats = 128 bytes = 4 sectors of 32 bytes
//   stride-32 float load      every lane in its own 128-byte line: 32 sectors
//   shared store, stride 2    words 0, 2, ..., 62: each even bank holds 2 distinct words -> 2-way
//   shared store, stride 32   words 0, 32, ..., 992: all in bank 0 -> 32-way (31 conflicts)
//   three __syncthreads       3 barriers per thread
// Buffers come from cudaMalloc: the profile counts global traffic to device allocations only.
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "sim/launch.h"
#include "sim/profile.h"

TEST_SUITE("sim") {
namespace {

template <auto Kernel, class... Args>
void run(const char* name, unsigned threads, Args... args) {
  auto body = [&] { Kernel(args...); };
  loom::sim::launch(loom::sim::LaunchShape{dim3(1), dim3(threads), 0, nullptr, name}, body);
}

// Profiles the launches of one test from zero, and restores LOOM_SIM_PROFILE's setting after.
struct Profiling {
  bool was_on = loom::sim::profile_on();
  Profiling() {
    loom::sim::set_profile(true);
    loom::sim::profile_reset();
  }
  ~Profiling() {
    loom::sim::profile_reset();
    loom::sim::set_profile(was_on);
  }
  static loom::sim::KernelProfile get(const std::string& kernel) {
    for (const loom::sim::KernelProfile& k : loom::sim::profile_snapshot()) {
      if (k.kernel == kernel) return k;
    }
    FAIL("no profile for kernel " << kernel);
    return {};
  }
};

// A device buffer of n floats, every byte written (so initcheck stays quiet).
struct DeviceFloats {
  float* p = nullptr;
  explicit DeviceFloats(std::size_t n) {
    REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(float)) == cudaSuccess);
    REQUIRE(cudaMemset(p, 0, n * sizeof(float)) == cudaSuccess);
  }
  ~DeviceFloats() { (void)cudaFree(p); }
};

__global__ void copy_coalesced(const float* in, float* out) { out[threadIdx.x] = in[threadIdx.x]; }
__global__ void copy_strided(const float* in, float* out) { out[threadIdx.x] = in[threadIdx.x * 32]; }

__global__ void shared_stride_2(float* out) {
  __shared__ float s[64];
  s[threadIdx.x * 2] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x * 2];
}

__global__ void shared_stride_32(float* out) {
  __shared__ float s[32 * 32];
  s[threadIdx.x * 32] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x * 32];
}

// Plain stores, no `+=`: GCC's instrumentation checks an address once per basic block, so the store
// of a read-modify-write right after its load is not seen (sim/README.md "Profile").
__global__ void three_barriers(float* out) {
  out[threadIdx.x] = 1.0f;
  __syncthreads();
  out[blockDim.x + threadIdx.x] = 2.0f;
  __syncthreads();
  out[2 * blockDim.x + threadIdx.x] = 3.0f;
  __syncthreads();
}

TEST_CASE("sim profile: a coalesced float load is 1 request of 4 sectors") {
  Profiling profiling;
  DeviceFloats in(32), out(32);
  run<copy_coalesced>("copy_coalesced", 32, in.p, out.p);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const loom::sim::KernelProfile k = Profiling::get("copy_coalesced");
  CHECK(k.launches == 1);
  CHECK(k.threads == 32);
  CHECK(k.bytes_read == 128);
  CHECK(k.bytes_written == 128);
  CHECK(k.load_requests == 1);
  CHECK(k.load_sectors == 4);
  CHECK(k.store_requests == 1);
  CHECK(k.store_sectors == 4);
  CHECK(k.shared_requests == 0);
  CHECK(k.barriers == 0);
}

TEST_CASE("sim profile: a stride-32 float load touches 32 sectors") {
  Profiling profiling;
  DeviceFloats in(32 * 32), out(32);
  run<copy_strided>("copy_strided", 32, in.p, out.p);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const loom::sim::KernelProfile k = Profiling::get("copy_strided");
  CHECK(k.bytes_read == 128);  // the same bytes as the coalesced load, 8 times the sectors
  CHECK(k.load_requests == 1);
  CHECK(k.load_sectors == 32);
  CHECK(k.store_sectors == 4);
}

TEST_CASE("sim profile: each warp makes its own request") {
  // Two warps of a 64-thread block, two launches: 4 load requests of 4 sectors.
  Profiling profiling;
  DeviceFloats in(64), out(64);
  run<copy_coalesced>("copy_coalesced", 64, in.p, out.p);
  run<copy_coalesced>("copy_coalesced", 64, in.p, out.p);
  const loom::sim::KernelProfile k = Profiling::get("copy_coalesced");
  CHECK(k.launches == 2);
  CHECK(k.threads == 128);
  CHECK(k.load_requests == 4);  // 2 warps x 2 launches
  CHECK(k.load_sectors == 16);
}

TEST_CASE("sim profile: a stride-2 shared access is a 2-way bank conflict") {
  Profiling profiling;
  DeviceFloats out(32);
  run<shared_stride_2>("shared_stride_2", 32, out.p);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const loom::sim::KernelProfile k = Profiling::get("shared_stride_2");
  CHECK(k.shared_requests == 2);     // the store and the load
  CHECK(k.shared_wavefronts == 4);   // 2 each
  CHECK(k.bank_conflicts == 2);      // 1 each
  CHECK(k.bytes_read == 0);          // shared memory is not global traffic
  CHECK(k.bytes_written == 128);
  CHECK(k.barriers == 32);
}

TEST_CASE("sim profile: a stride-32 shared access is a 32-way bank conflict") {
  Profiling profiling;
  DeviceFloats out(32);
  run<shared_stride_32>("shared_stride_32", 32, out.p);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const loom::sim::KernelProfile k = Profiling::get("shared_stride_32");
  CHECK(k.shared_requests == 2);
  CHECK(k.shared_wavefronts == 64);
  CHECK(k.bank_conflicts == 62);  // 31 per request
}

TEST_CASE("sim profile: three barriers per thread") {
  Profiling profiling;
  DeviceFloats out(3 * 64);
  run<three_barriers>("three_barriers", 64, out.p);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const loom::sim::KernelProfile k = Profiling::get("three_barriers");
  CHECK(k.threads == 64);
  CHECK(k.barriers == 3 * 64);
  CHECK(k.load_requests == 0);
  CHECK(k.store_requests == 3 * 2);  // 3 stores x 2 warps
  CHECK(k.store_sectors == 6 * 4);
  CHECK(k.bytes_written == 3 * 64 * 4);
}

TEST_CASE("sim profile: the table names each kernel once") {
  Profiling profiling;
  DeviceFloats in(32), out(3 * 32);
  run<copy_coalesced>("copy_coalesced", 32, in.p, out.p);
  run<three_barriers>("three_barriers", 32, out.p);
  const std::string table = loom::sim::profile_table(loom::sim::profile_snapshot());
  CHECK(table.find("copy_coalesced") != std::string::npos);
  CHECK(table.find("three_barriers") != std::string::npos);
  CHECK(table.find("bar/thr") != std::string::npos);
}

}  // namespace
}
