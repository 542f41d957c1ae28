// kernels/conv1d/conv1d_cuda_gemm.cuh: the implicit-GEMM tile machinery shared by v2
// (conv1d_cuda_igemm.cu: forward, backward data, backward weight) and v3 (conv1d_cuda_textcnn.cu).
// Included only by those two files; the math and traffic formulas are in their comment blocks.
//
// One block computes a 64 x 64 tile of C = sum over taps k of A_k . B_k, where A_k [M, R] and
// B_k [R, N] are never materialised (no im2col): an Operand describes where element (i, j) of tap
// k lives in the time-major tensor and when it reads as zero. Because x is [T, B, C], shifting a
// tap by d time steps shifts the flattened row index by d*B, so "row m of X shifted by tap k" is
// row m + (k*dil - pad_left)*B of the same contiguous [T*B, C] matrix; rows outside [0, rows) are
// the zero padding. The same descriptor covers the transposed operands of the backward passes.
//
// Main loop, per block: for each tap k and each BK-wide chunk of the reduction, every thread
// fetches its share of the A tile (64 x BK) and B tile (BK x 64) into registers, the block stores
// them to shared memory, and the warps multiply. The fetch of chunk q+1 is issued before the
// multiply of chunk q (register double buffering), so global latency overlaps the math. Loads are
// scalar (C = 300 or F = 100 rows are not 16-byte aligned) and coalesced: threads walk the
// operand's contiguous index (whichever of i, j has stride 1).
//
// Policies (the multiply; the host picks one per dtype and MathMode):
//   SimtF32         F32, 256 threads as 16 x 16, each owns a 4 x 4 strided micro-tile (rows
//                   ty + 16a, cols tx + 16b): reads of the A tile are warp broadcasts and reads of
//                   the B tile are 16 consecutive words, so shared memory has no bank conflicts;
//                   BK = 16 and a 1-word pad on each row keep the transposed stores nearly
//                   conflict-free. 96 registers.
//   Wmma<half/bf16> tensor cores through nvcuda::wmma m16n16k16 with F32 accumulators: 4 warps as
//                   2 x 2, each owns 32 x 32 (2 x 2 fragments); BK = 32 (two k-steps per chunk).
//                   ~160 registers (accumulators, fragments and 2 x 16 prefetched elements): three
//                   blocks, 12 warps, per SM.
//   Wmma<tf32>      F32 storage with MathMode::AllowTf32: m16n16k8, operands rounded to TF32 in the
//                   fragments, F32 accumulation; BK = 16 keeps it at the same register budget.
//   The loaders' walk direction is a template parameter: chosen at run time, both address patterns
//   stay live and the WMMA kernels need ~250 registers.
//   Tile 64 x 64: each loaded element feeds 64 flops (32 flop/byte for 16-bit storage). That is
//   below an H100's tensor-core ridge even from L2, so large convolutions are load-bound here; the
//   lever is bigger tiles with asynchronous copies (cp.async/TMA), a later variant. For text-CNN
//   shapes (M = B*T' ~ 3-20k, N = F ~ 100-300) 64 x 64 still gives hundreds of blocks. Shared
//   memory is 17.4 KB per block (A + B tiles, reused for the F32 C tile). Rows are padded by 16
//   bytes: it keeps WMMA's 32-byte pointer alignment and breaks the power-of-two stride that would
//   put a column of the tile in one bank.
// After the loop the accumulators go through shared memory as a row-major F32 tile (Cs), so every
// policy hands the same thing to the caller's epilogue (bias, GradMode, split-K partials, or the
// text-CNN running max).
//
// Needs sm_80 or newer (bf16 and tf32 WMMA): the project builds for 80 and 90.
#pragma once

#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "kernels/common/launch.cuh"

namespace loom::kernels::conv1d_gemm {

namespace wmma = nvcuda::wmma;

constexpr int kBM = 64, kBN = 64;  // output tile
constexpr int kLDC = kBN + 4;      // row stride of the F32 C tile (16 bytes of pad)

// Element (i, j) of tap k: p[k*tap_stride + i*si + j*sj], with the shifted index moved by
// shift0 + k*shift_per_tap; zero when i >= I, j >= J, or the shifted row is outside [0, rows).
template <class T>
struct Operand {
  const T* p = nullptr;
  std::int64_t si = 0, sj = 0;  // element strides of i and j
  std::int64_t I = 0, J = 0;    // extents
  std::int64_t tap_stride = 0;  // elements added per tap (a weight tap W_k = weight[:, k, :])
  int shifted = -1;             // which index is a time-shifted row: 0 = i, 1 = j, -1 = none
  std::int64_t shift0 = 0, shift_per_tap = 0, rows = 0;
};

// Each of the NT threads owns kElems elements of a TI x TJ tile, held in registers between the
// global fetch and the shared-memory store. Threads walk the operand's contiguous index: with
// j_fast (stride sj == 1) thread t owns column t % TJ and rows t / TJ + e * (NT / TJ), otherwise
// row t % TI and columns t / TI + e * (NT / TI). One coordinate is fixed per thread, so the
// bounds of that one are checked once and each element costs one compare and one add.
template <class T, int TI, int TJ, int NT, int LD, bool kJFast>
struct TileLoader {
  static_assert(NT % TI == 0 && NT % TJ == 0 && (TI * TJ) % NT == 0, "the tile must split evenly");
  static constexpr int kElems = TI * TJ / NT;
  static constexpr bool j_fast = kJFast;
  static constexpr int step = kJFast ? NT / TJ : NT / TI;
  T v[kElems];
  int fixed, start;

  __device__ __forceinline__ TileLoader() {
    const int tid = static_cast<int>(threadIdx.x);
    fixed = j_fast ? tid % TJ : tid % TI;
    start = j_fast ? tid / TJ : tid / TI;
  }

  // Extents, rows and shifts fit 32 bits (conv1d_cuda_supports / textcnn_cuda_supports check the
  // sizes), so the per-element work is 32-bit; only the pointer walk is 64-bit.
  __device__ __forceinline__ void fetch(const Operand<T>& op, int k, std::int64_t i0, std::int64_t j0) {
    const int shift = static_cast<int>(op.shift0 + k * op.shift_per_tap);
    // f: the thread's fixed coordinate, m: the moving one (i when j_fast).
    const int gf = static_cast<int>((j_fast ? j0 : i0) + fixed), gm0 = static_cast<int>((j_fast ? i0 : j0) + start);
    const int ext_f = static_cast<int>(j_fast ? op.J : op.I), ext_m = static_cast<int>(j_fast ? op.I : op.J);
    const std::int64_t s_f = j_fast ? op.sj : op.si, s_m = j_fast ? op.si : op.sj;
    const bool shifted_m = op.shifted == (j_fast ? 0 : 1), shifted_f = op.shifted == (j_fast ? 1 : 0);
    const unsigned rows = static_cast<unsigned>(op.rows);
    bool ok_f = gf < ext_f;
    if (shifted_f) ok_f = ok_f && static_cast<unsigned>(gf + shift) < rows;
    const T* ptr = op.p + (k * op.tap_stride + static_cast<std::int64_t>(shift) * (shifted_m ? s_m : shifted_f ? s_f : 0) +
                           gf * s_f + gm0 * s_m);
    const std::int64_t dm = step * s_m;
    int gm = gm0;
#pragma unroll
    for (int e = 0; e < kElems; ++e) {
      bool ok = ok_f && gm < ext_m;
      if (shifted_m) ok = ok && static_cast<unsigned>(gm + shift) < rows;
      v[e] = ok ? *ptr : from_f32<T>(0.0f);
      ptr += dm;
      gm += step;
    }
  }

  __device__ __forceinline__ void store(T* tile) const {
#pragma unroll
    for (int e = 0; e < kElems; ++e) {
      const int m = start + e * step;
      tile[j_fast ? m * LD + fixed : fixed * LD + m] = v[e];
    }
  }
};

// ---- policies ----------------------------------------------------------------------------------

struct SimtF32 {
  using T = float;
  static constexpr int NT = 256, BK = 16, LDA = BK + 1, LDB = kBN + 1;
  static constexpr int kMinBlocks = 2;  // __launch_bounds__: at most 128 registers per thread
  struct Acc {
    float v[4][4];
  };
  __device__ __forceinline__ static void zero(Acc& acc) {
#pragma unroll
    for (int a = 0; a < 4; ++a)
#pragma unroll
      for (int b = 0; b < 4; ++b) acc.v[a][b] = 0.0f;
  }
  __device__ __forceinline__ static void compute(const T* As, const T* Bs, Acc& acc) {
    const int ty = static_cast<int>(threadIdx.x) / 16, tx = static_cast<int>(threadIdx.x) % 16;
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        a[q] = As[(ty + 16 * q) * LDA + kk];
        b[q] = Bs[kk * LDB + tx + 16 * q];
      }
#pragma unroll
      for (int p = 0; p < 4; ++p)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc.v[p][q] = fmaf(a[p], b[q], acc.v[p][q]);
    }
  }
  __device__ __forceinline__ static void store(const Acc& acc, float* Cs) {
    const int ty = static_cast<int>(threadIdx.x) / 16, tx = static_cast<int>(threadIdx.x) % 16;
#pragma unroll
    for (int p = 0; p < 4; ++p)
#pragma unroll
      for (int q = 0; q < 4; ++q) Cs[(ty + 16 * p) * kLDC + tx + 16 * q] = acc.v[p][q];
  }
};

// T: storage (and shared-memory) type; FragT: WMMA element type; KS: the k of m16n16kKS; BK_: the
// reduction chunk per shared-memory tile.
template <class T_, class FragT, int KS, int BK_>
struct Wmma {
  using T = T_;
  static constexpr int NT = 128, BK = BK_;
  static constexpr int kMinBlocks = 3;  // __launch_bounds__: <= 168 registers, 12 warps per SM
  static constexpr int kPad = 16 / static_cast<int>(sizeof(T));  // 16 bytes
  static constexpr int LDA = BK + kPad, LDB = kBN + kPad;
  using AccFrag = wmma::fragment<wmma::accumulator, 16, 16, KS, float>;
  struct Acc {
    AccFrag f[2][2];
  };
  __device__ __forceinline__ static void zero(Acc& acc) {
#pragma unroll
    for (int a = 0; a < 2; ++a)
#pragma unroll
      for (int b = 0; b < 2; ++b) wmma::fill_fragment(acc.f[a][b], 0.0f);
  }
  __device__ __forceinline__ static void compute(const T* As, const T* Bs, Acc& acc) {
    const int warp = static_cast<int>(threadIdx.x) / 32, wm = warp / 2, wn = warp % 2;
#pragma unroll
    for (int kk = 0; kk < BK; kk += KS) {
      wmma::fragment<wmma::matrix_a, 16, 16, KS, FragT, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, KS, FragT, wmma::row_major> b[2];
#pragma unroll
      for (int q = 0; q < 2; ++q) {
        wmma::load_matrix_sync(a[q], As + (wm * 32 + q * 16) * LDA + kk, LDA);
        wmma::load_matrix_sync(b[q], Bs + kk * LDB + wn * 32 + q * 16, LDB);
        if constexpr (std::is_same_v<FragT, wmma::precision::tf32>) {
#pragma unroll
          for (int e = 0; e < a[q].num_elements; ++e) a[q].x[e] = wmma::__float_to_tf32(a[q].x[e]);
#pragma unroll
          for (int e = 0; e < b[q].num_elements; ++e) b[q].x[e] = wmma::__float_to_tf32(b[q].x[e]);
        }
      }
#pragma unroll
      for (int p = 0; p < 2; ++p)
#pragma unroll
        for (int q = 0; q < 2; ++q) wmma::mma_sync(acc.f[p][q], a[p], b[q], acc.f[p][q]);
    }
  }
  __device__ __forceinline__ static void store(const Acc& acc, float* Cs) {
    const int warp = static_cast<int>(threadIdx.x) / 32, wm = warp / 2, wn = warp % 2;
#pragma unroll
    for (int p = 0; p < 2; ++p)
#pragma unroll
      for (int q = 0; q < 2; ++q)
        wmma::store_matrix_sync(Cs + (wm * 32 + p * 16) * kLDC + wn * 32 + q * 16, acc.f[p][q], kLDC,
                                wmma::mem_row_major);
  }
};

using WmmaF16 = Wmma<__half, __half, 16, 32>;
using WmmaBF16 = Wmma<__nv_bfloat16, __nv_bfloat16, 16, 32>;
using WmmaTF32 = Wmma<float, wmma::precision::tf32, 8, 16>;

// Shared memory of one block: the A and B tiles, later reused for the F32 C tile.
template <class P>
constexpr int smem_bytes() {
  const int ab = (kBM * P::LDA + P::BK * P::LDB) * static_cast<int>(sizeof(typename P::T));
  const int c = kBM * kLDC * static_cast<int>(sizeof(float));
  return ab > c ? ab : c;
}

// acc = sum over taps k in [k0, k1) and reduction indices r in [r0, r1) of A_k(m, r) B_k(r, n)
// for the tile at (m0, n0). Every thread of the block must call it (it synchronises); on return
// the shared buffer is free for the caller's C tile.
template <class P, bool kAJFast, bool kBJFast>
__device__ __forceinline__ void gemm_mainloop(const Operand<typename P::T>& A, const Operand<typename P::T>& B,
                                              int k0, int k1, std::int64_t r0, std::int64_t r1, std::int64_t m0,
                                              std::int64_t n0, unsigned char* smem, typename P::Acc& acc) {
  using T = typename P::T;
  T* As = reinterpret_cast<T*>(smem);
  T* Bs = As + kBM * P::LDA;
  P::zero(acc);
  const std::int64_t per_tap = r1 > r0 ? (r1 - r0 + P::BK - 1) / P::BK : 0;
  const std::int64_t chunks = per_tap * (k1 - k0);
  TileLoader<T, kBM, P::BK, P::NT, P::LDA, kAJFast> la;
  TileLoader<T, P::BK, kBN, P::NT, P::LDB, kBJFast> lb;
  int k = k0;
  std::int64_t r = r0;
  if (chunks > 0) {
    la.fetch(A, k, m0, r);
    lb.fetch(B, k, r, n0);
  }
  for (std::int64_t q = 0; q < chunks; ++q) {
    __syncthreads();  // every warp is done with the previous chunk (or the caller's C tile)
    la.store(As);
    lb.store(Bs);
    __syncthreads();
    if (q + 1 < chunks) {
      r += P::BK;
      if (r >= r1) {
        r = r0;
        ++k;
      }
      la.fetch(A, k, m0, r);
      lb.fetch(B, k, r, n0);
    }
    P::compute(As, Bs, acc);
  }
  __syncthreads();
}

// Calls f(Policy{}) with the policy for a storage dtype and math mode (F64/I32: ShapeError).
template <class F>
void dispatch_policy(DType dtype, MathMode math, const char* op, F&& f) {
  switch (dtype) {
    case DType::F32:
      if (math == MathMode::AllowTf32) f(WmmaTF32{});
      else f(SimtF32{});
      return;
    case DType::F16: f(WmmaF16{}); return;
    case DType::BF16: f(WmmaBF16{}); return;
    case DType::F64:
    case DType::I32: break;
  }
  LOOM_THROW(ShapeError, op, ": dtype ", dtype_name(dtype), " is not supported on CUDA (f32, f16 and bf16 only)");
}

}  // namespace loom::kernels::conv1d_gemm
