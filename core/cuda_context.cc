// core/cuda_context.cc: one stream, lazy library handles and a scratch workspace per device.
//
// Everything loom does on a device is ordered on that device's one non-blocking stream, which is
// what lets the caching allocator and the workspace reuse memory without events: work queued later
// on the same stream cannot start before earlier work has finished with a buffer.
//
// Contexts are created on first use and deliberately never destroyed: tensors held in statics
// may free memory during exit, and CUDA's own teardown order at exit is unspecified, so a context
// that outlives everything is the only safe one. ~CudaContext exists for completeness and only
// logs errors.
#include "core/cuda_context.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#if LOOM_WITH_CUDNN
#include <cudnn.h>
#endif

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "core/storage.h"

namespace loom {
namespace {

// Guards the lazy members of every context (handles, workspace). Leaked so it outlives statics.
std::mutex& lazy_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}

// Makes `device` current for a scope and restores the caller's device afterwards, so creating a
// handle or growing a workspace never changes which device the calling thread is on.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    LOOM_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) LOOM_CUDA_CHECK(cudaSetDevice(device));
    else previous_ = -1;
  }
  ~DeviceScope() {
    if (previous_ >= 0) LOOM_CUDA_WARN(cudaSetDevice(previous_));
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

std::size_t round_up(std::size_t n, std::size_t granule) { return (n + granule - 1) / granule * granule; }

}  // namespace

CudaContext::CudaContext(int device) : device_(device) {
  LOOM_CUDA_CHECK(cudaSetDevice(device));
  // Non-blocking: loom's stream never serializes with the legacy default stream that other
  // libraries in the process may use.
  cudaStream_t stream = nullptr;
  LOOM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  stream_ = stream;
}

CudaContext::~CudaContext() {
  LOOM_CUDA_WARN(cudaSetDevice(device_));
  if (cublas_) {
    const cublasStatus_t status = cublasDestroy(cublas_);
    if (status != CUBLAS_STATUS_SUCCESS)
      std::fprintf(stderr, "loom: warning: cublasDestroy failed: %s\n", cublasGetStatusName(status));
  }
#if LOOM_WITH_CUDNN
  if (cudnn_) {
    const cudnnStatus_t status = cudnnDestroy(cudnn_);
    if (status != CUDNN_STATUS_SUCCESS)
      std::fprintf(stderr, "loom: warning: cudnnDestroy failed: %s\n", cudnnGetErrorString(status));
  }
#endif
  if (workspace_) LOOM_CUDA_WARN(cudaFree(workspace_));
  if (stream_) LOOM_CUDA_WARN(cudaStreamDestroy(stream_));
}

cublasContext* CudaContext::cublas() const {
  std::lock_guard<std::mutex> lock(lazy_mutex());
  if (!cublas_) {
    DeviceScope scope(device_);
    cublasHandle_t handle = nullptr;
    LOOM_CUBLAS_CHECK(cublasCreate(&handle));
    const cublasStatus_t status = cublasSetStream(handle, stream_);
    if (status != CUBLAS_STATUS_SUCCESS) {
      cublasDestroy(handle);
      LOOM_CUBLAS_CHECK(status);
    }
    cublas_ = handle;
  }
  return cublas_;
}

cudnnContext* CudaContext::cudnn() const {
#if LOOM_WITH_CUDNN
  std::lock_guard<std::mutex> lock(lazy_mutex());
  if (!cudnn_) {
    DeviceScope scope(device_);
    cudnnHandle_t handle = nullptr;
    LOOM_CUDNN_CHECK(cudnnCreate(&handle));
    const cudnnStatus_t status = cudnnSetStream(handle, stream_);
    if (status != CUDNN_STATUS_SUCCESS) {
      cudnnDestroy(handle);
      LOOM_CUDNN_CHECK(status);
    }
    cudnn_ = handle;
  }
  return cudnn_;
#else
  LOOM_THROW(NotCompiled, "CudaContext::cudnn: cuDNN is not compiled into this build (reconfigure with "
                          "cuDNN found, e.g. -DLOOM_CUDNN_ROOT=...)");
#endif
}

void* CudaContext::workspace(std::size_t bytes) const {
  std::lock_guard<std::mutex> lock(lazy_mutex());
  if (bytes <= workspace_bytes_) return workspace_;
  // Grow by at least half again, in whole MiB, so a run of slightly larger requests does not
  // reallocate every time.
  const std::size_t want = round_up(std::max(bytes, workspace_bytes_ + workspace_bytes_ / 2), std::size_t{1} << 20);
  DeviceScope scope(device_);
  if (workspace_) {
    // Kernels queued earlier on the stream may still be reading the old buffer.
    LOOM_CUDA_CHECK(cudaStreamSynchronize(stream_));
    LOOM_CUDA_CHECK(cudaFree(workspace_));
    workspace_ = nullptr;
    workspace_bytes_ = 0;
  }
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, want);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // not sticky; clear it so the next launch check does not see it
    cuda_alloc_release_cached(device_);
    err = cudaMalloc(&ptr, bytes);
    if (err == cudaSuccess) {
      workspace_ = ptr;
      workspace_bytes_ = bytes;
      return workspace_;
    }
    (void)cudaGetLastError();
    LOOM_THROW(CudaError, "CudaContext::workspace: out of memory on cuda:", device_, " asking for ", bytes,
               " bytes of scratch (", cudaGetErrorName(err), ")");
  }
  LOOM_CUDA_CHECK(err);
  workspace_ = ptr;
  workspace_bytes_ = want;
  return workspace_;
}

void CudaContext::synchronize() const { LOOM_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

CudaContext& cuda_context(int index) {
  // Leaked on purpose (see the file comment): no destructor runs at exit.
  static std::mutex* mutex = new std::mutex;
  static std::vector<CudaContext*>* contexts = new std::vector<CudaContext*>;

  const int count = cuda_device_count();
  if (count == 0)
    LOOM_THROW(NoDevice, "cuda:", index, " requested but no CUDA device is usable: ", cuda_unavailable_reason());
  if (index < 0 || index >= count)
    LOOM_THROW(NoDevice, "cuda:", index, " does not exist: this machine has ", count, " CUDA device(s)");

  CudaContext* ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(*mutex);
    if (contexts->size() < static_cast<std::size_t>(count)) contexts->resize(count, nullptr);
    CudaContext*& slot = (*contexts)[index];
    if (!slot) slot = new CudaContext(index);
    ctx = slot;
  }
  // Kernels are launched on ctx->stream(), which belongs to device `index`: make it current.
  int current = -1;
  LOOM_CUDA_CHECK(cudaGetDevice(&current));
  if (current != index) LOOM_CUDA_CHECK(cudaSetDevice(index));
  return *ctx;
}

}  // namespace loom
