// kernels/common/kernel_header.h: what every kernel family header includes: DType, GradMode, and the
// CudaContext name (declared only; kernel headers never include CUDA headers).
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/grad_mode.h"

namespace loom {
class CudaContext;
}  // namespace loom
