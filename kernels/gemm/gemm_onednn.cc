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
// (tests/kernels/test_gemm_lowp_cpu.cc checks).
// Primitive cache: building the primitive_desc, the primitive and four dnnl::memory objects costs
// a few microseconds per call even when oneDNN's own primitive cache hits, which matters at
// hidden 128 (the LSTM's per-step recurrent GEMMs are ~12 us of work). So each calling thread
// keeps its own small map from the call's shape key (M, N, K, lda, ldb, ldc, transpositions,
// output type, alpha and beta bits, thread count) to the built primitive and its memory objects; a call only
// points the memory objects at its buffers (set_data_handle) and executes. The cached primitive
// is the one the uncached path builds (same descriptors, same attributes), so the bits are the
// same. Thread-local because the LSTM calls from OpenMP threads and a dnnl::memory must not be
// shared between concurrent executions; bounded (kBf16CacheEntries per thread, cleared when full:
// a training run uses a few dozen shapes, so a clear happens at most a handful of times).
// Scratchpad: user mode, one thread-local buffer per calling thread, so concurrent callers (the
// LSTM's OpenMP threads) never share one. Threads: as for dnnl_sgemm above; inside an OpenMP
// parallel region the matmul runs on the calling thread (tested and timed in
// tests/kernels/test_gemm_lowp_cpu.cc).
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
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


// One thread's cached primitive for one call shape, with its memory objects (their data handles are
// re-pointed on every call).
struct Bf16Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  dnnl::memory src, weights, dst, pad;
  std::size_t scratch_bytes = 0;
};

// Everything bf16_matmul_desc reads: two calls with equal keys build equal primitives. alpha and
// beta go in by bits (equal floats with different bits, 0 and -0, get separate entries: harmless).
struct Bf16Key {
  std::int64_t M, N, K, lda, ldb, ldc;
  std::uint32_t alpha_bits, beta_bits;
  bool trans_a, trans_b, out_f32;
  int threads;  // what oneDNN plans the work split for: 1 inside a parallel region, else the team
  bool operator==(const Bf16Key& o) const {
    return M == o.M && N == o.N && K == o.K && lda == o.lda && ldb == o.ldb && ldc == o.ldc && threads == o.threads &&
           alpha_bits == o.alpha_bits && beta_bits == o.beta_bits && trans_a == o.trans_a &&
           trans_b == o.trans_b && out_f32 == o.out_f32;
  }
};

struct Bf16KeyHash {
  std::size_t operator()(const Bf16Key& k) const {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields
    for (const std::uint64_t x : {std::uint64_t(k.M), std::uint64_t(k.N), std::uint64_t(k.K), std::uint64_t(k.lda),
                                  std::uint64_t(k.ldb), std::uint64_t(k.ldc), std::uint64_t(k.alpha_bits),
                                  std::uint64_t(k.beta_bits), std::uint64_t(k.threads),
                                  std::uint64_t(k.trans_a) | std::uint64_t(k.trans_b) << 1 |
                                      std::uint64_t(k.out_f32) << 2}) {
      h ^= x;
      h *= 1099511628211ull;
    }
    return static_cast<std::size_t>(h);
  }
};

constexpr std::size_t kBf16CacheEntries = 128;  // per thread; see the opening comment

std::uint32_t float_bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// oneDNN fixes a primitive's thread split when it is built (its own primitive cache keys on the
// thread count too): inside a parallel region it plans for 1 thread, outside for the team size.
int onednn_threads() {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

Bf16Key bf16_key(const GemmArgs& a) {
  return Bf16Key{a.M, a.N, a.K, a.lda, a.ldb, a.ldc, float_bits(a.alpha), float_bits(a.beta),
                 a.trans_a == Transpose::Yes, a.trans_b == Transpose::Yes, a.out == GemmOut::F32,
                 onednn_threads()};
}

Bf16Matmul build_bf16_matmul(const GemmArgs& a) {
  const dnnl::engine& e = cpu_engine();
  Bf16Matmul m;
  m.pd = bf16_matmul_desc(a);
  m.prim = dnnl::matmul(m.pd);
  // Null handles for now: every call sets the real ones before executing.
  m.src = dnnl::memory(m.pd.src_desc(), e, nullptr);
  m.weights = dnnl::memory(m.pd.weights_desc(), e, nullptr);
  m.dst = dnnl::memory(m.pd.dst_desc(), e, nullptr);
  m.pad = dnnl::memory(m.pd.scratchpad_desc(), e, nullptr);
  m.scratch_bytes = m.pd.scratchpad_desc().get_size();
  return m;
}

// This thread's entry for the call's shape, built on a miss.
Bf16Matmul& cached_bf16_matmul(const GemmArgs& a) {
  thread_local std::unordered_map<Bf16Key, Bf16Matmul, Bf16KeyHash> cache;
  const Bf16Key key = bf16_key(a);
  const auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= kBf16CacheEntries) cache.clear();
  return cache.emplace(key, build_bf16_matmul(a)).first->second;
}

}  // namespace

void onednn_bf16_gemm(const GemmArgs& a) {
  try {
    Bf16Matmul& m = cached_bf16_matmul(a);
    // The scratchpad: 64-byte aligned inside a thread-local buffer that only grows.
    thread_local std::vector<unsigned char> scratch;
    if (scratch.size() < m.scratch_bytes + 64) scratch.resize(m.scratch_bytes + 64);
    void* aligned = scratch.data() + ((64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64);
    thread_local dnnl::stream stream(cpu_engine());
    m.src.set_data_handle(const_cast<void*>(a.A));  // read only: oneDNN's handles are void*
    m.weights.set_data_handle(const_cast<void*>(a.B));
    m.dst.set_data_handle(a.C);
    m.pad.set_data_handle(aligned);
    // The C call with the arguments in an array: the C++ execute() takes a std::unordered_map,
    // whose nodes cost four allocations per call, and the LSTM makes a call per step and thread.
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, m.src.get()},
                                    {DNNL_ARG_WEIGHTS, m.weights.get()},
                                    {DNNL_ARG_DST, m.dst.get()},
                                    {DNNL_ARG_SCRATCHPAD, m.pad.get()}};
    dnnl::error::wrap_c_api(dnnl_primitive_execute(m.prim.get(), stream.get(), 4, args), "dnnl_primitive_execute");
    stream.wait();
  } catch (const dnnl::error& err) {
    LOOM_THROW(Error, std::string("oneDNN bf16 matmul failed: ") + err.what() + " (" + shape_text(a) + ")");
  }
}

// The uncached path (a fresh primitive and memory objects per call): what the cache must match
// bit for bit (tests/kernels/test_gemm_lowp_cpu.cc compares them).
void onednn_bf16_gemm_uncached(const GemmArgs& a) {
  try {
    const dnnl::matmul::primitive_desc pd = bf16_matmul_desc(a);
    const dnnl::matmul matmul(pd);
    std::vector<unsigned char> scratch(pd.scratchpad_desc().get_size() + 64);
    void* aligned = scratch.data() + ((64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64);
    dnnl::stream stream(cpu_engine());
    const dnnl::engine& e = cpu_engine();
    dnnl::memory src(pd.src_desc(), e, const_cast<void*>(a.A));
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
