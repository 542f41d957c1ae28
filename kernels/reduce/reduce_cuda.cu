// kernels/reduce/reduce_cuda.cu: row sums, column sums, their broadcast adjoint, and the sum of
// squares behind clip-by-global-norm, all deterministic.
//
// Math, x a row-major [R, C] matrix, s the scale (1 for a sum, 1/count for a mean):
//   Last  (sum over columns):  y[r] (+)= s * sum_c x[r, c]
//   First (sum over rows):     y[c] (+)= s * sum_r x[r, c]          (the bias gradient)
//   broadcast, the adjoint:    x[r, c] (+)= s * y[r]  (Last)   or  s * y[c]  (First)
//   sum of squares:            out[0] (+)= sum_i x[i]^2
// Every sum is F32 and adds in an order fixed by the shape alone (never by timing, never by the
// GPU model): the same inputs give the same bits on every run. No float atomics anywhere.
//
// Who does what:
//   Last, C <= 16: one thread per row adds its few elements in order (a warp per row would leave
//     most lanes idle and read one element per row).
//   Last, 16 < C <= 1024: one warp per row; lane l adds x[r, l], x[r, l + 32], ... in order, then
//     a fixed shuffle tree (warp_sum) combines the 32 lane sums. Warps stream independent rows.
//   Last, C > 1024: one 256-thread block per row, the same pattern with a block-wide tree.
//   First, R <= 2 * 128: one thread per column walks the rows in order; neighbouring threads read
//     neighbouring addresses of each row (coalesced).
//   First, longer: two passes, because C threads alone cannot fill a GPU when C is a bias width
//     (a few hundred or thousand) and R is T*B (thousands). Pass 1: thread (c, chunk) sums a chunk of
//     kChunkRows rows of column c in order into a F32 partial [chunks, C] in the context workspace.
//     Pass 2: thread c adds its column's partials in chunk order. The result differs from a single
//     sequential walk only in rounding, and is still a pure function of the shape and the data.
//   sum of squares: pass 1 runs min(256, ceil(n / 256)) blocks; each thread adds x^2 over a grid-stride
//     walk, each block tree-sums into partial[block]; pass 2 is one block summing the partials.
//
// Memory traffic (s = storage bytes): reduce R*C*s read + (R or C)*s written (plus the F32 partials,
// 8*C*R/kChunkRows bytes, in the two-pass column sum); broadcast R*C*s written (+ read when
// accumulating); sum of squares n*s. Flops: about one add per element (reduce_cost()). All are
// memory-bound.
//
// Reference: kernels/reduce/reduce_cpu.cc. Tests: tests/ops/test_ops_reduce.cc, suite "cuda".
#include <algorithm>
#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/reduce/reduce.h"

namespace loom::kernels {
namespace {

constexpr std::int64_t kThreadRowMaxCols = 16;   // up to this a row gets one thread
constexpr std::int64_t kWarpRowMaxCols = 1024;   // up to this a warp, above it a whole block
constexpr std::int64_t kChunkRows = 128;        // rows per partial sum in the two-pass column sum
constexpr int kSumSquaresBlocks = kBlock;       // fixed (and = kBlock for block_sum), so the tree is device-independent

}  // namespace

template <class T>
static __global__ void reduce_rows_thread_kernel(std::int64_t rows, std::int64_t cols, float scale, const T* x, T* y,
                                                 GradMode mode) {
  for (std::int64_t r = grid_start(); r < rows; r += grid_stride()) {
    float acc = 0.0f;
    for (std::int64_t c = 0; c < cols; ++c) acc += load_f32(x, r * cols + c);
    store_grad(y, r, scale * acc, mode);
  }
}

template <class T>
static __global__ void reduce_rows_warp_kernel(std::int64_t rows, std::int64_t cols, float scale, const T* x, T* y,
                                               GradMode mode) {
  const int lane = threadIdx.x & 31;
  const std::int64_t warps_per_grid = grid_stride() / 32;
  for (std::int64_t r = grid_start() / 32; r < rows; r += warps_per_grid) {
    const T* row = x + r * cols;
    float acc = 0.0f;
    for (std::int64_t c = lane; c < cols; c += 32) acc += load_f32(row, c);
    acc = warp_sum(acc);
    if (lane == 0) store_grad(y, r, scale * acc, mode);
  }
}

template <class T>
static __global__ void reduce_rows_block_kernel(std::int64_t rows, std::int64_t cols, float scale, const T* x, T* y,
                                                GradMode mode) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    float acc = 0.0f;
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) acc += load_f32(row, c);
    acc = block_sum(acc);
    if (threadIdx.x == 0) store_grad(y, r, scale * acc, mode);
  }
}

template <class T>
static __global__ void reduce_cols_kernel(std::int64_t rows, std::int64_t cols, float scale, const T* x, T* y,
                                          GradMode mode) {
  for (std::int64_t c = grid_start(); c < cols; c += grid_stride()) {
    float acc = 0.0f;
    for (std::int64_t r = 0; r < rows; ++r) acc += load_f32(x, r * cols + c);
    store_grad(y, c, scale * acc, mode);
  }
}

// Grid: x over columns, y over chunks of chunk_rows rows.
template <class T>
static __global__ void reduce_cols_partial_kernel(std::int64_t rows, std::int64_t cols, std::int64_t chunk_rows,
                                                  const T* x, float* partial) {
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const std::int64_t r0 = static_cast<std::int64_t>(blockIdx.y) * chunk_rows;
  const std::int64_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  float acc = 0.0f;
  for (std::int64_t r = r0; r < r1; ++r) acc += load_f32(x, r * cols + c);
  partial[blockIdx.y * cols + c] = acc;
}

template <class T>
static __global__ void reduce_cols_finish_kernel(std::int64_t chunks, std::int64_t cols, float scale,
                                                 const float* partial, T* y, GradMode mode) {
  for (std::int64_t c = grid_start(); c < cols; c += grid_stride()) {
    float acc = 0.0f;
    for (std::int64_t k = 0; k < chunks; ++k) acc += partial[k * cols + c];
    store_grad(y, c, scale * acc, mode);
  }
}

template <class T>
static __global__ void reduce_broadcast_kernel(std::int64_t rows, std::int64_t cols, ReduceDim dim, float scale,
                                               const T* y, T* x, GradMode mode) {
  const std::int64_t n = rows * cols;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float v = load_f32(y, dim == ReduceDim::First ? i % cols : i / cols);
    store_grad(x, i, scale * v, mode);
  }
}

template <class T>
static __global__ void reduce_sum_squares_partial_kernel(std::int64_t n, const T* x, float* partial) {
  float acc = 0.0f;
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float v = load_f32(x, i);
    acc += v * v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// One block of kSumSquaresBlocks threads: thread t holds partial t (or 0).
static __global__ void reduce_sum_squares_finish_kernel(int num_partials, const float* partial, float* out,
                                                        GradMode mode) {
  float v = static_cast<int>(threadIdx.x) < num_partials ? partial[threadIdx.x] : 0.0f;
  v = block_sum(v);
  if (threadIdx.x == 0) out[0] = mode == GradMode::Accumulate ? out[0] + v : v;
}

// ---- launchers -----------------------------------------------------------------------------------

void reduce_sum_cuda(const ReduceArgs& a, const CudaContext& ctx) {
  const std::int64_t out_len = a.dim == ReduceDim::Last ? a.rows : a.cols;
  if (out_len == 0) return;
  const cudaStream_t stream = ctx.stream();
  if (a.rows == 0 || a.cols == 0) {
    // An empty sum is 0: Overwrite writes zeros, Accumulate adds nothing.
    if (a.mode == GradMode::Overwrite) {
      LOOM_CHECK_SHAPE(a.dtype != DType::F64 && a.dtype != DType::I32, "reduce_sum_cuda: dtype ",
                       dtype_name(a.dtype), " is not supported on CUDA");
      LOOM_CUDA_CHECK(cudaMemsetAsync(a.y, 0, static_cast<std::size_t>(out_len) * dtype_size(a.dtype), stream));
    }
    return;
  }
  dispatch_float_dtype(a.dtype, "reduce_sum_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.y);
    if (a.dim == ReduceDim::Last) {
      if (a.cols <= kThreadRowMaxCols) {
        launch<reduce_rows_thread_kernel<T>>(blocks_for(a.rows), kBlock, stream, a.rows, a.cols, a.scale, x, y, a.mode);
      } else if (a.cols <= kWarpRowMaxCols) {
        launch<reduce_rows_warp_kernel<T>>(blocks_for(a.rows * 32), kBlock, stream, a.rows, a.cols, a.scale, x, y,
                                           a.mode);
      } else {
        const unsigned grid = static_cast<unsigned>(std::min<std::int64_t>(a.rows, kMaxBlocks));
        launch<reduce_rows_block_kernel<T>>(grid, kBlock, stream, a.rows, a.cols, a.scale, x, y, a.mode);
      }
      LOOM_CUDA_CHECK_LAUNCH();
      return;
    }
    if (a.rows <= 2 * kChunkRows) {
      launch<reduce_cols_kernel<T>>(blocks_for(a.cols), kBlock, stream, a.rows, a.cols, a.scale, x, y, a.mode);
      LOOM_CUDA_CHECK_LAUNCH();
      return;
    }
    // gridDim.y is at most 65535, so very tall matrices get longer chunks.
    const std::int64_t chunk_rows = std::max(kChunkRows, (a.rows + 65534) / 65535);
    const std::int64_t chunks = (a.rows + chunk_rows - 1) / chunk_rows;
    auto* partial = static_cast<float*>(ctx.workspace(static_cast<std::size_t>(chunks * a.cols) * sizeof(float)));
    const dim3 grid(static_cast<unsigned>((a.cols + kBlock - 1) / kBlock), static_cast<unsigned>(chunks));
    launch<reduce_cols_partial_kernel<T>>(grid, kBlock, stream, a.rows, a.cols, chunk_rows, x, partial);
    LOOM_CUDA_CHECK_LAUNCH();
    launch<reduce_cols_finish_kernel<T>>(blocks_for(a.cols), kBlock, stream, chunks, a.cols, a.scale, partial, y,
                                         a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void broadcast_cuda(const BroadcastArgs& a, const CudaContext& ctx) {
  if (a.rows == 0 || a.cols == 0) return;
  dispatch_float_dtype(a.dtype, "broadcast_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<reduce_broadcast_kernel<T>>(blocks_for(a.rows * a.cols), kBlock, ctx.stream(),
        a.rows, a.cols, a.dim, a.scale, static_cast<const T*>(a.y), static_cast<T*>(a.x), a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

void sum_squares_cuda(const SumSquaresArgs& a, const CudaContext& ctx) {
  const cudaStream_t stream = ctx.stream();
  if (a.n == 0) {
    if (a.mode == GradMode::Overwrite) LOOM_CUDA_CHECK(cudaMemsetAsync(a.out, 0, sizeof(float), stream));
    return;
  }
  dispatch_float_dtype(a.dtype, "sum_squares_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int blocks = static_cast<int>(std::min<std::int64_t>(kSumSquaresBlocks, (a.n + kBlock - 1) / kBlock));
    auto* partial = static_cast<float*>(ctx.workspace(kSumSquaresBlocks * sizeof(float)));
    launch<reduce_sum_squares_partial_kernel<T>>(blocks, kBlock, stream, a.n, static_cast<const T*>(a.x), partial);
    LOOM_CUDA_CHECK_LAUNCH();
    static_assert(kSumSquaresBlocks % 32 == 0 && kSumSquaresBlocks <= 1024, "one thread per partial");
    launch<reduce_sum_squares_finish_kernel>(1, kSumSquaresBlocks, stream, blocks, partial, a.out, a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace loom::kernels
