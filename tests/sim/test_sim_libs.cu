// tests/sim/test_sim_libs.cu: the simulator's libraries answer as the real ones do: the CUDA
// runtime (errors, device properties, copies and memsets, streams, events), cuBLAS's GEMMs
// against a double-precision loop, WMMA's mma against a loop (with TF32's rounding visible),
// CUB's BlockReduce and DeviceRadixSort.
//
// GEMM and WMMA inputs are small integers (or chosen bit patterns), so every product and sum is
// exact in F32: the F32 results are compared exactly, 16-bit outputs against the exact value
// rounded once, and a TF32 difference cannot hide inside a tolerance.
#include <doctest/doctest.h>

#include <cub/block/block_reduce.cuh>
#include <cub/device/device_radix_sort.cuh>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "sim/checks.h"
#include "sim/launch.h"

namespace {

namespace wmma = nvcuda::wmma;

template <class F>
void run(const char* name, dim3 grid, dim3 block, F body) {
  loom::sim::LaunchShape shape;
  shape.grid = grid;
  shape.block = block;
  shape.kernel = name;
  loom::sim::launch(shape, body);
}

// Device copies of host vectors, freed at scope end.
template <class T>
struct DeviceVec {
  T* p = nullptr;
  std::size_t n = 0;
  explicit DeviceVec(std::size_t count) : n(count) { REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)) == cudaSuccess); }
  explicit DeviceVec(const std::vector<T>& host) : DeviceVec(host.size()) {
    REQUIRE(cudaMemcpy(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  ~DeviceVec() { cudaFree(p); }
  std::vector<T> get() const {
    std::vector<T> h(n);
    REQUIRE(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
    return h;
  }
};

// Tests that provoke faults leave the device as they found it.
struct Quiet {
  Quiet() {
    loom::sim::set_reports_quiet(true);
    reset();
  }
  ~Quiet() {
    reset();
    loom::sim::set_reports_quiet(false);
  }
  static void reset() {
    cudaDeviceReset();
    loom::sim::clear_faults();
    cudaGetLastError();
  }
};

float to_f(float v) { return v; }
float to_f(__half v) { return __half2float(v); }
float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class T>
T from_f(float v) {
  if constexpr (std::is_same_v<T, __half>) return __float2half_rn(v);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(v);
  else return v;
}

// The test's own TF32 helpers, written from the definitions (not shared with the simulator).
float tf32_truncate(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, 4);
  b &= ~((1u << 13) - 1);
  std::memcpy(&v, &b, 4);
  return v;
}

}  // namespace

TEST_SUITE("sim") {

// ---- runtime ----------------------------------------------------------------------------------------

TEST_CASE("sim runtime: one H100 by default with its documented properties") {
  int count = 0;
  REQUIRE(cudaGetDeviceCount(&count) == cudaSuccess);
  CHECK(count == 1);
  cudaDeviceProp p{};
  REQUIRE(cudaGetDeviceProperties(&p, 0) == cudaSuccess);
  if (std::getenv("LOOM_SIM_GPU") == nullptr) {
    CHECK(std::string(p.name) == "NVIDIA H100 80GB HBM3 (loom SIM)");
    CHECK(p.major == 9);
    CHECK(p.minor == 0);
    CHECK(p.multiProcessorCount == 132);
    CHECK(p.sharedMemPerMultiprocessor == 228 * 1024);
    CHECK(p.sharedMemPerBlockOptin == 227 * 1024);
    CHECK(p.l2CacheSize == 50 * 1024 * 1024);
    CHECK(p.totalGlobalMem == std::size_t{80} << 30);
  }
  CHECK(p.sharedMemPerBlock == 48 * 1024);
  CHECK(p.maxThreadsPerBlock == 1024);
  CHECK(p.regsPerBlock == 65536);
  CHECK(p.maxGridSize[0] == 2147483647);
  CHECK(p.maxGridSize[1] == 65535);
  CHECK(cudaGetDeviceProperties(&p, 1) == cudaErrorInvalidDevice);
  cudaGetLastError();
}

TEST_CASE("sim runtime: the last error is returned once and peeking keeps it and the names are the real ones") {
  cudaGetLastError();
  CHECK(cudaSetDevice(3) == cudaErrorInvalidDevice);
  CHECK(cudaPeekAtLastError() == cudaErrorInvalidDevice);
  CHECK(cudaGetLastError() == cudaErrorInvalidDevice);
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(cudaSetDevice(0) == cudaSuccess);
  CHECK(std::string(cudaGetErrorName(cudaErrorIllegalAddress)) == "cudaErrorIllegalAddress");
  CHECK(std::string(cudaGetErrorString(cudaErrorIllegalAddress)) == "an illegal memory access was encountered");
  CHECK(std::string(cudaGetErrorName(cudaErrorInvalidConfiguration)) == "cudaErrorInvalidConfiguration");
  int v = 0;
  CHECK(cudaRuntimeGetVersion(&v) == cudaSuccess);
  CHECK(v == CUDART_VERSION);
}

TEST_CASE("sim runtime: malloc poisons while copies and memsets round-trip and mark bytes written") {
  const std::size_t n = 100;
  DeviceVec<float> a(n), b(n);
  // Fresh memory reads as NaN (0xFF bytes) and is unwritten.
  for (float v : a.get()) CHECK(std::isnan(v));
  const void* first = nullptr;
  CHECK_FALSE(loom::sim::all_written(a.p, n * sizeof(float), &first));
  CHECK(first == a.p);
  CHECK(reinterpret_cast<std::uintptr_t>(a.p) % 256 == 0);

  std::vector<float> host(n);
  for (std::size_t i = 0; i < n; ++i) host[i] = static_cast<float>(i) - 7.5f;
  REQUIRE(cudaMemcpy(a.p, host.data(), n * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(loom::sim::all_written(a.p, n * sizeof(float), nullptr));
  // Half of a device-to-device copy: written-ness travels with the bytes.
  REQUIRE(cudaMemcpyAsync(b.p, a.p, n / 2 * sizeof(float), cudaMemcpyDeviceToDevice, nullptr) == cudaSuccess);
  CHECK(loom::sim::all_written(b.p, n / 2 * sizeof(float), nullptr));
  CHECK_FALSE(loom::sim::all_written(b.p, n * sizeof(float), &first));
  CHECK(first == b.p + n / 2);
  REQUIRE(cudaMemsetAsync(b.p + n / 2, 0, n / 2 * sizeof(float), nullptr) == cudaSuccess);
  const std::vector<float> back = b.get();
  for (std::size_t i = 0; i < n; ++i) CHECK(back[i] == (i < n / 2 ? host[i] : 0.0f));
  CHECK(cudaMemcpy(host.data(), a.p, n * sizeof(float), cudaMemcpyDefault) == cudaSuccess);

  // 2-D: a 3 x 4 block out of rows 10 floats apart, packed; then a 2-D memset of two columns.
  REQUIRE(cudaMemcpy2DAsync(b.p, 4 * sizeof(float), a.p, 10 * sizeof(float), 4 * sizeof(float), 3,
                            cudaMemcpyDeviceToDevice, nullptr) == cudaSuccess);
  REQUIRE(cudaMemset2DAsync(b.p + 1, 4 * sizeof(float), 0, 2 * sizeof(float), 3, nullptr) == cudaSuccess);
  const std::vector<float> packed = b.get();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) CHECK(packed[r * 4 + c] == ((c == 1 || c == 2) ? 0.0f : host[r * 10 + c]));
  CHECK(cudaMemcpy2DAsync(b.p, 2, a.p, 16, 4, 3, cudaMemcpyDeviceToDevice, nullptr) == cudaErrorInvalidPitchValue);
  cudaGetLastError();
}

TEST_CASE("sim runtime: bad pointers and sizes give the documented errors") {
  cudaGetLastError();
  float* p = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), 64) == cudaSuccess);
  float host[32] = {};
  CHECK(cudaMemcpy(p, host, 68, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);  // past the end
  CHECK(cudaMemcpy(host, host + 16, 16, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);  // not device memory
  CHECK(cudaMemset(host, 0, 4) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  std::size_t free_before = 0, free_after = 0, total = 0;
  REQUIRE(cudaMemGetInfo(&free_before, &total) == cudaSuccess);
  REQUIRE(cudaFree(p) == cudaSuccess);
  REQUIRE(cudaMemGetInfo(&free_after, &total) == cudaSuccess);
  CHECK(free_after == free_before + 64);
  // Freed memory is still known: a copy into it is refused, a second free too.
  CHECK(cudaMemcpy(p, host, 4, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  const loom::sim::Allocation* a = loom::sim::find_allocation(p);
  REQUIRE(a != nullptr);
  CHECK_FALSE(a->live);
  CHECK(cudaFree(p) == cudaErrorInvalidValue);
  void* zero = &p;
  CHECK(cudaMalloc(&zero, 0) == cudaSuccess);
  CHECK(zero == nullptr);
  void* huge = nullptr;
  CHECK(cudaMalloc(&huge, total + 1) == cudaErrorMemoryAllocation);
  CHECK(cudaGetLastError() == cudaErrorMemoryAllocation);
}

TEST_CASE("sim runtime: streams and events with elapsed time from the host clock") {
  cudaStream_t s = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
  cudaEvent_t start = nullptr, stop = nullptr, untimed = nullptr;
  REQUIRE(cudaEventCreate(&start) == cudaSuccess);
  REQUIRE(cudaEventCreate(&stop) == cudaSuccess);
  REQUIRE(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming) == cudaSuccess);
  float ms = -1.0f;
  CHECK(cudaEventElapsedTime(&ms, start, stop) == cudaErrorInvalidResourceHandle);  // never recorded
  REQUIRE(cudaEventRecord(start, s) == cudaSuccess);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(cudaEventRecord(stop, s) == cudaSuccess);
  REQUIRE(cudaEventRecord(untimed, s) == cudaSuccess);
  CHECK(cudaEventSynchronize(stop) == cudaSuccess);
  CHECK(cudaStreamSynchronize(s) == cudaSuccess);
  REQUIRE(cudaEventElapsedTime(&ms, start, stop) == cudaSuccess);
  CHECK(ms >= 4.0f);
  CHECK(ms < 1000.0f);
  CHECK(cudaEventElapsedTime(&ms, start, untimed) == cudaErrorInvalidResourceHandle);
  CHECK(cudaEventDestroy(start) == cudaSuccess);
  CHECK(cudaEventDestroy(stop) == cudaSuccess);
  CHECK(cudaEventDestroy(untimed) == cudaSuccess);
  CHECK(cudaStreamDestroy(s) == cudaSuccess);
  CHECK(cudaStreamDestroy(s) == cudaErrorInvalidResourceHandle);
  cudaGetLastError();
}

// ---- cuBLAS -----------------------------------------------------------------------------------------

namespace {

// C = alpha op(A) op(B) + beta C through cublasGemmEx (or GemmBatchedEx with a batch of 2 built from
// a device pointer table), compared with a double loop. Inputs are integers in [-3, 3].
template <class T, class TC>
void check_gemm(cublasOperation_t ta, cublasOperation_t tb, bool batched) {
  const int m = 5, n = 7, k = 9, lda = (ta == CUBLAS_OP_N ? m : k) + 2, ldb = (tb == CUBLAS_OP_N ? k : n) + 1,
            ldc = m + 3;
  const int a_cols = ta == CUBLAS_OP_N ? k : m, b_cols = tb == CUBLAS_OP_N ? n : k;
  const int batch = batched ? 2 : 1;
  std::vector<T> A(lda * a_cols * batch), B(ldb * b_cols * batch);
  std::vector<TC> C(ldc * n * batch);
  for (std::size_t i = 0; i < A.size(); ++i) A[i] = from_f<T>(static_cast<float>(static_cast<int>((i * 3 + 1) % 7) - 3));
  for (std::size_t i = 0; i < B.size(); ++i) B[i] = from_f<T>(static_cast<float>(static_cast<int>(i * 5 % 7) - 3));
  for (std::size_t i = 0; i < C.size(); ++i) C[i] = from_f<TC>(static_cast<float>(static_cast<int>(i % 5) - 2));
  DeviceVec<T> dA(A), dB(B);
  DeviceVec<TC> dC(C);
  const float alpha = 2.0f, beta = -1.0f;
  const cudaDataType ab = std::is_same_v<T, float> ? CUDA_R_32F : std::is_same_v<T, __half> ? CUDA_R_16F : CUDA_R_16BF;
  const cudaDataType ct = std::is_same_v<TC, float> ? CUDA_R_32F : ab;
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  if (!batched) {
    REQUIRE(cublasGemmEx(h, ta, tb, m, n, k, &alpha, dA.p, ab, lda, dB.p, ab, ldb, &beta, dC.p, ct, ldc,
                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  } else {
    std::vector<const void*> table = {dA.p, dA.p + lda * a_cols, dB.p, dB.p + ldb * b_cols, dC.p, dC.p + ldc * n};
    DeviceVec<const void*> dt(table);
    REQUIRE(cublasGemmBatchedEx(h, ta, tb, m, n, k, &alpha, dt.p, ab, lda, dt.p + 2, ab, ldb, &beta,
                                const_cast<void* const*>(reinterpret_cast<const void* const*>(dt.p + 4)), ct, ldc, 2,
                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  }
  cublasDestroy(h);
  CHECK(loom::sim::all_written(dC.p, dC.n * sizeof(TC), nullptr));
  const std::vector<TC> got = dC.get();
  for (int q = 0; q < batch; ++q) {
    const T* a = A.data() + q * lda * a_cols;
    const T* b = B.data() + q * ldb * b_cols;
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        double sum = 0;
        for (int p = 0; p < k; ++p) {
          const double av = to_f(ta == CUBLAS_OP_N ? a[i + p * lda] : a[p + i * lda]);
          const double bv = to_f(tb == CUBLAS_OP_N ? b[p + j * ldb] : b[j + p * ldb]);
          sum += av * bv;
        }
        const std::size_t at = q * ldc * n + i + j * ldc;
        const double want = alpha * sum + beta * to_f(C[at]);
        CHECK(to_f(got[at]) == to_f(from_f<TC>(static_cast<float>(want))));
      }
    }
  }
}

template <class T, class TC>
void check_gemm_all_ops() {
  for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T})
    for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T})
      for (bool batched : {false, true}) {
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(batched);
        check_gemm<T, TC>(ta, tb, batched);
      }
}

}  // namespace

TEST_CASE("sim cuBLAS: GemmEx and GemmBatchedEx match a double loop for every op and type") {
  check_gemm_all_ops<float, float>();
  check_gemm_all_ops<__half, __half>();
  check_gemm_all_ops<__half, float>();
  check_gemm_all_ops<__nv_bfloat16, __nv_bfloat16>();
  check_gemm_all_ops<__nv_bfloat16, float>();
}

TEST_CASE("sim cuBLAS: TF32 rounds the inputs and beta 0 ignores C and bad arguments are refused") {
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  const int k = 8;
  const float x = 1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -13);  // TF32 rounds it to 1 + 2^-10
  DeviceVec<float> a(std::vector<float>(k, x)), b(std::vector<float>(k, 1.0f));
  DeviceVec<float> c(std::vector<float>(1, NAN));  // beta == 0: never read
  const float one = 1.0f, zero = 0.0f;
  auto gemm = [&](cublasComputeType_t compute) {
    REQUIRE(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, k, &one, a.p, CUDA_R_32F, 1, b.p, CUDA_R_32F, k, &zero,
                         c.p, CUDA_R_32F, 1, compute, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
    return c.get()[0];
  };
  CHECK(gemm(CUBLAS_COMPUTE_32F) == k * x);
  CHECK(gemm(CUBLAS_COMPUTE_32F_FAST_TF32) == k * (1.0f + std::ldexp(1.0f, -10)));
  REQUIRE(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS);
  CHECK(gemm(CUBLAS_COMPUTE_32F) == k * (1.0f + std::ldexp(1.0f, -10)));

  CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 1, k, &one, a.p, CUDA_R_32F, 1, b.p, CUDA_R_32F, k, &zero, c.p,
                     CUDA_R_32F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, k, &one, a.p, CUDA_R_32F, 1, b.p, CUDA_R_32F, k, &zero, c.p,
                     CUDA_R_16F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(cublasGemmEx(nullptr, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, k, &one, a.p, CUDA_R_32F, 1, b.p, CUDA_R_32F, k, &zero,
                     c.p, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_NOT_INITIALIZED);
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE)) == "CUBLAS_STATUS_INVALID_VALUE");

  // ScalEx and AxpyEx on a half vector, computed in F32 and rounded once.
  DeviceVec<__half> v(std::vector<__half>{from_f<__half>(1.0f), from_f<__half>(-2.0f), from_f<__half>(3.0f)});
  const float three = 3.0f;
  REQUIRE(cublasScalEx(h, 3, &three, CUDA_R_32F, v.p, CUDA_R_16F, 1, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS);
  DeviceVec<__half> w(std::vector<__half>(3, from_f<__half>(0.5f)));
  REQUIRE(cublasAxpyEx(h, 3, &one, CUDA_R_32F, v.p, CUDA_R_16F, 1, w.p, CUDA_R_16F, 1, CUDA_R_32F) ==
          CUBLAS_STATUS_SUCCESS);
  const std::vector<__half> got = w.get();
  CHECK(to_f(got[0]) == 3.5f);
  CHECK(to_f(got[1]) == -5.5f);
  CHECK(to_f(got[2]) == 9.5f);
  cublasDestroy(h);
}

TEST_CASE("sim cuBLAS: an unwritten input is an initcheck fault and a short buffer a memcheck fault") {
  Quiet quiet;
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  DeviceVec<float> a(std::vector<float>(16, 1.0f)), unwritten(16), c(16);
  const float one = 1.0f, zero = 0.0f;
  CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a.p, CUDA_R_32F, 4, unwritten.p, CUDA_R_32F, 4, &zero,
                     c.p, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  CHECK(loom::sim::fault_count(loom::sim::Check::initcheck) == 1);
  CHECK(loom::sim::fault_log().find("cublasGemmEx reads unwritten B") != std::string::npos);
  Quiet::reset();
  CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 5, 4, &one, a.p, CUDA_R_32F, 4, a.p, CUDA_R_32F, 4, &zero, c.p,
                     CUDA_R_32F, 4, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_EXECUTION_FAILED);
  CHECK(loom::sim::fault_count(loom::sim::Check::memcheck) >= 1);
  CHECK(cudaDeviceSynchronize() != cudaSuccess);  // the fault is sticky
  cublasDestroy(h);
}

// ---- WMMA -------------------------------------------------------------------------------------------

namespace {

// One warp: D = A B + C for a 16 x 16 x K tile. A row-major (lda = K), B row- or column-major,
// C and D row-major; with `round`, the A and B fragments go through __float_to_tf32 first.
template <class FragT, int K, class T, class LayoutB>
__global__ void wmma_tile(const T* A, const T* B, const float* C, float* D, bool round) {
  wmma::fragment<wmma::matrix_a, 16, 16, K, FragT, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, K, FragT, LayoutB> b;
  wmma::fragment<wmma::accumulator, 16, 16, K, float> acc;
  wmma::load_matrix_sync(a, A, K);
  wmma::load_matrix_sync(b, B, std::is_same_v<LayoutB, wmma::row_major> ? 16 : K);
  wmma::load_matrix_sync(acc, C, 16, wmma::mem_row_major);
  if constexpr (std::is_same_v<FragT, wmma::precision::tf32>) {
    if (round) {
      for (int e = 0; e < a.num_elements; ++e) a.x[e] = wmma::__float_to_tf32(a.x[e]);
      for (int e = 0; e < b.num_elements; ++e) b.x[e] = wmma::__float_to_tf32(b.x[e]);
    }
  }
  wmma::mma_sync(acc, a, b, acc);
  wmma::store_matrix_sync(D, acc, 16, wmma::mem_row_major);
}

// Runs wmma_tile and compares with a loop over `prep`-ed inputs (identity, or a TF32 treatment).
template <class FragT, int K, class T, class LayoutB, class Prep>
void check_wmma(const std::vector<float>& a, const std::vector<float>& b, bool round, Prep prep) {
  const bool b_row = std::is_same_v<LayoutB, wmma::row_major>;
  std::vector<T> A(16 * K), B(K * 16);
  std::vector<float> C(256);
  for (int i = 0; i < 16 * K; ++i) A[i] = from_f<T>(a[i]);
  for (int p = 0; p < K; ++p)
    for (int j = 0; j < 16; ++j) B[b_row ? p * 16 + j : p + j * K] = from_f<T>(b[p * 16 + j]);
  for (int i = 0; i < 256; ++i) C[i] = static_cast<float>(i % 3);
  DeviceVec<T> dA(A), dB(B);
  DeviceVec<float> dC(C), dD(256);
  run("wmma_tile", dim3(1), dim3(32), [&] { wmma_tile<FragT, K, T, LayoutB>(dA.p, dB.p, dC.p, dD.p, round); });
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const std::vector<float> D = dD.get();
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      float want = C[i * 16 + j];
      for (int p = 0; p < K; ++p) want += prep(a[i * K + p]) * prep(b[p * 16 + j]);
      CHECK(D[i * 16 + j] == want);
    }
  }
}

}  // namespace

TEST_CASE("sim WMMA: m16n16k16 (half or bf16) and m16n16k8 (tf32) match a loop") {
  std::vector<float> a(16 * 16), b(16 * 16);
  for (int i = 0; i < 256; ++i) {
    a[i] = static_cast<float>(i * 5 % 9) - 4.0f;
    b[i] = static_cast<float>(i * 7 % 5) - 2.0f;
  }
  auto same = [](float v) { return v; };
  check_wmma<__half, 16, __half, wmma::row_major>(a, b, false, same);
  check_wmma<__half, 16, __half, wmma::col_major>(a, b, false, same);
  check_wmma<__nv_bfloat16, 16, __nv_bfloat16, wmma::row_major>(a, b, false, same);
  check_wmma<wmma::precision::tf32, 8, float, wmma::row_major>(a, b, false, same);
  check_wmma<wmma::precision::tf32, 8, float, wmma::col_major>(a, b, true, same);
}

TEST_CASE("sim WMMA: tf32 truncates unrounded inputs while __float_to_tf32 rounds to nearest with ties away") {
  // 1 + 2^-11 + 2^-13: the top 19 bits say 1, rounding to 10 mantissa bits says 1 + 2^-10.
  const float x = 1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -13);
  CHECK(wmma::__float_to_tf32(x) == 1.0f + std::ldexp(1.0f, -10));
  CHECK(wmma::__float_to_tf32(1.0f + std::ldexp(1.0f, -11)) == 1.0f + std::ldexp(1.0f, -10));  // a tie: away
  CHECK(wmma::__float_to_tf32(-1.0f - std::ldexp(1.0f, -11)) == -1.0f - std::ldexp(1.0f, -10));
  CHECK(tf32_truncate(x) == 1.0f);
  std::vector<float> a(16 * 8, x), b(8 * 16, 1.0f);
  check_wmma<wmma::precision::tf32, 8, float, wmma::row_major>(a, b, false, tf32_truncate);
  check_wmma<wmma::precision::tf32, 8, float, wmma::row_major>(
      a, b, true, [](float v) { return wmma::__float_to_tf32(v); });
}

namespace {
// Lane l's x[i] is element l + 32 i of the row-major tile (the simulator's documented layout).
__global__ void wmma_owner(const float* A, float* out) {
  wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
  wmma::load_matrix_sync(a, A, 8);
  for (int i = 0; i < a.num_elements; ++i) out[threadIdx.x + 32 * i] = a.x[i];
}
}  // namespace

TEST_CASE("sim WMMA: each lane owns elements lane + 32 i of the tile") {
  std::vector<float> A(128);
  for (int i = 0; i < 128; ++i) A[i] = static_cast<float>(i);
  DeviceVec<float> dA(A), out(128);
  run("wmma_owner", dim3(1), dim3(32), [&] { wmma_owner(dA.p, out.p); });
  CHECK(out.get() == A);
}

namespace {
__global__ void wmma_load_ld(const __half* A, float* out, unsigned ldm) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
  wmma::load_matrix_sync(a, A, ldm);
  out[threadIdx.x] = __half2float(a.x[0]);
}
}  // namespace

TEST_CASE("sim WMMA: a leading dimension or pointer against the documented rules is a memcheck fault") {
  Quiet quiet;
  DeviceVec<__half> A(std::vector<__half>(16 * 40, from_f<__half>(1.0f)));
  DeviceVec<float> out(32);
  run("wmma_load_ld", dim3(1), dim3(32), [&] { wmma_load_ld(A.p, out.p, 40); });  // 80 bytes: fine
  CHECK(loom::sim::fault_count_total() == 0);
  run("wmma_load_ld", dim3(1), dim3(32), [&] { wmma_load_ld(A.p, out.p, 39); });  // 78 bytes
  CHECK(loom::sim::fault_count(loom::sim::Check::memcheck) > 0);
  CHECK(loom::sim::fault_log().find("ldm = 39 a multiple of 16 bytes") != std::string::npos);
  Quiet::reset();
  run("wmma_load_ld", dim3(1), dim3(32), [&] { wmma_load_ld(A.p + 8, out.p, 40); });  // 16-byte aligned only
  CHECK(loom::sim::fault_count(loom::sim::Check::memcheck) > 0);
}

// ---- CUB --------------------------------------------------------------------------------------------

namespace {
template <int kThreads>
__global__ void block_sum(const float* in, float* out, int num_valid) {
  using Reduce = cub::BlockReduce<float, kThreads, cub::BLOCK_REDUCE_WARP_REDUCTIONS>;
  __shared__ typename Reduce::TempStorage temp;
  const float v = in[blockIdx.x * kThreads + threadIdx.x];
  const float total = num_valid < 0 ? Reduce(temp).Sum(v) : Reduce(temp).Sum(v, num_valid);
  if (threadIdx.x == 0) out[blockIdx.x] = total;
}

template <int kThreads>
void check_block_sum(int num_valid) {
  const int blocks = 3;
  std::vector<float> in(blocks * kThreads);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(static_cast<int>(i % 11) - 5);
  DeviceVec<float> din(in), dout(blocks);
  run("block_sum", dim3(blocks), dim3(kThreads), [&] { block_sum<kThreads>(din.p, dout.p, num_valid); });
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const std::vector<float> got = dout.get();
  for (int b = 0; b < blocks; ++b) {
    float want = 0;
    for (int t = 0; t < (num_valid < 0 ? kThreads : num_valid); ++t) want += in[b * kThreads + t];
    CHECK(got[b] == want);
  }
}
}  // namespace

TEST_CASE("sim CUB: BlockReduce sums a block (full and partial warps and num_valid)") {
  check_block_sum<256>(-1);
  check_block_sum<80>(-1);
  check_block_sum<256>(77);
  CHECK(loom::sim::fault_count_total() == 0);
}

TEST_CASE("sim CUB: DeviceRadixSort::SortPairs sorts stably on the given bits") {
  const int n = 1000;
  std::vector<std::uint32_t> keys(n);
  std::vector<std::int32_t> values(n);
  for (int i = 0; i < n; ++i) {
    // Low 6 bits: the sort key (many repeats); bit 20: noise the sort must ignore (end_bit = 6).
    keys[i] = static_cast<std::uint32_t>((i * 37) % 50) | ((i % 3 == 0) ? (1u << 20) : 0u);
    values[i] = i;
  }
  DeviceVec<std::uint32_t> kin(keys), kout(n);
  DeviceVec<std::int32_t> vin(values), vout(n);
  std::size_t temp_bytes = 0;
  REQUIRE(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, kin.p, kout.p, vin.p, vout.p, n, 0, 6) == cudaSuccess);
  CHECK(temp_bytes > 0);
  DeviceVec<char> temp(temp_bytes);
  REQUIRE(cub::DeviceRadixSort::SortPairs(temp.p, temp_bytes, kin.p, kout.p, vin.p, vout.p, n, 0, 6) == cudaSuccess);
  CHECK(loom::sim::all_written(kout.p, n * sizeof(std::uint32_t), nullptr));
  CHECK(loom::sim::all_written(vout.p, n * sizeof(std::int32_t), nullptr));
  const std::vector<std::uint32_t> k = kout.get();
  const std::vector<std::int32_t> v = vout.get();
  for (int i = 0; i < n; ++i) {
    CHECK(k[i] == keys[v[i]]);  // pairs stay together
    if (i > 0) {
      const std::uint32_t prev = k[i - 1] & 63u, cur = k[i] & 63u;
      CHECK(prev <= cur);
      if (prev == cur) CHECK(v[i - 1] < v[i]);  // stable: equal keys keep their input order
    }
  }
}

}  // TEST_SUITE("sim")
