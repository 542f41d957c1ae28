// core/cuda_probe_none.cc: what a build without CUDA says about CUDA (core/cuda_probe.cc otherwise).
#include "core/device.h"
#include "core/error.h"
#include "core/storage.h"

namespace loom {

bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_unavailable_reason() { return "this build has no CUDA backend (configured without nvcc)"; }

CudaAllocStats cuda_alloc_stats(int) { LOOM_THROW(NotCompiled, "cuda_alloc_stats: this build has no CUDA backend"); }
void cuda_alloc_release_cached(int) {}

namespace detail {
void fill_cuda_build_info(BuildInfo& info) {
  info.cuda = false;
  info.no_device_reason = cuda_unavailable_reason();
}
}  // namespace detail

}  // namespace loom
