// ops/build_info.h: the build matrix of `loom doctor` and the test banner: CUDA, cuDNN, devices,
// the CPU GEMM provider, the thread count and the OpenMP wait policy. The struct and its text live
// in core/device.h; it is filled here because the CPU GEMM provider is chosen by kernels/gemm, a
// floor above core.
#pragma once

#include "core/device.h"

namespace loom {

BuildInfo build_info();

// kernels::cpu_gemm_has_own_threads() for the floors above ops (tools/loom.cc's start-up choice of
// the OpenMP wait policy, core/parallel.h).
bool cpu_gemm_has_own_threads() noexcept;

}  // namespace loom
