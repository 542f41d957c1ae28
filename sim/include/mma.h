// sim/include/mma.h: the simulator's stand-in for nvcuda::wmma (tensor-core fragments), found
// before the toolkit's mma.h on a SIM translation unit's include path.
//
// Shapes: m16n16k16 with half or bf16 inputs, m16n16k8 with tf32 inputs; accumulators in float
// (or half). A fragment holds one warp's share of a tile: matrix_a is M x K, matrix_b is K x N,
// the accumulator M x N. The simulator's layout (the real one is unspecified and differs): number
// the tile's elements row-major, e = row * cols + col; lane e % 32 owns element e, at x[e / 32].
// So each lane holds num_elements = rows * cols / 32 values, and code that treats x[] element by
// element (scaling, __float_to_tf32, activation) behaves as on a GPU; code that assumes which
// element x[i] is would not be portable on a GPU either.
//
// load_matrix_sync and store_matrix_sync touch only the calling lane's own elements, so the checks
// and the profile see a warp reading the tile together. mma_sync is warp-collective: each lane posts
// its fragments with sim::warp_exchange, computes its own output elements from the other lanes'
// A and B values (products summed in float in k order), and waits at warp_sync until every lane is
// done reading. TF32: __float_to_tf32 rounds to nearest, ties away from zero, to 10 mantissa bits;
// mma_sync on tf32 fragments uses only the top 19 bits of each input (it truncates the rest), as
// the hardware does.
//
// The documented preconditions are checked (memcheck faults): the pointer 256-bit aligned, ldm a
// multiple of 16 bytes.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "sim/state.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

namespace sim_detail {

// What a fragment stores for an element type (tf32 values are held in float).
template <class T>
struct storage {
  using type = T;
};
template <>
struct storage<precision::tf32> {
  using type = float;
};

// The tile a fragment holds: rows x cols.
template <class Use, int M, int N, int K>
struct tile;
template <int M, int N, int K>
struct tile<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct tile<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct tile<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

inline float to_float(float v) { return v; }
inline float to_float(__half v) { return __half2float(v); }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class S>
S from_float(float v) {
  if constexpr (std::is_same_v<S, __half>) return __float2half_rn(v);
  else if constexpr (std::is_same_v<S, __nv_bfloat16>) return __float2bfloat16_rn(v);
  else return v;
}

// The top 19 bits of a float (sign, exponent, 10 mantissa bits): what a tf32 multiply reads.
inline float truncate_tf32(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits &= 0xFFFFE000u;
  std::memcpy(&v, &bits, 4);
  return v;
}

inline void check_pointer(const char* fn, const void* p, unsigned ldm, std::size_t elem) {
  if (reinterpret_cast<std::uintptr_t>(p) % 32 != 0 || (ldm * elem) % 16 != 0) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "%s: pointer %p must be 256-bit aligned and ldm = %u a multiple of 16 bytes",
                  fn, p, ldm);
    loom::sim::report_fault(loom::sim::Check::memcheck, msg);
  }
}

}  // namespace sim_detail

template <class Use, int M, int N, int K, class T, class Layout = void>
class fragment {
  using Tile = sim_detail::tile<Use, M, N, K>;

 public:
  using element_type = T;
  using storage_element_type = typename sim_detail::storage<T>::type;
  static constexpr int rows = Tile::rows, cols = Tile::cols;
  static constexpr int num_elements = rows * cols / 32;
  static_assert(rows * cols % 32 == 0, "a fragment's tile splits evenly over 32 lanes");
  storage_element_type x[num_elements];
};

template <class Use, int M, int N, int K, class T, class L>
__device__ void fill_fragment(fragment<Use, M, N, K, T, L>& f, float value) {
  using S = typename fragment<Use, M, N, K, T, L>::storage_element_type;
  for (int i = 0; i < f.num_elements; ++i) f.x[i] = sim_detail::from_float<S>(value);
}

inline float __float_to_tf32(float v) {
  if (!std::isfinite(v)) return v;  // NaN and infinities pass through
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = (bits + 0x1000u) & 0xFFFFE000u;  // add half a unit of the kept last bit, then truncate
  std::memcpy(&v, &bits, 4);
  return v;
}

// matrix_a / matrix_b: the fragment's layout parameter says how the tile lies in memory.
template <class Use, int M, int N, int K, class T, class L, class P>
__device__ void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const P* p, unsigned ldm) {
  static_assert(!std::is_same_v<Use, accumulator>, "an accumulator load takes a layout_t");
  using Frag = fragment<Use, M, N, K, T, L>;
  sim_detail::check_pointer("wmma::load_matrix_sync", p, ldm, sizeof(P));
  const int lane = static_cast<int>(loom::sim::lane_id());
  for (int i = 0; i < Frag::num_elements; ++i) {
    const int e = lane + 32 * i, r = e / Frag::cols, c = e % Frag::cols;
    const P v = std::is_same_v<L, row_major> ? p[r * ldm + c] : p[r + c * ldm];
    f.x[i] = static_cast<typename Frag::storage_element_type>(v);
  }
}

template <int M, int N, int K, class T, class P>
__device__ void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const P* p, unsigned ldm, layout_t layout) {
  using Frag = fragment<accumulator, M, N, K, T>;
  sim_detail::check_pointer("wmma::load_matrix_sync", p, ldm, sizeof(P));
  const int lane = static_cast<int>(loom::sim::lane_id());
  for (int i = 0; i < Frag::num_elements; ++i) {
    const int e = lane + 32 * i, r = e / N, c = e % N;
    f.x[i] = layout == mem_row_major ? p[r * ldm + c] : p[r + c * ldm];
  }
}

template <int M, int N, int K, class T, class P>
__device__ void store_matrix_sync(P* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
  using Frag = fragment<accumulator, M, N, K, T>;
  sim_detail::check_pointer("wmma::store_matrix_sync", p, ldm, sizeof(P));
  const int lane = static_cast<int>(loom::sim::lane_id());
  for (int i = 0; i < Frag::num_elements; ++i) {
    const int e = lane + 32 * i, r = e / N, c = e % N;
    (layout == mem_row_major ? p[r * ldm + c] : p[r + c * ldm]) = f.x[i];
  }
}

namespace sim_detail {

// What a lane posts for mma_sync: its A and B fragments.
template <class FA, class FB>
struct MmaPost {
  const FA* a;
  const FB* b;
};

// Element (r, c) of a fragment's tile, read from the lane that owns it (the fragment `member` of
// that lane's post). Reads another fiber's stack, which is the simulator's business, not a device
// access of the kernel: left uninstrumented.
template <class Frag, class Post>
__attribute__((no_sanitize_address)) float element(const void* const* posted, const Frag* Post::*member, int r,
                                                   int c) {
  const int e = r * Frag::cols + c;
  const Post* post = static_cast<const Post*>(posted[e % 32]);
  return to_float((post->*member)->x[e / 32]);
}

}  // namespace sim_detail

// d = a b + c for the warp's tile; every lane of the warp must call it (with its own fragments).
template <int M, int N, int K, class TA, class LA, class LB, class TC>
__device__ void mma_sync(fragment<accumulator, M, N, K, TC>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
                         const fragment<matrix_b, M, N, K, TA, LB>& b, const fragment<accumulator, M, N, K, TC>& c) {
  using FA = fragment<matrix_a, M, N, K, TA, LA>;
  using FB = fragment<matrix_b, M, N, K, TA, LB>;
  using FD = fragment<accumulator, M, N, K, TC>;
  using Post = sim_detail::MmaPost<FA, FB>;
  constexpr bool tf32 = std::is_same_v<TA, precision::tf32>;
  const Post mine{&a, &b};
  const void* const* posted = loom::sim::warp_exchange(0xffffffffu, &mine);
  const int lane = static_cast<int>(loom::sim::lane_id());
  typename FD::storage_element_type out[FD::num_elements];
  for (int i = 0; i < FD::num_elements; ++i) {
    const int e = lane + 32 * i, r = e / N, col = e % N;
    float acc = sim_detail::to_float(c.x[i]);
    for (int k = 0; k < K; ++k) {
      float av = sim_detail::element(posted, &Post::a, r, k);
      float bv = sim_detail::element(posted, &Post::b, k, col);
      if constexpr (tf32) {
        av = sim_detail::truncate_tf32(av);
        bv = sim_detail::truncate_tf32(bv);
      }
      acc += av * bv;
    }
    out[i] = sim_detail::from_float<typename FD::storage_element_type>(acc);
  }
  loom::sim::warp_sync(0xffffffffu);  // every lane has read the others' fragments: d may now change
  for (int i = 0; i < FD::num_elements; ++i) d.x[i] = out[i];
}

}  // namespace nvcuda::wmma
