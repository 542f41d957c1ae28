// kernels/embedding/embedding_cuda.cu: embedding lookup and its deterministic backward on the GPU.
//
// Math: out[n, :] = weight[ids[n], :]   (a gather of rows)
//       dweight[v, :] (+)= sum over n with ids[n] == v of dout[n, :], summed in increasing n.
// An id outside [0, V) in the forward gets a zero row and is counted into *bad_ids (an int count,
// so its atomicAdd is exact and order-free); the op front-end turns a nonzero count into an error.
//
// Forward: one thread per output element (n, e) in a grid-stride loop; consecutive threads take
// consecutive e of one row, so both the weight row read and the out row write are coalesced.
//
// Backward without float atomics. The obvious kernel, one thread per dout element doing
// atomicAdd(&dweight[ids[n], e]), adds in whatever order the hardware schedules, so repeated ids
// (padding, frequent words) would give different bits run to run. Instead:
//   1. pair every position n with its id and sort the pairs by id with CUB's radix sort. It is
//      stable, and the positions start in increasing order, so equal ids keep increasing n;
//   2. a run is a maximal stretch of equal ids in the sorted order; the thread (p, e) whose p starts a
//      run sums dout[pos[q], e] for q along the run, in order, and writes dweight[id, e] once.
//      Threads whose p is inside a run exit at once (they only read two keys);
//   3. Overwrite first zeroes all of dweight (rows no id touches must read 0) and starts each run's
//      sum at 0; Accumulate starts it at the old dweight value, then adds the run in order, exactly
//      the additions of the CPU reference, so the two agree to the bit in F32.
// A very long run (a padding id in most positions) serializes E threads over its length: that is
// the price of a fixed order; it is still one pass over dout.
//
// Memory traffic (s = storage bytes): forward n*E*s read + n*E*s written + 4n for the ids.
// Backward n*E*s read, V*E*s (Overwrite zeroing) + runs*E*s written, and the sort moves about
// 8n bytes per radix pass (ceil(log2 V) / 8 passes, at most 4). Flops: n*E adds.
//
// Workspace: one ctx.workspace() call holds the sorted ids, the positions before and after the sort
// and CUB's temporary storage (a second call could reallocate and invalidate the first pointer).
//
// Reference: kernels/embedding/embedding_cpu.cc. Tests: tests/ops/test_ops_embedding.cc, suite
// "cuda" (against the CPU with many repeated ids, bit equality across runs).
#include <cub/device/device_radix_sort.cuh>

#include <climits>
#include <cstdint>

#include "kernels/common/launch.cuh"
#include "kernels/embedding/embedding.h"

namespace loom::kernels {

template <class T>
static __global__ void embedding_fwd_kernel(std::int64_t n, std::int64_t V, std::int64_t E, const std::int32_t* ids,
                                            const T* weight, T* out, std::int32_t* bad_ids) {
  const std::int64_t total = n * E;
  for (std::int64_t i = grid_start(); i < total; i += grid_stride()) {
    const std::int64_t row = i / E, e = i - row * E;
    const std::int32_t id = ids[row];
    if (id < 0 || id >= V) {
      out[i] = from_f32<T>(0.0f);
      if (e == 0 && bad_ids) atomicAdd(bad_ids, 1);
    } else {
      out[i] = weight[static_cast<std::int64_t>(id) * E + e];
    }
  }
}

// Only for E == 0, where the forward has no elements but the ids must still be checked.
static __global__ void embedding_count_bad_kernel(std::int64_t n, std::int64_t V, const std::int32_t* ids,
                                                  std::int32_t* bad_ids) {
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) {
    if (ids[i] < 0 || ids[i] >= V) atomicAdd(bad_ids, 1);
  }
}

static __global__ void embedding_iota_kernel(std::int32_t n, std::int32_t* positions) {
  for (std::int64_t i = grid_start(); i < n; i += grid_stride()) positions[i] = static_cast<std::int32_t>(i);
}

// Thread (p, e) over the sorted order: p = i / E. Only run starts do work.
template <class T>
static __global__ void embedding_bwd_runs_kernel(std::int64_t n, std::int64_t V, std::int64_t E,
                                                 const std::uint32_t* sorted_ids,
                                                 const std::int32_t* sorted_positions, const T* dout, T* dweight,
                                                 GradMode mode) {
  const std::int64_t total = n * E;
  for (std::int64_t i = grid_start(); i < total; i += grid_stride()) {
    const std::int64_t p = i / E, e = i - p * E;
    const std::uint32_t id = sorted_ids[p];
    // Ids are validated by the front-end; an id outside [0, V) must still never write out of bounds.
    if ((p > 0 && sorted_ids[p - 1] == id) || id >= V) continue;
    const std::int64_t out = static_cast<std::int64_t>(id) * E + e;
    float acc = mode == GradMode::Accumulate ? load_f32(dweight, out) : 0.0f;
    for (std::int64_t q = p; q < n && sorted_ids[q] == id; ++q) acc += load_f32(dout, sorted_positions[q] * E + e);
    store_from_f32(dweight, out, acc);
  }
}

void embedding_fwd_cuda(const EmbeddingFwdArgs& a, const CudaContext& ctx) {
  const cudaStream_t stream = ctx.stream();
  // *bad_ids is set, not added to: start from zero on the stream, then count.
  if (a.bad_ids) LOOM_CUDA_CHECK(cudaMemsetAsync(a.bad_ids, 0, sizeof(std::int32_t), stream));
  if (a.n == 0) return;
  if (a.E == 0) {
    if (a.bad_ids) {
      launch<embedding_count_bad_kernel>(blocks_for(a.n), kBlock, stream, a.n, a.V, a.ids, a.bad_ids);
      LOOM_CUDA_CHECK_LAUNCH();
    }
    return;
  }
  dispatch_float_dtype(a.dtype, "embedding_fwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch<embedding_fwd_kernel<T>>(blocks_for(a.n * a.E), kBlock, stream,
        a.n, a.V, a.E, a.ids, static_cast<const T*>(a.weight), static_cast<T*>(a.out), a.bad_ids);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

namespace {

std::size_t align_up(std::size_t n) { return (n + 255) / 256 * 256; }

}  // namespace

void embedding_bwd_cuda(const EmbeddingBwdArgs& a, const CudaContext& ctx) {
  const cudaStream_t stream = ctx.stream();
  dispatch_float_dtype(a.dtype, "embedding_bwd_cuda", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a.V == 0 || a.E == 0) return;
    if (a.mode == GradMode::Overwrite) {
      LOOM_CUDA_CHECK(cudaMemsetAsync(a.dweight, 0, static_cast<std::size_t>(a.V * a.E) * sizeof(T), stream));
    }
    if (a.n == 0) return;
    LOOM_CHECK_SHAPE(a.n <= INT_MAX && a.V <= INT_MAX, "embedding_bwd_cuda: n = ", a.n, " and V = ", a.V,
                     " must fit in int32 (positions and ids are sorted as 32-bit keys)");
    const int n = static_cast<int>(a.n);
    // Ids are validated to [0, V), so only the low bits that can differ need radix passes.
    int end_bit = 1;
    while (end_bit < 32 && (std::int64_t{1} << end_bit) < a.V) ++end_bit;
    // Non-negative int32 ids sort the same as uint32, which avoids CUB's sign-bit flip.
    const auto* ids = reinterpret_cast<const std::uint32_t*>(a.ids);

    std::size_t temp_bytes = 0;
    LOOM_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, ids, static_cast<std::uint32_t*>(nullptr),
                                                    static_cast<const std::int32_t*>(nullptr),
                                                    static_cast<std::int32_t*>(nullptr), n, 0, end_bit, stream));
    const std::size_t key_bytes = align_up(sizeof(std::uint32_t) * n), pos_bytes = align_up(sizeof(std::int32_t) * n);
    char* ws = static_cast<char*>(ctx.workspace(key_bytes + 2 * pos_bytes + temp_bytes));
    auto* sorted_ids = reinterpret_cast<std::uint32_t*>(ws);
    auto* positions = reinterpret_cast<std::int32_t*>(ws + key_bytes);
    auto* sorted_positions = reinterpret_cast<std::int32_t*>(ws + key_bytes + pos_bytes);
    void* temp = ws + key_bytes + 2 * pos_bytes;

    launch<embedding_iota_kernel>(blocks_for(n), kBlock, stream, n, positions);
    LOOM_CUDA_CHECK_LAUNCH();
    LOOM_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, ids, sorted_ids, positions, sorted_positions, n,
                                                    0, end_bit, stream));
    LOOM_CUDA_CHECK_LAUNCH();
    launch<embedding_bwd_runs_kernel<T>>(blocks_for(a.n * a.E), kBlock, stream,
        a.n, a.V, a.E, sorted_ids, sorted_positions, static_cast<const T*>(a.dout), static_cast<T*>(a.dweight), a.mode);
    LOOM_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace loom::kernels
