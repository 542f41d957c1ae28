// kernels/common/launch.cuh: the few helpers every .cu file shares (included only by .cu files).
//
// - Grid sizing: kernels use grid-stride loops, so a launch never needs more than kMaxBlocks
//   blocks; blocks_for() caps the grid, and any n (up to 2^63) is covered by the loop.
// - Storage types: load_f32 / store_from_f32 convert float, __half and __nv_bfloat16 storage to and
//   from F32 arithmetic. The conversions round to nearest even, the same bits as core/dtype.h gives
//   the CPU kernels. store_grad() is the one place GradMode is applied on the GPU.
// - Deterministic sums: warp_sum / warp_max are fixed shuffle trees and block_sum is CUB's
//   BlockReduce; for a given launch shape they add the same numbers in the same order on every run
//   (no atomics).
// - dispatch_float_dtype() maps a run-time DType to the storage type a kernel template needs.
// - launch<kernel>(grid, block, stream, args...) starts a kernel. It is the one place that knows
//   which backend runs kernels: the GPU (nvcc) or the CPU simulator in sim/ (LOOM_SIM), so no
//   kernel body and no call site needs an #if.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include "core/cuda_context.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/grad_mode.h"

#ifdef LOOM_SIM
#include "sim/launch.h"
#endif

namespace loom::kernels {

// ---- grid sizing -------------------------------------------------------------------------------

constexpr int kBlock = 256;        // threads per block for the one-pass kernels
constexpr int kMaxBlocks = 8192;   // a few waves on any current GPU; grid-stride loops do the rest

inline unsigned blocks_for(std::int64_t n, int threads = kBlock) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>(blocks, kMaxBlocks)));
}

// for (int64_t i = grid_start(); i < n; i += grid_stride()) visits every i exactly once.
__device__ __forceinline__ std::int64_t grid_start() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t grid_stride() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

// ---- storage types -------------------------------------------------------------------------------

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

template <class T>
__device__ __forceinline__ float load_f32(const T* p, std::int64_t i) { return to_f32(p[i]); }

template <class T>
__device__ __forceinline__ void store_from_f32(T* p, std::int64_t i, float v) { p[i] = from_f32<T>(v); }

// Overwrite: p[i] = v. Accumulate: p[i] = p[i] + v, added in F32 and rounded once.
template <class T>
__device__ __forceinline__ void store_grad(T* p, std::int64_t i, float v, GradMode mode) {
  if (mode == GradMode::Accumulate) v = to_f32(p[i]) + v;
  p[i] = from_f32<T>(v);
}

// ---- deterministic warp and block reductions -----------------------------------------------------

// Butterfly (xor) exchange: every lane ends with the same bits, because a + b == b + a exactly.
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over a block of exactly kBlock threads, through CUB's BlockReduce (warp-reductions
// algorithm: a fixed tree for a fixed block size, so the same bits every run). The result is
// valid in thread 0 only. The trailing barrier lets a kernel call it twice in a row.
__device__ __forceinline__ float block_sum(float v) {
  using Reduce = cub::BlockReduce<float, kBlock, cub::BLOCK_REDUCE_WARP_REDUCTIONS>;
  __shared__ typename Reduce::TempStorage temp;
  const float total = Reduce(temp).Sum(v);
  __syncthreads();
  return total;
}

// ---- kernel launch -----------------------------------------------------------------------------
//
//   launch<my_kernel<T>>(grid, block, stream, n, x, y);  // was: my_kernel<T><<<grid, block, 0, stream>>>(n, x, y)
//   LOOM_CUDA_CHECK_LAUNCH();                            // the call site still checks, as before
//
// The kernel is a template argument, not a function argument, so the simulator can print its name
// (kernel_name below). The arguments are converted to the kernel's own parameter types first, just
// as a <<< >>> launch or a plain function call converts them; `values` then holds one argument per
// parameter, exactly what each backend wants:
//   - nvcc: cudaLaunchKernel takes an array with the address of every argument.
//   - LOOM_SIM: the simulator calls the kernel itself once per CUDA thread, on the CPU.
// Neither backend checks for errors here. A failed launch is recorded where cudaGetLastError()
// finds it, so the LOOM_CUDA_CHECK_LAUNCH() after each call site reports it with that site's
// file:line, exactly as it did after <<< >>>.

namespace launch_detail {

// Cuts the kernel's name out of kernel_name's own signature, as GCC prints it:
//   "const char* ...::kernel_name() [with auto Kernel = loom::kernels::my_kernel<float>]".
// Clang writes "[Kernel = &loom::kernels::my_kernel]", so a leading '&' is dropped too.
inline std::string name_from_signature(const std::string& pretty) {
  const std::string key = "Kernel = ";
  const std::size_t start = pretty.find(key);
  if (start == std::string::npos) return pretty;  // an unknown compiler: keep the whole signature
  std::size_t begin = start + key.size();
  if (begin < pretty.size() && pretty[begin] == '&') ++begin;
  const std::size_t end = pretty.find_first_of(";]", begin);
  return pretty.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// "loom::kernels::my_kernel<float>": the name the simulator prints in its reports.
template <auto Kernel>
const char* kernel_name() {
  static const std::string name = name_from_signature(__PRETTY_FUNCTION__);
  return name.c_str();
}

// The kernel pointer is passed again as an ordinary argument only so that Params (the kernel's
// parameter types) can be deduced from it.
template <auto Kernel, class... Params, class... Args>
void launch_kernel(void (*)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: the kernel takes a different number of arguments");
  std::tuple<Params...> values(std::forward<Args>(args)...);
#ifdef LOOM_SIM
  auto run_one_thread = [&values] { std::apply(Kernel, values); };  // each call copies the arguments, as a GPU does
  ::loom::sim::LaunchShape shape{grid, block, shared_bytes, stream, kernel_name<Kernel>()};
  ::loom::sim::launch(shape, run_one_thread);
#else
  std::apply(
      [&](auto&... value) {
        void* argv[] = {static_cast<void*>(&value)..., nullptr};  // the nullptr keeps the array non-empty
        // The status is also what cudaGetLastError() returns next; the call site's check reads it there.
        (void)cudaLaunchKernel(reinterpret_cast<const void*>(Kernel), grid, block, argv, shared_bytes, stream);
      },
      values);
#endif
}

}  // namespace launch_detail

template <auto Kernel, class... Args>
void launch(dim3 grid, dim3 block, cudaStream_t stream, Args&&... args) {
  launch_detail::launch_kernel<Kernel>(Kernel, grid, block, 0, stream, std::forward<Args>(args)...);
}

// The same, with `shared_bytes` of dynamic shared memory (extern __shared__) per block.
template <auto Kernel, class... Args>
void launch_with_shared(dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  launch_detail::launch_kernel<Kernel>(Kernel, grid, block, shared_bytes, stream, std::forward<Args>(args)...);
}

// ---- dtype dispatch ------------------------------------------------------------------------------

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) with T the CUDA storage type of `dtype`; inside, `using T = typename
// decltype(tag)::type;`. F64 and I32 have no float kernels on the GPU: ShapeError naming `op`.
template <class F>
void dispatch_float_dtype(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::F32: f(TypeTag<float>{}); return;
    case DType::F16: f(TypeTag<__half>{}); return;
    case DType::BF16: f(TypeTag<__nv_bfloat16>{}); return;
    case DType::F64:
    case DType::I32: break;
  }
  LOOM_THROW(ShapeError, op, ": dtype ", dtype_name(dtype),
             " is not supported on CUDA (f32, f16 and bf16 only; f64 runs on the CPU)");
}

}  // namespace loom::kernels
