// kernels/conv1d/conv1d_cudnn_layout.cu: the two transposes the cuDNN convolution path needs
// (kernels/conv1d/conv1d_cudnn.cc), between loom's time-major [T, B, C] and the batch-major
// [B, T, C] that cuDNN sees as NHWC with H = 1 (N = B, W = T, C = channels).
//
// Math: to_batch_major   dst[b, p, c] = src[p - pad_left, b, c]  for 0 <= p - pad_left < T, else 0
//                        (p < T + pad_left + pad_right: explicit padding for the asymmetric case
//                        cuDNN cannot express; pads of 0 make it a plain transpose)
//       to_time_major    dst[t, b, c] (+)= src[b, t + offset, c] (+ bias[c])
//                        (offset skips the explicit left padding of a data gradient; the bias add
//                        is the forward's epilogue, fused into the copy that has to happen anyway)
//
// Who does what: one thread per destination element in a grid-stride loop, c fastest: both sides
// are read and written in runs of C contiguous elements (C >= 32 for text models), so every warp
// access is coalesced without a shared-memory tile (a tile only pays off when the contiguous runs
// are short). Bytes: 2 * elements * s each (+ elements * s when accumulating); no flops to speak of.
//
// Reference: the index maps above. Tests: tests/kernels/test_conv1d_cuda.cc (cuDNN cases, padding
// 'same' with even K is the asymmetric case). Bench: bench/bench_conv1d.cc.
#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/conv1d/conv1d_cuda_internal.h"

namespace loom::kernels {

template <class T>
static __global__ void conv1d_to_batch_major_kernel(std::int64_t T_, std::int64_t B, std::int64_t C,
                                                    std::int64_t T_dst, std::int64_t pad_left,
                                                    const T* __restrict__ src, T* __restrict__ dst) {
  const std::int64_t n = B * T_dst * C;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t c = i % C, p = (i / C) % T_dst, b = i / (C * T_dst);
    const std::int64_t t = p - pad_left;
    dst[i] = t >= 0 && t < T_ ? src[(t * B + b) * C + c] : from_f32<T>(0.0f);
  }
}

template <class T>
static __global__ void conv1d_to_time_major_kernel(std::int64_t T_, std::int64_t B, std::int64_t C,
                                                   std::int64_t T_src, std::int64_t offset,
                                                   const T* __restrict__ src, const T* __restrict__ bias,
                                                   T* __restrict__ dst, GradMode mode) {
  const std::int64_t n = T_ * B * C;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t c = i % C, b = (i / C) % B, t = i / (C * B);
    float v = load_f32(src, (b * T_src + t + offset) * C + c);
    if (bias) v += load_f32(bias, c);
    store_grad(dst, i, v, mode);
  }
}

namespace detail {

void conv1d_to_batch_major_cuda(DType dtype, std::int64_t T, std::int64_t B, std::int64_t C, std::int64_t pad_left,
                                std::int64_t pad_right, const void* src, void* dst, const CudaContext& ctx) {
  const std::int64_t T_dst = T + pad_left + pad_right;
  if (B * T_dst * C == 0) return;
  dispatch_float_dtype(dtype, "conv1d_to_batch_major_cuda", [&](auto tag) {
    using S = typename decltype(tag)::type;
    launch<conv1d_to_batch_major_kernel<S>>(blocks_for(B * T_dst * C), kBlock, ctx.stream(),
        T, B, C, T_dst, pad_left, static_cast<const S*>(src), static_cast<S*>(dst));
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void conv1d_to_time_major_cuda(DType dtype, std::int64_t T, std::int64_t B, std::int64_t C, std::int64_t T_src,
                               std::int64_t offset, const void* src, const void* bias, void* dst, GradMode mode,
                               const CudaContext& ctx) {
  if (T * B * C == 0) return;
  dispatch_float_dtype(dtype, "conv1d_to_time_major_cuda", [&](auto tag) {
    using S = typename decltype(tag)::type;
    launch<conv1d_to_time_major_kernel<S>>(blocks_for(T * B * C), kBlock, ctx.stream(),
        T, B, C, T_src, offset, static_cast<const S*>(src), static_cast<const S*>(bias), static_cast<S*>(dst), mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace detail
}  // namespace loom::kernels
