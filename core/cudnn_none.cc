// core/cudnn_none.cc: stands in for core/cudnn_support.cc in builds without cuDNN.
#include "core/device.h"
#include "core/error.h"

namespace loom {

bool cudnn_compiled() { return false; }

namespace detail {

void check_cudnn(int, const char* expr, const char* file, int line) {
  throw_at<NotCompiled>(file, line, "cuDNN is not compiled into this build (", expr, ")");
}

long cudnn_runtime_version() { return 0; }

}  // namespace detail
}  // namespace loom
