// ops/build_info.cc: fills core's BuildInfo, adding what only the kernels floor knows.
#include "ops/build_info.h"

#include "core/parallel.h"
#include "kernels/gemm/gemm.h"

namespace loom {

BuildInfo build_info() {
  BuildInfo info;
  detail::fill_cuda_build_info(info);
  info.cudnn = cudnn_compiled();
  info.cudnn_version = detail::cudnn_runtime_version();
  info.blas = kernels::cpu_gemm_provider();
  info.threads = num_threads();
  info.openmp_wait = openmp_wait_policy_text();
  return info;
}

bool cpu_gemm_has_own_threads() noexcept { return kernels::cpu_gemm_has_own_threads(); }

}  // namespace loom
