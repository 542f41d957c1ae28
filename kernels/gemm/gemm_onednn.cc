// kernels/gemm/gemm_onednn.cc: the CPU F32 GEMM provider on oneDNN (Debian's libdnnl-dev), compiled
// when CMake finds it. The default provider when present (why: kernels/gemm/gemm_provider.h).
// Also the native CPU BF16 GEMM (onednn_bf16_gemm, at the end of this file).
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
//
// BF16. oneDNN 2.6's C API has no bf16 gemm entry (no dnnl_gemm_bf16bf16f32), so the bf16 GEMM is
// the matmul primitive: src = op(A) [M, K], weights = op(B) [K, N], dst = C [M, N], each described
// by (dims, strides), which is how a transpose and a leading dimension are said without a copy:
//   op(A) = A     strides {lda, 1}     op(A) = A^T   strides {1, lda}   (same for B with ldb)
//   C             strides {ldc, 1},    type f32 (GemmOut::F32) or bf16 (GemmOut::Storage)
// The products are exact in F32 (8-bit x 8-bit significands) and accumulate in F32 (VDPBF16PS);
// a bf16 C is rounded once, at the end. alpha is the primitive's output scale and beta its sum
// post-op, so dst = alpha * acc + beta * dst, read and rounded once; beta == 0 adds no sum post-op,
// so C stays write-only (a NaN in it never reaches the result).
// Measured on this project's AVX512_BF16 machine (1 thread, A [M, K] x B^T, C f32), dnnl_sgemm
// vs this matmul: M3200 N1024 K128 4113 vs 2121 us; M32 N1024 K256 102 vs 52 us.
// Which kernel oneDNN picks: brg:avx512_core_bf16 for dense operands, gemm:jit (its bf16 JIT gemm)
// for a transposed A or a leading dimension wider than the row; never ref:any on this machine
// (tests/kernels/test_gemm_lowp_cpu.cc checks). The primitive is built per call: oneDNN's
// primitive cache makes a rebuild of a seen shape cost a few microseconds (52 vs 49 us measured).
// Scratchpad: user mode, one thread-local buffer per calling thread, so concurrent callers (the
// LSTM's OpenMP threads) never share one. Threads: as for dnnl_sgemm above; inside an OpenMP
// parallel region the matmul runs on the calling thread (tested and timed in
// tests/kernels/test_gemm_lowp_cpu.cc).
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

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

// ---- BF16: the matmul primitive (layout and numerics: the opening comment) ----------------------

namespace {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::matmul::primitive_desc bf16_matmul_desc(const GemmArgs& a) {
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const dims a_strides = a.trans_a == Transpose::No ? dims{a.lda, 1} : dims{1, a.lda};
  const dims b_strides = a.trans_b == Transpose::No ? dims{a.ldb, 1} : dims{1, a.ldb};
  const dnnl::memory::desc src({a.M, a.K}, dt::bf16, a_strides);
  const dnnl::memory::desc weights({a.K, a.N}, dt::bf16, b_strides);
  const dnnl::memory::desc dst({a.M, a.N}, a.out == GemmOut::F32 ? dt::f32 : dt::bf16, dims{a.ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (a.alpha != 1.0f) attr.set_output_scales(0, {a.alpha});
  if (a.beta != 0.0f) {  // beta == 0: no sum post-op, C is never read
    dnnl::post_ops ops;
    ops.append_sum(a.beta);
    attr.set_post_ops(ops);
  }
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, cpu_engine());
}

std::string shape_text(const GemmArgs& a) {
  return "M " + std::to_string(a.M) + ", N " + std::to_string(a.N) + ", K " + std::to_string(a.K) + ", lda " +
         std::to_string(a.lda) + ", ldb " + std::to_string(a.ldb) + ", ldc " + std::to_string(a.ldc);
}

}  // namespace

void onednn_bf16_gemm(const GemmArgs& a) {
  try {
    const dnnl::matmul::primitive_desc pd = bf16_matmul_desc(a);
    const dnnl::matmul matmul(pd);
    // The scratchpad: 64-byte aligned inside a thread-local buffer that only grows.
    thread_local std::vector<unsigned char> scratch;
    const std::size_t need = pd.scratchpad_desc().get_size();
    if (scratch.size() < need + 64) scratch.resize(need + 64);
    void* aligned = scratch.data() + ((64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64);
    thread_local dnnl::stream stream(cpu_engine());
    const dnnl::engine& e = cpu_engine();
    dnnl::memory src(pd.src_desc(), e, const_cast<void*>(a.A));  // read only: oneDNN's handles are void*
    dnnl::memory weights(pd.weights_desc(), e, const_cast<void*>(a.B));
    dnnl::memory dst(pd.dst_desc(), e, a.C);
    dnnl::memory pad(pd.scratchpad_desc(), e, aligned);
    matmul.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst},
                            {DNNL_ARG_SCRATCHPAD, pad}});
    stream.wait();
  } catch (const dnnl::error& err) {
    LOOM_THROW(Error, std::string("oneDNN bf16 matmul failed: ") + err.what() + " (" + shape_text(a) + ")");
  }
}

std::string onednn_bf16_kernel(const GemmArgs& a) {
  try {
    return bf16_matmul_desc(a).impl_info_str();
  } catch (const dnnl::error& err) {
    return std::string("none (") + err.what() + ")";
  }
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace loom::kernels::detail
