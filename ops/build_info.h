// ops/build_info.h: the build matrix of `loom doctor` and the test banner: CUDA, cuDNN, devices,
// the CPU GEMM provider and the thread count. The struct and its text live in core/device.h; it is
// filled here because the CPU GEMM provider is chosen by kernels/gemm, a floor above core.
#pragma once

#include "core/device.h"

namespace loom {

BuildInfo build_info();

}  // namespace loom
