// sim/device.h: the CUDA device language for the host compiler (included into every SIM kernel
// translation unit with `-include sim/device.h`, and by sim/include/cuda_runtime.h).
//
// It first includes the real toolkit headers in host mode (types, half/bfloat16 conversions), then
// adds what only nvcc knows: the built-in variables, __shared__, barriers, warp shuffles and votes,
// atomics and the fast-math intrinsics. See sim/README.md for how a launch executes.
//
// Accuracy of the intrinsics: each is computed with the host's libm in float (or exactly, where CUDA
// is exact). The GPU's fast versions are LESS accurate (__expf: 2 + 1.5*|x| ulp; __logf, __fdividef,
// rsqrtf: about 2 ulp), so results agree with a GPU to the documented tolerance, not bit for bit.
#pragma once

#include <cuda_runtime.h>  // the stand-in: the real header, then this file (already being read)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "sim/launch.h"

#ifndef LOOM_SIM
#define LOOM_SIM 1
#endif

// ---- the sim API the device functions below (and sim/include's stand-ins) are built on --------------
namespace loom::sim {
void block_barrier();          // __syncthreads: waits until every live thread of the block arrives
void warp_sync(unsigned mask);  // __syncwarp(mask): waits until every lane of mask arrives
// Warp-collective exchange: every lane of `mask` posts `mine` and waits for the others; returns the
// 32 posted pointers (nullptr for lanes outside mask). Valid until the caller's next
// warp_sync/exchange; call warp_sync(mask) after reading so no lane moves on and overwrites (or
// leaves the scope of) what others still read.
const void* const* warp_exchange(unsigned mask, const void* mine);
unsigned lane_id();
// Lanes of the calling warp that exist (a partial last warp has fewer) and have not exited.
unsigned active_mask();

}  // namespace loom::sim

// ---- built-in variables -----------------------------------------------------------------------------
// Objects, not macros: the real headers use these names for struct members and parameters. The
// scheduler sets them before it resumes a fiber. thread_local because each OS thread that launches
// kernels runs its own scheduler.
inline thread_local uint3 threadIdx{};
inline thread_local uint3 blockIdx{};
inline thread_local dim3 blockDim{};
inline thread_local dim3 gridDim{};
constexpr int warpSize = 32;

// ---- declaration specifiers ----------------------------------------------------------------------
// host_defines.h makes __shared__ empty in host mode, which would silently turn a shared array into
// one copy per thread on each fiber's stack. Instead: one static object per declaration. Blocks run
// one at a time, so that one copy is the running block's shared memory.
// With clang, all of them also go into the linker section loom_sim_shared, so
// [__start_loom_sim_shared, __stop_loom_sim_shared) is all shared memory and the checks can tell a
// shared access from any other (sim/state.h, shared_memory()). GCC 12 cannot do that: it silently
// ignores a section attribute on the statics of function templates (every templated kernel's tiles)
// and refuses to put an inline function's statics (comdat) and a plain function's into one section
// ("section type conflict"). Under GCC the section is empty, and the checks find the shared
// variables in the symbol table instead (sim/checks_symbols.h).
#undef __shared__
#if defined(__clang__)
#define __shared__ __attribute__((section("loom_sim_shared"))) static
#else
#define __shared__ static
#endif

#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

// ---- barriers and warp operations ---------------------------------------------------------------
inline void __syncthreads() { loom::sim::block_barrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { loom::sim::warp_sync(mask); }
inline void __threadfence() {}        // one OS thread: every store is already visible
inline void __threadfence_block() {}
inline unsigned __activemask() { return loom::sim::active_mask(); }

namespace loom::sim {
// One-step shuffle: every lane of mask posts `mine` and names the lane it reads (src_lane, or -1 for
// "keep my own value"); when the last lane arrives, the scheduler copies each lane's answer into its
// `result` while all of them still wait, so a shuffle costs one sync point, not two. A source lane
// outside mask (undefined in CUDA) leaves `result` as it was.
void warp_shuffle(unsigned mask, const void* mine, void* result, std::size_t bytes, int src_lane);
// One-step vote: the bits of the lanes of mask whose predicate is nonzero.
unsigned warp_ballot(unsigned mask, int predicate);

// The shuffle all four __shfl*_sync share: `source(lane)` is the lane to read, or -1 for "keep my
// own value" (CUDA's rule for a source outside the lane's width-segment).
template <class T, class Source>
T shuffle(unsigned mask, T var, Source source) {
  static_assert(std::is_trivially_copyable_v<T>, "__shfl*_sync needs a trivially copyable type");
  T result = var;
  warp_shuffle(mask, &var, &result, sizeof(T), source(static_cast<int>(lane_id())));
  return result;
}

// Lanes are split into segments of `width` (a power of two <= 32); segment_lo/hi bound the caller's.
inline int segment_lo(int lane, int width) { return lane & ~(width - 1); }
inline int segment_hi(int lane, int width) { return lane | (width - 1); }
}  // namespace loom::sim

// srcLane is taken modulo width (CUDA: "the value held by srcLane modulo width").
template <class T>
T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize) {
  return loom::sim::shuffle(mask, var, [&](int lane) {
    return loom::sim::segment_lo(lane, width) + (srcLane & (width - 1));
  });
}
// From lane - delta; lanes whose source would fall below their segment keep their value.
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return loom::sim::shuffle(mask, var, [&](int lane) {
    const int src = lane - static_cast<int>(delta);
    return src < loom::sim::segment_lo(lane, width) ? -1 : src;
  });
}
// From lane + delta; lanes whose source would pass the end of their segment keep their value.
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return loom::sim::shuffle(mask, var, [&](int lane) {
    const int src = lane + static_cast<int>(delta);
    return src > loom::sim::segment_hi(lane, width) ? -1 : src;
  });
}
// From lane ^ laneMask; a source in a LATER segment gives the caller's own value, an earlier one is
// read (CUDA's documented rule for width < 32).
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize) {
  return loom::sim::shuffle(mask, var, [&](int lane) {
    const int src = lane ^ laneMask;
    return src > loom::sim::segment_hi(lane, width) ? -1 : src;
  });
}

inline unsigned __ballot_sync(unsigned mask, int predicate) { return loom::sim::warp_ballot(mask, predicate); }
inline int __any_sync(unsigned mask, int predicate) { return loom::sim::warp_ballot(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) { return loom::sim::warp_ballot(mask, !predicate) == 0; }

// ---- atomics ---------------------------------------------------------------------------------------
// No locking: one OS thread runs every fiber, and a fiber only switches at a barrier or warp
// operation, never inside these. The accesses are ordinary loads and stores, so the checks see them.
// Integer sums wrap as on the GPU (computed in unsigned, where C++ defines the wrap).
inline int atomicAdd(int* a, int v) {
  const int old = *a;
  *a = static_cast<int>(static_cast<unsigned>(old) + static_cast<unsigned>(v));
  return old;
}
inline unsigned atomicAdd(unsigned* a, unsigned v) { const unsigned old = *a; *a = old + v; return old; }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) {
  const unsigned long long old = *a;
  *a = old + v;
  return old;
}
inline float atomicAdd(float* a, float v) { const float old = *a; *a = old + v; return old; }
inline double atomicAdd(double* a, double v) { const double old = *a; *a = old + v; return old; }
inline int atomicSub(int* a, int v) {
  const int old = *a;
  *a = static_cast<int>(static_cast<unsigned>(old) - static_cast<unsigned>(v));
  return old;
}
inline unsigned atomicSub(unsigned* a, unsigned v) { const unsigned old = *a; *a = old - v; return old; }

template <class T>
T loom_sim_atomic_exch(T* a, T v) { const T old = *a; *a = v; return old; }
template <class T>
T loom_sim_atomic_max(T* a, T v) { const T old = *a; if (v > old) *a = v; return old; }
template <class T>
T loom_sim_atomic_min(T* a, T v) { const T old = *a; if (v < old) *a = v; return old; }
template <class T>
T loom_sim_atomic_cas(T* a, T compare, T v) { const T old = *a; if (old == compare) *a = v; return old; }

inline int atomicExch(int* a, int v) { return loom_sim_atomic_exch(a, v); }
inline unsigned atomicExch(unsigned* a, unsigned v) { return loom_sim_atomic_exch(a, v); }
inline unsigned long long atomicExch(unsigned long long* a, unsigned long long v) { return loom_sim_atomic_exch(a, v); }
inline float atomicExch(float* a, float v) { return loom_sim_atomic_exch(a, v); }
inline int atomicMax(int* a, int v) { return loom_sim_atomic_max(a, v); }
inline unsigned atomicMax(unsigned* a, unsigned v) { return loom_sim_atomic_max(a, v); }
inline long long atomicMax(long long* a, long long v) { return loom_sim_atomic_max(a, v); }
inline unsigned long long atomicMax(unsigned long long* a, unsigned long long v) { return loom_sim_atomic_max(a, v); }
inline int atomicMin(int* a, int v) { return loom_sim_atomic_min(a, v); }
inline unsigned atomicMin(unsigned* a, unsigned v) { return loom_sim_atomic_min(a, v); }
inline long long atomicMin(long long* a, long long v) { return loom_sim_atomic_min(a, v); }
inline unsigned long long atomicMin(unsigned long long* a, unsigned long long v) { return loom_sim_atomic_min(a, v); }
inline int atomicCAS(int* a, int c, int v) { return loom_sim_atomic_cas(a, c, v); }
inline unsigned atomicCAS(unsigned* a, unsigned c, unsigned v) { return loom_sim_atomic_cas(a, c, v); }
inline unsigned long long atomicCAS(unsigned long long* a, unsigned long long c, unsigned long long v) {
  return loom_sim_atomic_cas(a, c, v);
}

// ---- loads and intrinsics ------------------------------------------------------------------------
template <class T>
T __ldg(const T* p) { return *p; }  // the read-only cache path: a plain load

inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }  // exact rounding, as CUDA's _rn
inline float __fmaf_rn(float x, float y, float z) { return std::fma(x, y, z); }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }  // NaN -> 0
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, sizeof i); return i; }
inline unsigned __float_as_uint(float x) { unsigned i; std::memcpy(&i, &x, sizeof i); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, sizeof x); return x; }
inline float __uint_as_float(unsigned i) { float x; std::memcpy(&x, &i, sizeof x); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
