// sim/include/cub/block/block_reduce.cuh: the simulator's stand-in for CUB's BlockReduce (the real
// CUB does not compile for the host). Only what loom uses: BlockReduce<T, BLOCK_DIM_X, algorithm>
// with TempStorage, Sum() and Reduce(); the result is valid in thread 0, as in CUB.
//
// It is written as device code (shuffles, a __shared__ scratch, __syncthreads), so the scheduler and
// the checks see the same synchronisation a GPU run has, and racecheck would see a missing barrier.
// Every algorithm argument runs the BLOCK_REDUCE_WARP_REDUCTIONS pattern: each warp reduces with a
// shuffle-down tree into its lane 0, lane 0 writes the warp's partial to shared memory, and after a
// barrier thread 0 adds the partials in warp order. For a fixed block size that is a fixed tree, so
// a sum gives the same bits on every run (CUB's order of additions may differ: results agree to
// float rounding, not bit for bit).
#pragma once

namespace cub {

enum BlockReduceAlgorithm {
  BLOCK_REDUCE_RAKING_COMMUTATIVE_ONLY,
  BLOCK_REDUCE_RAKING,
  BLOCK_REDUCE_WARP_REDUCTIONS,
};

struct Sum {
  template <class T>
  __device__ T operator()(const T& a, const T& b) const {
    return a + b;
  }
};

template <class T, int BLOCK_DIM_X, BlockReduceAlgorithm ALGORITHM = BLOCK_REDUCE_WARP_REDUCTIONS,
          int BLOCK_DIM_Y = 1, int BLOCK_DIM_Z = 1, int LEGACY_PTX_ARCH = 0>
class BlockReduce {
  static constexpr int kThreads = BLOCK_DIM_X * BLOCK_DIM_Y * BLOCK_DIM_Z;
  static constexpr int kWarps = (kThreads + 31) / 32;

 public:
  // One partial per warp. Declared by the caller as `__shared__ typename Reduce::TempStorage t;`.
  struct TempStorage {
    T warp_partial[kWarps];
  };

  __device__ explicit BlockReduce(TempStorage& temp) : temp_(temp) {}

  __device__ T Sum(T input) { return Reduce(input, cub::Sum{}); }
  __device__ T Sum(T input, int num_valid) { return Reduce(input, cub::Sum{}, num_valid); }

  template <class Op>
  __device__ T Reduce(T input, Op op) {
    return Reduce(input, op, kThreads);
  }

  // Threads at or past num_valid contribute nothing (their input is not read into the result).
  template <class Op>
  __device__ T Reduce(T input, Op op, int num_valid) {
    const int tid = static_cast<int>(threadIdx.x + threadIdx.y * BLOCK_DIM_X + threadIdx.z * BLOCK_DIM_X * BLOCK_DIM_Y);
    const int warp = tid / 32, lane = tid % 32;
    // Lanes of this warp that exist (the last warp may be partial) and that hold a valid input.
    const int lanes = kThreads - warp * 32 < 32 ? kThreads - warp * 32 : 32;
    const unsigned mask = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
    int valid = num_valid - warp * 32;
    valid = valid < 0 ? 0 : (valid > lanes ? lanes : valid);

    // Shuffle-down tree: after the step with offset o, lane l holds the sum of lanes [l, l + 2o).
    // A lane adds its partner only when the partner holds a valid input.
    T value = input;
    for (int offset = 16; offset > 0; offset >>= 1) {
      const T other = __shfl_down_sync(mask, value, offset);
      if (lane + offset < valid) value = op(value, other);
    }
    if (lane == 0 && valid > 0) temp_.warp_partial[warp] = value;
    __syncthreads();

    T total = value;  // thread 0: its own warp's sum (or its input if warp 0 holds none)
    if (tid == 0) {
      const int warps_valid = (num_valid + 31) / 32 < kWarps ? (num_valid + 31) / 32 : kWarps;
      for (int w = 1; w < warps_valid; ++w) total = op(total, temp_.warp_partial[w]);
    }
    return total;
  }

 private:
  TempStorage& temp_;
};

}  // namespace cub
