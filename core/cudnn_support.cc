// core/cudnn_support.cc: cuDNN's part of the error macros and of the build report.
// Built only when cuDNN is found (core/cudnn_none.cc otherwise).
#include <cudnn.h>

#include "core/device.h"
#include "core/error.h"

namespace loom {

bool cudnn_compiled() { return true; }

namespace detail {

void check_cudnn(int status, const char* expr, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw_at<CudnnError>(file, line, "cuDNN error ", cudnnGetErrorString(static_cast<cudnnStatus_t>(status)),
                       " in ", expr);
}

long cudnn_runtime_version() { return static_cast<long>(cudnnGetVersion()); }

}  // namespace detail
}  // namespace loom
