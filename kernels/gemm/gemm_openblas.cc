// kernels/gemm/gemm_openblas.cc: the CPU GEMM provider on OpenBLAS (compiled when CMake finds it;
// gemm_provider.cc decides at run time which compiled provider serves the calls).
//
// Math: C = alpha * op(A) * op(B) + beta * C, row-major (kernels/gemm/gemm_cpu.cc derives the
// backward). OpenBLAS's CBLAS interface takes row-major directly (CblasRowMajor), so the call is
// a one-to-one translation; beta == 0 makes OpenBLAS write C without reading it.
//
// Threads. OpenBLAS keeps its own thread pool. On 2 cores, OpenBLAS threads
// and the engine's OpenMP threads running at the same time cost ~3x, so the engine owns the
// count: outside a parallel region OpenBLAS runs on loom::num_threads() threads; inside one (an
// OpenMP kernel calling GEMM per thread) it runs single-threaded. openblas_set_num_threads is
// called only when the wanted count differs from the last one set, because it takes a lock and
// may wake or park the pool.
//
// Cost: 2 M N K flops; memory as gemm_cost(). Measured here: a 2048^3 sgemm on 2 threads reaches
// ~196 GFLOP/s with the Haswell kernels (OPENBLAS_CORETYPE=Haswell), ~358 with SKYLAKEX.
// Portable twin: gemm_portable.cc. GPU twin: gemm_cublas.cc. Tests: tests/ops/test_ops_matmul.cc.
#include <atomic>
#include <mutex>
#include <sstream>
#include <string>

#include <cblas.h>
#include <omp.h>

#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_provider.h"

namespace loom::kernels {

namespace {

// The thread count last given to OpenBLAS (0: not set yet, so the first call always sets it).
std::atomic<int> g_blas_threads{0};
std::mutex g_blas_threads_mutex;

void use_blas_threads() {
  const int want = omp_in_parallel() ? 1 : loom::num_threads();
  if (g_blas_threads.load(std::memory_order_relaxed) == want) return;
  std::lock_guard<std::mutex> lock(g_blas_threads_mutex);
  if (g_blas_threads.load(std::memory_order_relaxed) != want) {
    openblas_set_num_threads(want);
    g_blas_threads.store(want, std::memory_order_relaxed);
  }
}

CBLAS_TRANSPOSE to_cblas(Transpose t) { return t == Transpose::Yes ? CblasTrans : CblasNoTrans; }

}  // namespace

namespace detail {

void openblas_sgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                    float beta, float* C, std::int64_t ldc) {
  use_blas_threads();
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<blasint>(M),
              static_cast<blasint>(N), static_cast<blasint>(K), alpha, A, static_cast<blasint>(lda), B,
              static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

void openblas_dgemm(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    double alpha, const double* A, std::int64_t lda, const double* B, std::int64_t ldb,
                    double beta, double* C, std::int64_t ldc) {
  use_blas_threads();
  cblas_dgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<blasint>(M),
              static_cast<blasint>(N), static_cast<blasint>(K), alpha, A, static_cast<blasint>(lda), B,
              static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}


std::string openblas_description() {
  // openblas_get_config() reads like "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... Haswell ...":
  // the first two words are the name and version.
  std::istringstream config(openblas_get_config());
  std::string name, version;
  config >> name >> version;
  use_blas_threads();  // report the count GEMM calls will actually use
  std::ostringstream os;
  os << name << ' ' << version << " (core " << openblas_get_corename() << ", " << openblas_get_num_threads()
     << (openblas_get_num_threads() == 1 ? " thread)" : " threads)");
  return os.str();
}

}  // namespace detail


}  // namespace loom::kernels
