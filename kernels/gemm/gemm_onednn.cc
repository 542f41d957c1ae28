// kernels/gemm/gemm_onednn.cc: the CPU F32 GEMM provider on oneDNN (Debian's libdnnl-dev), compiled
// when CMake finds it. The default provider when present (why: kernels/gemm/gemm_provider.h).
//
// Math: C = alpha * op(A) * op(B) + beta * C, row-major. dnnl_sgemm takes row-major operands and
// 'N'/'T' flags directly, so the call is a one-to-one translation. oneDNN JIT-compiles an AVX-512
// (or AVX2) kernel for the CPU it finds at run time, which is why it beats OpenBLAS's kernels here.
//
// Threads: oneDNN's CPU runtime is OpenMP (the same libgomp as loom's kernels); outside a parallel
// region it uses omp_get_max_threads(), which loom::set_num_threads() sets, and inside one it runs
// on the calling thread (it checks omp_in_parallel), as the provider contract asks.
//
// Cost: 2 M N K flops; memory as gemm_cost(). oneDNN has no F64 GEMM: F64 calls (gradient checks)
// go to OpenBLAS or the portable loops (gemm_provider.cc).
#include <sstream>
#include <string>

#include <oneapi/dnnl/dnnl.h>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm_provider.h"

namespace loom::kernels::detail {

void onednn_sgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
                  const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
                  std::int64_t ldc) {
  const dnnl_status_t status = dnnl_sgemm(trans_a == Transpose::Yes ? 'T' : 'N', trans_b == Transpose::Yes ? 'T' : 'N',
                                          M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  LOOM_CHECK(status == dnnl_success, "dnnl_sgemm failed with status " + std::to_string(static_cast<int>(status)) +
                                         " (M " + std::to_string(M) + ", N " + std::to_string(N) + ", K " +
                                         std::to_string(K) + ")");
}

std::string onednn_description() {
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream os;
  os << "oneDNN " << v->major << '.' << v->minor << '.' << v->patch << " (dnnl_sgemm, " << loom::num_threads()
     << (loom::num_threads() == 1 ? " thread)" : " threads)");
  return os.str();
}

}  // namespace loom::kernels::detail
