// core/cuda_probe.cc: what the CUDA side of this build can see (CUDA builds only;
// core/cuda_probe_none.cc stands in for it otherwise).
//
// A CUDA build must run on machines without a driver or a GPU (CI, most dev machines), so the probe
// never throws: cuda_device_count() turns every runtime error into 0 plus a sentence saying why,
// computed once and cached (the answer cannot change while the process runs).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

#include "core/device.h"

#ifndef LOOM_CUDA_ARCHITECTURES
#define LOOM_CUDA_ARCHITECTURES "unknown"
#endif

namespace loom {
namespace {

struct Probe {
  int count = 0;
  std::string reason;
};

const Probe& probe() {
  static const Probe result = [] {
    Probe p;
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      // Clear the error so a later cudaGetLastError() (the launch check) does not report it.
      (void)cudaGetLastError();
      if (err == cudaErrorInsufficientDriver) {
        // The runtime reports a missing driver and an old one the same way; the version tells them apart.
        int driver = 0;
        if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
        (void)cudaGetLastError();
        p.reason = driver == 0 ? std::string("no CUDA driver (")
                               : "CUDA driver " + std::to_string(driver) + " is older than this build's runtime (";
        p.reason += std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err) + ")";
      } else if (err == cudaErrorNoDevice) {
        p.reason = std::string("driver found but no CUDA device (") + cudaGetErrorName(err) + ")";
      } else {
        p.reason = std::string("CUDA runtime could not list devices (") + cudaGetErrorName(err) + ": " +
                   cudaGetErrorString(err) + ")";
      }
      return p;
    }
    if (count <= 0) {
      p.reason = "driver found but 0 CUDA devices";
      return p;
    }
    p.count = count;
    return p;
  }();
  return result;
}

}  // namespace

bool cuda_compiled() { return true; }

int cuda_device_count() { return probe().count; }

std::string cuda_unavailable_reason() { return probe().reason; }

namespace detail {

void fill_cuda_build_info(BuildInfo& info) {
  info.cuda = true;
  info.cuda_architectures = LOOM_CUDA_ARCHITECTURES;

  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) info.cuda_runtime_version = runtime;
  int driver = 0;
  info.cuda_driver_version = cudaDriverGetVersion(&driver) == cudaSuccess ? driver : 0;
  (void)cudaGetLastError();

  // cublasGetProperty reads the library's own version: no handle, no GPU needed.
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS) {
    info.cublas_version = major * 10000 + minor * 100 + patch;
  }

  info.devices.clear();
  const int count = cuda_device_count();
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      (void)cudaGetLastError();
      continue;
    }
    CudaDeviceInfo d;
    d.name = prop.name;
    d.major = prop.major;
    d.minor = prop.minor;
    d.total_memory = prop.totalGlobalMem;
    d.multiprocessors = prop.multiProcessorCount;
    info.devices.push_back(d);
  }
  info.no_device_reason = cuda_unavailable_reason();
}

}  // namespace detail
}  // namespace loom
