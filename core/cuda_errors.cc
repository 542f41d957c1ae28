// core/cuda_errors.cc: the CUDA and cuBLAS halves of the check macros in core/error.h.
// Built only when CUDA is compiled in.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace loom::detail {

void check_cuda(int status, const char* expr, const char* file, int line) {
  if (status == cudaSuccess) return;
  auto err = static_cast<cudaError_t>(status);
  throw_at<CudaError>(file, line, "CUDA error ", cudaGetErrorName(err), " (", cudaGetErrorString(err),
                      ") in ", expr);
}

void check_cuda_launch(const char* file, int line) {
  check_cuda(cudaGetLastError(), "kernel launch", file, line);
  // LOOM_SYNC_CHECK=1 makes asynchronous faults surface at the launch that caused them.
  static const bool sync = [] {
    const char* v = std::getenv("LOOM_SYNC_CHECK");
    return v && std::strcmp(v, "1") == 0;
  }();
  if (sync) check_cuda(cudaDeviceSynchronize(), "kernel execution (LOOM_SYNC_CHECK=1)", file, line);
}

void warn_cuda(int status, const char* expr, const char* file, int line) noexcept {
  if (status == cudaSuccess) return;
  std::fprintf(stderr, "loom: warning: CUDA error %s in %s (at %s:%d)\n",
               cudaGetErrorName(static_cast<cudaError_t>(status)), expr, file, line);
}

void check_cublas(int status, const char* expr, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw_at<CublasError>(file, line, "cuBLAS error ", cublasGetStatusName(static_cast<cublasStatus_t>(status)),
                        " in ", expr);
}

}  // namespace loom::detail
