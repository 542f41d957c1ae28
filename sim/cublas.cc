// sim/cublas.cc: the cuBLAS entry points loom calls, computed on the CPU.
//
// Defined against the toolkit's <cublas_v2.h>, so the signatures are the real ones (its macros
// turn cublasCreate into cublasCreate_v2 and so on, here as in loom's code); the SIM build links
// no libcublas.
//
// GEMM: C = alpha op(A) op(B) + beta C, column-major, as cuBLAS defines it. Each operand is
// converted to a dense F32 matrix (op applied), multiplied with F32 accumulation (OpenBLAS's
// sgemm when the build has it, else a plain loop in k order), and C is written back rounded to
// nearest in its own type. beta == 0 means C is not read (it may hold NaN), as documented.
// Precision: compute type CUBLAS_COMPUTE_32F (and _PEDANTIC) uses the inputs as they are;
// _FAST_TF32, or CUBLAS_TF32_TENSOR_OP_MATH on the handle for F32 data, rounds each input to TF32
// (10 mantissa bits, nearest, ties away from zero), _FAST_16F / _FAST_16BF round to half / bf16,
// which is what a tensor-core run does to the operands.
//
// Checks, as a device kernel would get them: every matrix must lie in one live device allocation
// (else a memcheck fault and CUBLAS_STATUS_EXECUTION_FAILED; nothing is computed), every element
// read must have been written (else an initcheck fault; the product is still computed, as a GPU
// would compute with garbage), and the elements of C written are marked written. GemmBatchedEx's
// pointer arrays live in device memory (loom builds them with a kernel) and are checked the same way.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if LOOM_WITH_OPENBLAS
#include <cblas.h>
#endif

#include "sim/memory.h"
#include "sim/state.h"

// The handle: what cuBLAS keeps per handle that changes a result or a check.
struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

namespace loom::sim {
namespace {

std::size_t elem_size(cudaDataType t) {
  switch (t) {
    case CUDA_R_32F: return 4;
    case CUDA_R_16F:
    case CUDA_R_16BF: return 2;
    default: return 0;  // a type the simulator does not serve
  }
}

float load(const void* base, cudaDataType t, std::size_t i) {
  switch (t) {
    case CUDA_R_16F: return __half2float(static_cast<const __half*>(base)[i]);
    case CUDA_R_16BF: return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
    default: return static_cast<const float*>(base)[i];
  }
}

void store(void* base, cudaDataType t, std::size_t i, float v) {
  switch (t) {
    case CUDA_R_16F: static_cast<__half*>(base)[i] = __float2half_rn(v); break;
    case CUDA_R_16BF: static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(v); break;
    default: static_cast<float*>(base)[i] = v; break;
  }
}

// Round to nearest, ties away from zero, keeping 10 mantissa bits (what cvt.rna.tf32.f32 does).
float round_tf32(float v) {
  if (!std::isfinite(v)) return v;
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = (bits + 0x1000u) & 0xFFFFE000u;  // add half of the dropped 13 bits' unit, then truncate
  std::memcpy(&v, &bits, 4);
  return v;
}

// How the inputs are rounded before the F32 multiply.
enum class InputRounding { none, tf32, f16, bf16 };

float round_input(float v, InputRounding r) {
  switch (r) {
    case InputRounding::tf32: return round_tf32(v);
    case InputRounding::f16: return __half2float(__float2half_rn(v));
    case InputRounding::bf16: return __bfloat162float(__float2bfloat16_rn(v));
    case InputRounding::none: break;
  }
  return v;
}

// The checks of one column-major rows x cols matrix with leading dimension ld. Returns false (after
// reporting a memcheck fault) when it is not inside one live device allocation; reports an
// initcheck fault when `read` and some element was never written.
bool check_matrix(const char* fn, const char* which, const void* p, int rows, int cols, int ld, std::size_t elem,
                  bool read) {
  if (rows == 0 || cols == 0) return true;
  const std::size_t span = (static_cast<std::size_t>(cols - 1) * ld + rows) * elem;
  if (find_live(p, span) == nullptr) {
    if (check_enabled(Check::memcheck)) {
      const Allocation* a = find_allocation(p);
      const std::string where = a == nullptr   ? "is not device memory"
                                : !a->live     ? "is in freed allocation #" + std::to_string(a->id)
                                               : "runs past the end of allocation #" + std::to_string(a->id) + " (" +
                                                 std::to_string(a->bytes) + " bytes)";
      char msg[256];
      std::snprintf(msg, sizeof msg, "%s: %s (%d x %d, ld %d, %zu bytes at %p) %s", fn, which, rows, cols, ld, span, p,
                    where.c_str());
      report_fault(Check::memcheck, msg);
    }
    return false;
  }
  if (read && check_enabled(Check::initcheck)) {
    for (int c = 0; c < cols; ++c) {
      const char* col = static_cast<const char*>(p) + static_cast<std::size_t>(c) * ld * elem;
      const void* first = nullptr;
      if (!all_written(col, rows * elem, &first)) {
        const std::size_t index = static_cast<std::size_t>(static_cast<const char*>(first) - col) / elem;
        char msg[256];
        std::snprintf(msg, sizeof msg, "%s reads unwritten %s: element (%zu, %d) at %p was never written", fn, which,
                      index, c, first);
        report_fault(Check::initcheck, msg);
        break;
      }
    }
  }
  return true;
}

void mark_matrix(void* p, int rows, int cols, int ld, std::size_t elem) {
  for (int c = 0; c < cols; ++c) mark_written(static_cast<char*>(p) + static_cast<std::size_t>(c) * ld * elem, rows * elem);
}

// op(X) as a dense row-major rows x cols F32 matrix: out[i * cols + j] = op(X)(i, j), where X is
// column-major with leading dimension ld, so X(r, c) = x[r + c * ld].
void gather(const void* x, cudaDataType t, int ld, bool trans, int rows, int cols, InputRounding r,
            std::vector<float>& out) {
  out.resize(static_cast<std::size_t>(rows) * cols);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      const std::size_t src = trans ? static_cast<std::size_t>(j) + static_cast<std::size_t>(i) * ld
                                    : static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * ld;
      out[static_cast<std::size_t>(i) * cols + j] = round_input(load(x, t, src), r);
    }
  }
}

// acc (m x n, row-major) = a (m x k) b (k x n), accumulated in F32.
void multiply(int m, int n, int k, const std::vector<float>& a, const std::vector<float>& b, std::vector<float>& acc) {
  acc.assign(static_cast<std::size_t>(m) * n, 0.0f);
#if LOOM_WITH_OPENBLAS
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, acc.data(), n);
#else
  for (int i = 0; i < m; ++i) {
    for (int p = 0; p < k; ++p) {
      const float aip = a[static_cast<std::size_t>(i) * k + p];
      const float* brow = &b[static_cast<std::size_t>(p) * n];
      float* crow = &acc[static_cast<std::size_t>(i) * n];
      for (int j = 0; j < n; ++j) crow[j] += aip * brow[j];
    }
  }
#endif
}

// Everything one GEMM call needs, validated once and applied to each batch entry.
struct Gemm {
  const char* fn = "";
  bool ta = false, tb = false;
  int m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  float alpha = 0.0f, beta = 0.0f;
  cudaDataType ab_type = CUDA_R_32F, c_type = CUDA_R_32F;
  InputRounding rounding = InputRounding::none;
};

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// The argument checks cuBLAS documents for its GEMMs, and the type combinations it serves with an
// F32 compute type. Fills g on success.
cublasStatus_t prepare(cublasHandle_t handle, const char* fn, cublasOperation_t transa, cublasOperation_t transb, int m,
                       int n, int k, const void* alpha, cudaDataType a_type, int lda, cudaDataType b_type, int ldb,
                       const void* beta, cudaDataType c_type, int ldc, int batch, cublasComputeType_t compute,
                       Gemm& g) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_op(transa) || !valid_op(transb) || m < 0 || n < 0 || k < 0 || batch < 0 || alpha == nullptr ||
      beta == nullptr)
    return CUBLAS_STATUS_INVALID_VALUE;
  g.fn = fn;
  g.ta = transa != CUBLAS_OP_N;
  g.tb = transb != CUBLAS_OP_N;
  // Rows of the stored A: m (op N) or k (op T); of the stored B: k or n; of C: m.
  if (lda < std::max(1, g.ta ? k : m) || ldb < std::max(1, g.tb ? n : k) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (a_type != b_type || elem_size(a_type) == 0 || elem_size(c_type) == 0) return CUBLAS_STATUS_NOT_SUPPORTED;
  // 16-bit inputs may write C in their own type or in F32; F32 inputs write F32.
  if (a_type == CUDA_R_32F && c_type != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (a_type != CUDA_R_32F && c_type != CUDA_R_32F && c_type != a_type) return CUBLAS_STATUS_NOT_SUPPORTED;
  switch (compute) {
    case CUBLAS_COMPUTE_32F:
      g.rounding = (a_type == CUDA_R_32F && (handle->math & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH) ? InputRounding::tf32
                                                                                              : InputRounding::none;
      break;
    case CUBLAS_COMPUTE_32F_PEDANTIC: g.rounding = InputRounding::none; break;
    case CUBLAS_COMPUTE_32F_FAST_TF32:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
      if (a_type != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;  // the fast modes take F32 data only
      g.rounding = compute == CUBLAS_COMPUTE_32F_FAST_TF32  ? InputRounding::tf32
                   : compute == CUBLAS_COMPUTE_32F_FAST_16F ? InputRounding::f16
                                                            : InputRounding::bf16;
      break;
    default: return CUBLAS_STATUS_NOT_SUPPORTED;  // 16F, 64F and integer compute are not simulated
  }
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = ldc;
  g.ab_type = a_type;
  g.c_type = c_type;
  // Scalars are F32 for an F32 compute type; in device pointer mode they sit in (host-backed)
  // device memory, so reading them is the same load.
  g.alpha = *static_cast<const float*>(alpha);
  g.beta = *static_cast<const float*>(beta);
  return CUBLAS_STATUS_SUCCESS;
}

// One product of the call: checks, multiply, write back. EXECUTION_FAILED after a memcheck fault.
cublasStatus_t run_one(const Gemm& g, const void* A, const void* B, void* C) {
  const std::size_t ab = elem_size(g.ab_type), ce = elem_size(g.c_type);
  const bool reads_ab = g.k > 0 && g.alpha != 0.0f, reads_c = g.beta != 0.0f;
  if (reads_ab) {
    if (!check_matrix(g.fn, "A", A, g.ta ? g.k : g.m, g.ta ? g.m : g.k, g.lda, ab, true)) return CUBLAS_STATUS_EXECUTION_FAILED;
    if (!check_matrix(g.fn, "B", B, g.tb ? g.n : g.k, g.tb ? g.k : g.n, g.ldb, ab, true)) return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  if (!check_matrix(g.fn, "C", C, g.m, g.n, g.ldc, ce, reads_c)) return CUBLAS_STATUS_EXECUTION_FAILED;

  std::vector<float> a, b, acc;
  if (reads_ab) {
    gather(A, g.ab_type, g.lda, g.ta, g.m, g.k, g.rounding, a);
    gather(B, g.ab_type, g.ldb, g.tb, g.k, g.n, g.rounding, b);
    multiply(g.m, g.n, g.k, a, b, acc);
  } else {
    acc.assign(static_cast<std::size_t>(g.m) * g.n, 0.0f);
  }
  for (int j = 0; j < g.n; ++j) {
    for (int i = 0; i < g.m; ++i) {
      const std::size_t at = static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * g.ldc;
      float v = g.alpha * acc[static_cast<std::size_t>(i) * g.n + j];
      if (reads_c) v += g.beta * load(C, g.c_type, at);
      store(C, g.c_type, at, v);
    }
  }
  mark_matrix(C, g.m, g.n, g.ldc, ce);
  return CUBLAS_STATUS_SUCCESS;
}

// Reads a batched call's pointer array (device memory, batch entries) with the checks a kernel
// reading it would get.
bool read_pointer_array(const char* fn, const char* which, const void* const* array, int batch,
                        std::vector<const void*>& out) {
  if (!check_matrix(fn, which, array, batch, 1, std::max(batch, 1), sizeof(void*), true)) return false;
  out.assign(array, array + batch);
  return true;
}

// The vector of a level-1 call (n elements, stride inc) must be one live device range.
bool check_vector(const char* fn, const char* which, const void* x, int n, int inc, std::size_t elem, bool read) {
  return check_matrix(fn, which, x, 1, n, inc, elem, read);
}

}  // namespace
}  // namespace loom::sim

using loom::sim::Gemm;

// ---- handles ------------------------------------------------------------------------------------------

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (stream == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode(cublasHandle_t handle, cublasPointerMode_t* mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}

// cuBLAS would use the buffer as scratch for its kernels; the CPU product needs none.
cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, size_t bytes) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (bytes > 0 && workspace == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  if (value == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {
    case MAJOR_VERSION: *value = CUBLAS_VER_MAJOR; return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUBLAS_VER_MINOR; return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUBLAS_VER_PATCH; return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    default: return cublasGetStatusName(status);
  }
}

// ---- GEMM ---------------------------------------------------------------------------------------------

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  (void)algo;  // every algorithm computes the same product
  Gemm g;
  const cublasStatus_t s = loom::sim::prepare(handle, "cublasGemmEx", transa, transb, m, n, k, alpha, Atype, lda, Btype,
                                              ldb, beta, Ctype, ldc, 1, computeType, g);
  if (s != CUBLAS_STATUS_SUCCESS || m == 0 || n == 0) return s;
  return loom::sim::run_one(g, A, B, C);
}

cublasStatus_t cublasGemmBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                                   int n, int k, const void* alpha, const void* const Aarray[], cudaDataType Atype,
                                   int lda, const void* const Barray[], cudaDataType Btype, int ldb, const void* beta,
                                   void* const Carray[], cudaDataType Ctype, int ldc, int batchCount,
                                   cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  (void)algo;
  Gemm g;
  const char* fn = "cublasGemmBatchedEx";
  const cublasStatus_t s = loom::sim::prepare(handle, fn, transa, transb, m, n, k, alpha, Atype, lda, Btype, ldb, beta,
                                              Ctype, ldc, batchCount, computeType, g);
  if (s != CUBLAS_STATUS_SUCCESS || m == 0 || n == 0 || batchCount == 0) return s;
  std::vector<const void*> a, b, c;
  if (!loom::sim::read_pointer_array(fn, "Aarray", Aarray, batchCount, a) ||
      !loom::sim::read_pointer_array(fn, "Barray", Barray, batchCount, b) ||
      !loom::sim::read_pointer_array(fn, "Carray", const_cast<const void* const*>(Carray), batchCount, c))
    return CUBLAS_STATUS_EXECUTION_FAILED;
  for (int i = 0; i < batchCount; ++i) {
    const cublasStatus_t r = loom::sim::run_one(g, a[i], b[i], const_cast<void*>(c[i]));
    if (r != CUBLAS_STATUS_SUCCESS) return r;
  }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                          int lda, long long int strideA, const void* B, cudaDataType Btype, int ldb,
                                          long long int strideB, const void* beta, void* C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t algo) {
  (void)algo;
  Gemm g;
  const cublasStatus_t s = loom::sim::prepare(handle, "cublasGemmStridedBatchedEx", transa, transb, m, n, k, alpha,
                                              Atype, lda, Btype, ldb, beta, Ctype, ldc, batchCount, computeType, g);
  if (s != CUBLAS_STATUS_SUCCESS || m == 0 || n == 0) return s;
  const std::size_t ab = loom::sim::elem_size(Atype), ce = loom::sim::elem_size(Ctype);
  for (int i = 0; i < batchCount; ++i) {
    const cublasStatus_t r = loom::sim::run_one(g, static_cast<const char*>(A) + i * strideA * ab,
                                                static_cast<const char*>(B) + i * strideB * ab,
                                                static_cast<char*>(C) + i * strideC * ce);
    if (r != CUBLAS_STATUS_SUCCESS) return r;
  }
  return CUBLAS_STATUS_SUCCESS;
}

// ---- level 1 ------------------------------------------------------------------------------------------

// x = alpha x. Per the documentation, n <= 0 or incx <= 0 returns at once.
cublasStatus_t cublasScalEx(cublasHandle_t handle, int n, const void* alpha, cudaDataType alphaType, void* x,
                            cudaDataType xType, int incx, cudaDataType executionType) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (alphaType != CUDA_R_32F || executionType != CUDA_R_32F || loom::sim::elem_size(xType) == 0)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (n <= 0 || incx <= 0) return CUBLAS_STATUS_SUCCESS;
  if (alpha == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  const std::size_t e = loom::sim::elem_size(xType);
  if (!loom::sim::check_vector("cublasScalEx", "x", x, n, incx, e, true)) return CUBLAS_STATUS_EXECUTION_FAILED;
  const float a = *static_cast<const float*>(alpha);
  for (int i = 0; i < n; ++i) {
    const std::size_t at = static_cast<std::size_t>(i) * incx;
    loom::sim::store(x, xType, at, a * loom::sim::load(x, xType, at));
  }
  return CUBLAS_STATUS_SUCCESS;
}

// y = alpha x + y, in F32, rounded once into y's type. n <= 0 returns at once.
cublasStatus_t cublasAxpyEx(cublasHandle_t handle, int n, const void* alpha, cudaDataType alphaType, const void* x,
                            cudaDataType xType, int incx, void* y, cudaDataType yType, int incy,
                            cudaDataType executiontype) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (alphaType != CUDA_R_32F || executiontype != CUDA_R_32F || xType != yType || loom::sim::elem_size(xType) == 0)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (n <= 0) return CUBLAS_STATUS_SUCCESS;
  if (alpha == nullptr || incx <= 0 || incy <= 0) return CUBLAS_STATUS_INVALID_VALUE;  // negative strides: not simulated
  const std::size_t e = loom::sim::elem_size(xType);
  if (!loom::sim::check_vector("cublasAxpyEx", "x", x, n, incx, e, true) ||
      !loom::sim::check_vector("cublasAxpyEx", "y", y, n, incy, e, true))
    return CUBLAS_STATUS_EXECUTION_FAILED;
  const float a = *static_cast<const float*>(alpha);
  for (int i = 0; i < n; ++i) {
    const std::size_t xi = static_cast<std::size_t>(i) * incx, yi = static_cast<std::size_t>(i) * incy;
    loom::sim::store(y, yType, yi, a * loom::sim::load(x, xType, xi) + loom::sim::load(y, yType, yi));
  }
  return CUBLAS_STATUS_SUCCESS;
}
