// kernels/elementwise/elementwise_cuda.cu: the one-pass element-wise kernels on the GPU.
//
// Math (i over n elements; "(+)=" is = for GradMode::Overwrite and += for Accumulate):
//   unary fwd  y = f(x):  sigmoid 1 / (1 + e^-x),  tanh,  relu x < 0 ? 0 : x (NaN passes)
//   unary bwd  dx (+)= dy * f'(x), written from the saved output y, because every f here has a
//              derivative that is a function of y:  sigmoid' = y (1 - y),  tanh' = 1 - y^2,
//              relu' = [y > 0]
//   binary     y (+)= a op b  (op in +, -, *; b full-size or one row [cols] broadcast over rows)
//   scale      y (+)= alpha * (*alpha_device) * x
//   fill       y = value;   cast  dst (+)= convert(src)
//   dropout    y (+)= keep_i ? x / (1 - p) : 0,  keep_i = philox_uniform(seed, offset + i) >= p
//   copy_block dst[r, dst_col + c] (+)= src[r, src_col + c]
//
// Threads: one thread per element in a grid-stride loop (blocks_for() caps the grid), except
// dropout, where one thread owns one Philox block: one philox4x32_10 call yields the 4 random words
// of 4 consecutive stream positions, so the generator runs once per 4 elements instead of once per
// element, and element i still gets word (offset + i) of the stream, exactly as the CPU does.
// All arithmetic is F32; F16/BF16 values are converted on load and rounded once on store.
//
// Memory traffic (s = storage bytes per element): unary fwd 2ns, unary bwd 3ns (+ns Accumulate),
// binary 3ns (2ns + cols*s broadcast; +ns Accumulate), scale 2ns, fill ns, cast n(s_src + s_dst),
// dropout 2ns, copy_block 2*rows*cols*s. Each does at most a handful of flops per element, so all
// are memory-bound: time ~ bytes / DRAM bandwidth (unary_fwd_cost(), binary_cost()).
// Same-type overwrite copies (cast, copy_block) and zero fills go to cudaMemcpy*/cudaMemset.
//
// Reference: kernels/elementwise/elementwise_cpu.cc. Tests: tests/ops/test_ops_elementwise.cc and
// tests/ops/test_ops_cast.cc, suite "cuda" (CUDA against the CPU; dropout masks bit for bit).
#include <cmath>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "kernels/common/launch.cuh"
#include "core/philox.h"
#include "kernels/elementwise/elementwise.h"

namespace loom::kernels {
namespace {

__device__ __forceinline__ float unary_value(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::Sigmoid: return 1.0f / (1.0f + expf(-x));
    case UnaryOp::Tanh: return tanhf(x);
    case UnaryOp::Relu: return x < 0.0f ? 0.0f : x;  // NaN is not < 0, so it passes, as in PyTorch
  }
  return x;
}

__device__ __forceinline__ float unary_derivative_from_y(UnaryOp op, float y) {
  switch (op) {
    case UnaryOp::Sigmoid: return y * (1.0f - y);
    case UnaryOp::Tanh: return 1.0f - y * y;
    case UnaryOp::Relu: return y > 0.0f ? 1.0f : 0.0f;
  }
  return 1.0f;
}

__device__ __forceinline__ float binary_value(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
  }
  return a;
}

}  // namespace

template <class T>
static __global__ void elementwise_unary_fwd_kernel(std::int64_t n, UnaryOp op, const T* x, T* y) {
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) store_from_f32(y, i, unary_value(op, load_f32(x, i)));
}

template <class T>
static __global__ void elementwise_unary_bwd_kernel(std::int64_t n, UnaryOp op, const T* y, const T* dy, T* dx,
                                                    GradMode mode) {
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    // dy * f' (not a separate "dy where y > 0") so relu's zeros follow the same rounding path.
    store_grad(dx, i, load_f32(dy, i) * unary_derivative_from_y(op, load_f32(y, i)), mode);
  }
}

template <class T>
static __global__ void elementwise_binary_kernel(std::int64_t rows, std::int64_t cols, BinaryOp op, Broadcast layout,
                                                 const T* a, const T* b, T* y, GradMode mode) {
  const std::int64_t n = rows * cols;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float bv = load_f32(b, layout == Broadcast::Row ? i % cols : i);
    // a is read before y is written, so y may alias a.
    store_grad(y, i, binary_value(op, load_f32(a, i), bv), mode);
  }
}

template <class T>
static __global__ void elementwise_scale_kernel(std::int64_t n, float alpha, const float* alpha_device, const T* x,
                                                T* y, GradMode mode) {
  if (alpha_device) alpha *= *alpha_device;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) store_grad(y, i, alpha * load_f32(x, i), mode);
}

template <class T>
static __global__ void elementwise_fill_kernel(std::int64_t n, T value, T* y) {
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = value;
}

template <class S, class D>
static __global__ void elementwise_cast_kernel(std::int64_t n, const S* src, D* dst, GradMode mode) {
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) store_grad(dst, i, load_f32(src, i), mode);
}

// Thread j owns Philox block first_block + j, i.e. stream positions 4 (first_block + j) + w for
// w = 0..3; position s is element s - offset when that lies in [0, n).
template <class T>
static __global__ void elementwise_dropout_kernel(std::int64_t n, float p, float keep_prob, std::uint64_t seed,
                                                  std::uint64_t offset, std::int64_t num_blocks, const T* x, T* y,
                                                  GradMode mode) {
  const std::uint64_t first_block = offset >> 2;
  for (std::int64_t j = grid_start(); j < num_blocks; j += grid_stride()) {
    const std::uint64_t block = first_block + static_cast<std::uint64_t>(j);
    const Philox4 words = philox_block(block, seed);
    for (int w = 0; w < 4; ++w) {
      const std::int64_t i = static_cast<std::int64_t>(block * 4 + w - offset);
      if (i < 0 || i >= n) continue;
      // The same expression as philox_uniform(): 24 random bits, exact in float.
      const float u = static_cast<float>(words.v[w] >> 8) * (1.0f / 16777216.0f);
      // A division (not a multiply by 1 / (1 - p)) rounds once, the same as the CPU reference.
      store_grad(y, i, u >= p ? load_f32(x, i) / keep_prob : 0.0f, mode);
    }
  }
}

template <class T>
static __global__ void elementwise_copy_block_kernel(std::int64_t rows, std::int64_t cols, const T* src,
                                                     std::int64_t src_ld, T* dst, std::int64_t dst_ld, GradMode mode) {
  const std::int64_t n = rows * cols;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t r = i / cols, c = i - r * cols;
    store_grad(dst, r * dst_ld + c, load_f32(src, r * src_ld + c), mode);
  }
}

// Integer copies never accumulate, so they need no float conversion.
static __global__ void elementwise_copy_block_i32_kernel(std::int64_t rows, std::int64_t cols, const std::int32_t* src,
                                                         std::int64_t src_ld, std::int32_t* dst, std::int64_t dst_ld) {
  const std::int64_t n = rows * cols;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const std::int64_t r = i / cols, c = i - r * cols;
    dst[r * dst_ld + c] = src[r * src_ld + c];
  }
}

// ---- launchers -----------------------------------------------------------------------------------

void unary_fwd_cuda(const UnaryFwdArgs& a, const CudaContext& ctx) {
  if (a.n == 0) return;
  dispatch_float_dtype(a.dtype, "unary_fwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<elementwise_unary_fwd_kernel<T>>(blocks_for(a.n), kBlock, ctx.stream(),
        a.n, a.op, static_cast<const T*>(a.x), static_cast<T*>(a.y));
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void unary_bwd_cuda(const UnaryBwdArgs& a, const CudaContext& ctx) {
  if (a.n == 0) return;
  dispatch_float_dtype(a.dtype, "unary_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<elementwise_unary_bwd_kernel<T>>(blocks_for(a.n), kBlock, ctx.stream(),
        a.n, a.op, static_cast<const T*>(a.y), static_cast<const T*>(a.dy), static_cast<T*>(a.dx), a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void binary_cuda(const BinaryArgs& a, const CudaContext& ctx) {
  if (a.rows == 0 || a.cols == 0) return;
  dispatch_float_dtype(a.dtype, "binary_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<elementwise_binary_kernel<T>>(blocks_for(a.rows * a.cols), kBlock, ctx.stream(),
        a.rows, a.cols, a.op, a.b_layout, static_cast<const T*>(a.a), static_cast<const T*>(a.b),
        static_cast<T*>(a.y), a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void scale_cuda(const ScaleArgs& a, const CudaContext& ctx) {
  if (a.n == 0) return;
  dispatch_float_dtype(a.dtype, "scale_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<elementwise_scale_kernel<T>>(blocks_for(a.n), kBlock, ctx.stream(),
        a.n, a.alpha, a.alpha_device, static_cast<const T*>(a.x), static_cast<T*>(a.y), a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void fill_cuda(const FillArgs& a, const CudaContext& ctx) {
  if (a.n == 0) return;
  // +0.0 and integer 0 are all-zero bits in every dtype: the driver's memset is the fastest fill.
  if (a.value == 0.0 && !std::signbit(a.value) && a.dtype != DType::F64) {
    LOOM_CUDA_CHECK(cudaMemsetAsync(a.y, 0, static_cast<std::size_t>(a.n) * dtype_size(a.dtype), ctx.stream()));
    return;
  }
  if (a.dtype == DType::I32) {
    LOOM_CHECK_SHAPE(a.value >= INT32_MIN && a.value <= INT32_MAX && a.value == std::floor(a.value),
                     "fill_cuda: value ", a.value, " is not an int32");
    launch<elementwise_fill_kernel<std::int32_t>>(blocks_for(a.n), kBlock, ctx.stream(),
        a.n, static_cast<std::int32_t>(a.value), static_cast<std::int32_t*>(a.y));
    LOOM_CUDA_CHECK_LAUNCH();
    return;
  }
  dispatch_float_dtype(a.dtype, "fill_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Rounded on the host once (double -> float -> storage, as the CPU does); the conversions in
    // cuda_fp16.h / cuda_bf16.h are host-callable and round to nearest even.
    const float v = static_cast<float>(a.value);
    T value;
    if constexpr (std::is_same_v<T, float>) value = v;
    else if constexpr (std::is_same_v<T, __half>) value = __float2half_rn(v);
    else value = __float2bfloat16_rn(v);
    launch<elementwise_fill_kernel<T>>(blocks_for(a.n), kBlock, ctx.stream(), a.n, value, static_cast<T*>(a.y));
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void cast_cuda(const CastArgs& a, const CudaContext& ctx) {
  if (a.n == 0) return;
  if (a.src_dtype == a.dst_dtype && a.mode == GradMode::Overwrite && a.src_dtype != DType::F64 &&
      a.src_dtype != DType::I32) {
    LOOM_CUDA_CHECK(cudaMemcpyAsync(a.dst, a.src, static_cast<std::size_t>(a.n) * dtype_size(a.src_dtype),
                                    cudaMemcpyDeviceToDevice, ctx.stream()));
    return;
  }
  dispatch_float_dtype(a.src_dtype, "cast_cuda (source)", [&](auto src_tag) {
    using S = typename decltype(src_tag)::type;
    dispatch_float_dtype(a.dst_dtype, "cast_cuda (destination)", [&](auto dst_tag) {
      using D = typename decltype(dst_tag)::type;
      launch<elementwise_cast_kernel<S, D>>(blocks_for(a.n), kBlock, ctx.stream(),
          a.n, static_cast<const S*>(a.src), static_cast<D*>(a.dst), a.mode);
      LOOM_CUDA_CHECK_LAUNCH();
    });
  });
}

void dropout_cuda(const DropoutArgs& a, const CudaContext& ctx) {
  if (a.n == 0) return;
  LOOM_CHECK_SHAPE(a.p >= 0.0f && a.p < 1.0f, "dropout_cuda: p must be in [0, 1), got ", a.p);
  const float keep_prob = 1.0f - a.p;
  const std::int64_t num_blocks =
      static_cast<std::int64_t>(((a.offset + static_cast<std::uint64_t>(a.n) - 1) >> 2) - (a.offset >> 2) + 1);
  dispatch_float_dtype(a.dtype, "dropout_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<elementwise_dropout_kernel<T>>(blocks_for(num_blocks), kBlock, ctx.stream(),
        a.n, a.p, keep_prob, a.seed, a.offset, num_blocks, static_cast<const T*>(a.x), static_cast<T*>(a.y), a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void copy_block_cuda(const CopyBlockArgs& a, const CudaContext& ctx) {
  if (a.rows == 0 || a.cols == 0) return;
  LOOM_CHECK_SHAPE(a.dtype != DType::F64, "copy_block_cuda: f64 runs on the CPU only");
  const std::size_t elem = dtype_size(a.dtype);
  const char* src = static_cast<const char*>(a.src) + a.src_col * elem;
  char* dst = static_cast<char*>(a.dst) + a.dst_col * elem;
  if (a.mode == GradMode::Overwrite) {
    const std::size_t width = static_cast<std::size_t>(a.cols) * elem;
    // A single row needs no pitch; otherwise the driver's 2-D copy, when the pitches fit its limit.
    const std::size_t spitch = a.rows == 1 ? width : static_cast<std::size_t>(a.src_ld) * elem;
    const std::size_t dpitch = a.rows == 1 ? width : static_cast<std::size_t>(a.dst_ld) * elem;
    if (spitch <= static_cast<std::size_t>(INT_MAX) && dpitch <= static_cast<std::size_t>(INT_MAX)) {
      LOOM_CUDA_CHECK(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, static_cast<std::size_t>(a.rows),
                                        cudaMemcpyDeviceToDevice, ctx.stream()));
      return;
    }
    if (a.dtype == DType::I32) {
      launch<elementwise_copy_block_i32_kernel>(blocks_for(a.rows * a.cols), kBlock, ctx.stream(),
          a.rows, a.cols, reinterpret_cast<const std::int32_t*>(src), a.src_ld, reinterpret_cast<std::int32_t*>(dst),
          a.dst_ld);
      LOOM_CUDA_CHECK_LAUNCH();
      return;
    }
  }
  LOOM_CHECK_SHAPE(a.dtype != DType::I32, "copy_block_cuda: GradMode::Accumulate needs a float dtype, got i32");
  dispatch_float_dtype(a.dtype, "copy_block_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<elementwise_copy_block_kernel<T>>(blocks_for(a.rows * a.cols), kBlock, ctx.stream(),
        a.rows, a.cols, reinterpret_cast<const T*>(src), a.src_ld, reinterpret_cast<T*>(dst), a.dst_ld, a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace loom::kernels
