// kernels/gemm/gemm_provider.cc: picks the CPU GEMM provider once per process and forwards to it
// (the providers and the reasons for the default order: kernels/gemm/gemm_provider.h).
// LOOM_WITH_ONEDNN / LOOM_WITH_OPENBLAS are private definitions from CMakeLists.txt; this is the
// one file that knows which providers exist.
#include <cstdlib>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_provider.h"

namespace loom::kernels {

namespace detail {

bool cpu_gemm_compiled(CpuGemm provider) {
  switch (provider) {
    case CpuGemm::OneDnn: return LOOM_WITH_ONEDNN;
    case CpuGemm::OpenBlas: return LOOM_WITH_OPENBLAS;
    case CpuGemm::Portable: return true;
  }
  return false;
}

const char* cpu_gemm_name(CpuGemm provider) {
  switch (provider) {
    case CpuGemm::OneDnn: return "onednn";
    case CpuGemm::OpenBlas: return "openblas";
    case CpuGemm::Portable: return "portable";
  }
  return "?";
}

namespace {

CpuGemm choose_cpu_gemm() {
  const CpuGemm all[] = {CpuGemm::OneDnn, CpuGemm::OpenBlas, CpuGemm::Portable};
  const char* wanted = std::getenv("LOOM_CPU_GEMM");
  if (wanted == nullptr || *wanted == '\0') {
    for (CpuGemm p : all)
      if (cpu_gemm_compiled(p)) return p;
  }
  std::string valid;
  for (CpuGemm p : all) {
    if (!cpu_gemm_compiled(p)) continue;
    if (std::string(wanted) == cpu_gemm_name(p)) return p;
    valid += (valid.empty() ? "" : ", ") + std::string(cpu_gemm_name(p));
  }
  LOOM_THROW(Error, "LOOM_CPU_GEMM=" + std::string(wanted) + " names no CPU GEMM provider compiled into this build (" +
                        valid + ")");
}

}  // namespace

CpuGemm active_cpu_gemm() {
  static const CpuGemm chosen = choose_cpu_gemm();  // thread-safe once-only initialization
  return chosen;
}

void sgemm_rowmajor(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    float alpha, const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta,
                    float* C, std::int64_t ldc) {
  switch (active_cpu_gemm()) {
#if LOOM_WITH_ONEDNN
    case CpuGemm::OneDnn: return onednn_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
#if LOOM_WITH_OPENBLAS
    case CpuGemm::OpenBlas: return openblas_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
    default: return portable_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

// F64 serves the gradient checks only: OpenBLAS when compiled (oneDNN has no F64), else the loops.
void dgemm_rowmajor(Transpose trans_a, Transpose trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    double alpha, const double* A, std::int64_t lda, const double* B, std::int64_t ldb, double beta,
                    double* C, std::int64_t ldc) {
#if LOOM_WITH_OPENBLAS
  if (active_cpu_gemm() != CpuGemm::Portable)
    return openblas_dgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
  portable_dgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace detail

bool cpu_gemm_has_own_threads() noexcept {
  try {
    return detail::active_cpu_gemm() == detail::CpuGemm::OpenBlas;
  } catch (...) {  // an invalid LOOM_CPU_GEMM: the first GEMM reports it
    return true;
  }
}

bool cpu_bf16_native() {
  const CpuBf16Route& c = cpu_bf16_route();
  if (!c.error.empty()) LOOM_THROW(Error, c.error);
  return c.native;
}

std::string cpu_bf16_gemm_provider() {
  const CpuBf16Route& c = cpu_bf16_route();
  if (!c.error.empty()) return "unusable: " + c.error;
  if (!c.native) return "emulated through F32: " + c.why;
#if LOOM_WITH_ONEDNN
  // The kernel oneDNN picks for a representative dense shape (an LSTM step: [64, 256] x [256, 1024]^T).
  GemmArgs g;
  g.M = 64, g.N = 1024, g.K = 256;
  g.trans_b = Transpose::Yes;
  g.dtype = DType::BF16;
  g.out = GemmOut::F32;
  g.lda = 256, g.ldb = 256, g.ldc = 1024;
  return "oneDNN " + detail::onednn_version() + " matmul (" + detail::onednn_bf16_kernel(g) + "), native";
#else
  return "native";  // unreachable: native needs oneDNN
#endif
}

std::string cpu_gemm_provider() {
  using namespace detail;
  const CpuGemm p = active_cpu_gemm();
  std::string text;
  switch (p) {
#if LOOM_WITH_ONEDNN
    case CpuGemm::OneDnn: text = onednn_description(); break;
#endif
#if LOOM_WITH_OPENBLAS
    case CpuGemm::OpenBlas: text = openblas_description(); break;
#endif
    default: text = "portable loops"; break;
  }
  text += std::getenv("LOOM_CPU_GEMM") ? " [LOOM_CPU_GEMM]" : " [default]";
  std::string compiled;
  for (CpuGemm q : {CpuGemm::OneDnn, CpuGemm::OpenBlas, CpuGemm::Portable})
    if (cpu_gemm_compiled(q)) compiled += (compiled.empty() ? "" : ", ") + std::string(cpu_gemm_name(q));
  return text + "; compiled: " + compiled;
}

}  // namespace loom::kernels
