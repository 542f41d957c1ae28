// kernels/lstm/lstm_pointwise_cpu.cc: the F32 pointwise passes of the CPU LSTM, vectorized, with the
// polynomial exp. The math, the accuracy and why there are two builds: lstm_pointwise_cpu.h.
//
// Every function body below is a template instantiated twice, in a baseline function and in an
// __attribute__((target("avx512f"))) one; GCC vectorizes the same loop for 4 or 16 lanes. The loops
// have no branches (clamps are min / max, the rounding is an add, 2^n is integer arithmetic on the
// bits), which is what lets GCC vectorize them at all.
#include "kernels/lstm/lstm_pointwise_cpu.h"

#include "core/parallel.h"
#include "kernels/common/bf16_cpu.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// CMakeLists.txt compiles this file with -ffp-contract=off: no fused multiply-add anywhere, since
// the AVX-512 build could contract a * b + c where the baseline build cannot, and the two must round
// the same (the header says why). And with -fno-trapping-math, without which GCC will not turn the
// clamps of exp_poly into SSE2 vector selects (the baseline loop then stays scalar).
namespace loom::kernels::lstm_cpu {

namespace {

#define LOOM_INLINE inline __attribute__((always_inline))

LOOM_INLINE float bits_to_float(std::int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

LOOM_INLINE std::int32_t float_to_bits(float f) {
  std::int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

LOOM_INLINE float exp_poly(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;           // 9 significant bits: n kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;        // ln 2 - kLn2Hi
  constexpr float kRound = 12582912.0f;            // 1.5 * 2^23: t + kRound rounds t to an integer
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float shifted = x * kLog2e + kRound;       // the integer n sits in the low mantissa bits
  const float n = shifted - kRound;
  const std::int32_t ni = float_to_bits(shifted) - float_to_bits(kRound);
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // The shift runs unsigned: a NaN input passes the clamps above and gives an n whose signed shift
  // would overflow (undefined behaviour, found by UBSan); unsigned it wraps, and every finite x
  // gets the same bits as before.
  return p * bits_to_float(static_cast<std::int32_t>(static_cast<std::uint32_t>(ni + 127) << 23));
}

// float -> bf16 bits, round to nearest even; the same bits as core/dtype.h's float_to_bf16_bits,
// written without a branch so that it vectorizes.
LOOM_INLINE std::uint16_t bf16_round(float f) {
  const std::uint32_t u = static_cast<std::uint32_t>(float_to_bits(f));
  const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return static_cast<std::uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? 0x7fffu : rounded);
}

LOOM_INLINE float sigmoid_poly(float z) { return 1.0f / (1.0f + exp_poly(-z)); }

LOOM_INLINE float tanh_poly(float x) { return 1.0f - 2.0f / (exp_poly(2.0f * x) + 1.0f); }

// Why the BF16 passes round in a second loop. Written as one loop that stores 16-bit results
// next to the F32 ones, GCC's AVX-512F build vectorizes it 8 lanes wide (no AVX512BW for 16-bit
// vectors), and the bf16 passes ran 1.5-3x slower than the F32 ones (H 128, 3,200 rows:
// tests' numbers in bench/results/2026-12-07-cpu-bf16-epoch-2.md). So every pass below runs the
// F32 loop (16 lanes), the bf16 ones on chunks of kChunk units whose F32 h lands in a stack
// buffer, and then a plain rounding loop turns the chunk into bf16. Same values, same rounding
// (bf16_round), so the same bits as before.
constexpr std::int64_t kChunk = 64;

// Units [0, n) of the forward pass; every pointer is already offset to the chunk's first unit,
// and the gate blocks are H apart. h goes to h_out (and y_out unless null).
template <bool kTraining>
LOOM_INLINE void fwd_units(const PointwiseFwd& p, std::int64_t H, std::int64_t off, std::int64_t n, float* h_out,
                           float* y_out) {
  const float* zx = p.zx + off;
  const float* zh = p.zh + off;
  const float* bias = p.bias + off;
  float* c_state = p.c + off;
  float* c_saved = kTraining ? p.c_saved + off : nullptr;
  float* gates = kTraining ? p.gates + off : nullptr;
#pragma GCC ivdep
  for (std::int64_t j = 0; j < n; ++j) {
    const float i = sigmoid_poly(zx[j] + zh[j] + bias[j]);
    const float f = sigmoid_poly(zx[H + j] + zh[H + j] + bias[H + j]);
    const float g = tanh_poly(zx[2 * H + j] + zh[2 * H + j] + bias[2 * H + j]);
    const float o = sigmoid_poly(zx[3 * H + j] + zh[3 * H + j] + bias[3 * H + j]);
    const float c = f * c_state[j] + i * g;
    const float h = o * tanh_poly(c);
    c_state[j] = c;
    h_out[j] = h;
    if (y_out != nullptr) y_out[j] = h;
    if constexpr (kTraining) {
      c_saved[j] = c;
      gates[j] = i, gates[H + j] = f, gates[2 * H + j] = g, gates[3 * H + j] = o;
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define LOOM_HAVE_AVX512_BUILD 1
#endif

// n F32 values rounded to bf16 into one or two destinations (the second may be null); kWide: the
// AVX-512 build's 16-lane loop.
template <bool kWide>
LOOM_INLINE void round_units(const float* src, std::int64_t n, std::uint16_t* dst, std::uint16_t* dst2) {
  // The 16-lane loop is kernels/common/bf16_cpu.cc's (the same bits as bf16_round).
  if constexpr (kWide) return cpu::round_bf16_serial(src, n, dst, dst2);
  for (std::int64_t j = 0; j < n; ++j) dst[j] = bf16_round(src[j]);
  if (dst2 != nullptr)
    for (std::int64_t j = 0; j < n; ++j) dst2[j] = dst[j];
}

template <bool kTraining, bool kBf16, bool kWide>
LOOM_INLINE void fwd_body(const PointwiseFwd& p, std::int64_t H) {
  if constexpr (!kBf16) {
    fwd_units<kTraining>(p, H, 0, H, p.h, p.y);
  } else {
    float h[kChunk];
    for (std::int64_t j0 = 0; j0 < H; j0 += kChunk) {
      const std::int64_t n = H - j0 < kChunk ? H - j0 : kChunk;
      fwd_units<kTraining>(p, H, j0, n, h, nullptr);
      round_units<kWide>(h, n, p.h_bf16 + j0, p.y_bf16 + j0);
    }
  }
}

// Units [0, n) of the backward pass, pointers offset as in fwd_units; h_next may be null.
template <bool kHNext>
LOOM_INLINE void bwd_units(const PointwiseBwd& p, std::int64_t H, std::int64_t off, std::int64_t n, float* h_next) {
  const float* gate = p.gates + off;
  const float* c_t = p.c + off;
  const float* c_prev = p.c_prev + off;
  const float* dy = p.dy + off;
  const float* dh_in = p.dh_in + off;
  const float* dc_in = p.dc_in + off;
  float* dz = p.dz + off;
  float* dc_out = p.dc_out + off;
  // dc_out may be dc_in: unit j reads dc_in[j] before it writes dc_out[j], and no unit touches
  // another's, so there is no dependence between iterations (what ivdep promises).
#pragma GCC ivdep
  for (std::int64_t j = 0; j < n; ++j) {
    const float i = gate[j], f = gate[H + j], g = gate[2 * H + j], o = gate[3 * H + j];
    const float tanh_c = tanh_poly(c_t[j]);
    const float dh_t = dy[j] + dh_in[j];
    const float dc_t = dc_in[j] + dh_t * o * (1.0f - tanh_c * tanh_c);
    const float d_o = dh_t * tanh_c, d_i = dc_t * g, d_g = dc_t * i, d_f = dc_t * c_prev[j];
    const float dzi = d_i * i * (1.0f - i), dzf = d_f * f * (1.0f - f);
    const float dzg = d_g * (1.0f - g * g), dzo = d_o * o * (1.0f - o);
    dz[j] = dzi, dz[H + j] = dzf, dz[2 * H + j] = dzg, dz[3 * H + j] = dzo;
    dc_out[j] = dc_t * f;
    if constexpr (kHNext) h_next[j] = o * tanh_c;
  }
}

template <bool kHNext, bool kBf16, bool kWide>
LOOM_INLINE void bwd_body(const PointwiseBwd& p, std::int64_t H) {
  if constexpr (!kBf16) {
    bwd_units<kHNext>(p, H, 0, H, p.h_next);
  } else {
    // The F32 dz stays (the bias sum reads it); its bf16 copy and h_next are rounded per chunk.
    float h[kChunk];
    for (std::int64_t j0 = 0; j0 < H; j0 += kChunk) {
      const std::int64_t n = H - j0 < kChunk ? H - j0 : kChunk;
      bwd_units<kHNext>(p, H, j0, n, h);
      if constexpr (kHNext) round_units<kWide>(h, n, p.h_next_bf16 + j0, nullptr);
    }
    round_units<kWide>(p.dz, 4 * H, p.dz_bf16, nullptr);  // all four gate blocks, contiguous
  }
}

// The four instantiations of each pass, picked by what the arguments ask for.
template <bool kWide>
LOOM_INLINE void fwd_pick(const PointwiseFwd& p, std::int64_t H) {
  const bool training = p.c_saved != nullptr && p.gates != nullptr;
  if (p.h_bf16 != nullptr) {
    if (training) fwd_body<true, true, kWide>(p, H);
    else fwd_body<false, true, kWide>(p, H);
  } else {
    if (training) fwd_body<true, false, kWide>(p, H);
    else fwd_body<false, false, kWide>(p, H);
  }
}

template <bool kWide>
LOOM_INLINE void bwd_pick(const PointwiseBwd& p, std::int64_t H) {
  if (p.dz_bf16 != nullptr) {
    if (p.h_next_bf16 != nullptr) bwd_body<true, true, kWide>(p, H);
    else bwd_body<false, true, kWide>(p, H);
  } else {
    if (p.h_next != nullptr) bwd_body<true, false, kWide>(p, H);
    else bwd_body<false, false, kWide>(p, H);
  }
}

void fwd_base(const PointwiseFwd& p, std::int64_t H) { fwd_pick<false>(p, H); }
void bwd_base(const PointwiseBwd& p, std::int64_t H) { bwd_pick<false>(p, H); }

#ifdef LOOM_HAVE_AVX512_BUILD
__attribute__((target("avx512f"))) void fwd_avx512(const PointwiseFwd& p, std::int64_t H) { fwd_pick<true>(p, H); }
__attribute__((target("avx512f"))) void bwd_avx512(const PointwiseBwd& p, std::int64_t H) { bwd_pick<true>(p, H); }

bool use_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}
#else
bool use_avx512() { return false; }
#endif

template <typename T>
void column_sums_base(const T* z, std::int64_t rows, std::int64_t ld, std::int64_t width, T* out) {
  for (std::int64_t q = 0; q < width; ++q) out[q] = T(0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t q = 0; q < width; ++q) out[q] += z[r * ld + q];
}

#ifdef LOOM_HAVE_AVX512_BUILD
__attribute__((target("avx512f"))) void column_sums_64_avx512(const float* z, std::int64_t rows, std::int64_t ld,
                                                               float* out) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = z + r * ld;
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(row));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(row + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(row + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(row + 48));
  }
  _mm512_storeu_ps(out, s0), _mm512_storeu_ps(out + 16, s1), _mm512_storeu_ps(out + 32, s2);
  _mm512_storeu_ps(out + 48, s3);
}
#endif

}  // namespace

void column_sums(const float* z, std::int64_t rows, std::int64_t ld, std::int64_t width, float* out) {
#ifdef LOOM_HAVE_AVX512_BUILD
  if (width == 64 && use_avx512()) return column_sums_64_avx512(z, rows, ld, out);
#endif
  column_sums_base(z, rows, ld, width, out);
}

void column_sums(const double* z, std::int64_t rows, std::int64_t ld, std::int64_t width, double* out) {
  column_sums_base(z, rows, ld, width, out);
}

void pointwise_fwd(const PointwiseFwd& p, std::int64_t H) {
#ifdef LOOM_HAVE_AVX512_BUILD
  if (use_avx512()) return fwd_avx512(p, H);
#endif
  fwd_base(p, H);
}

void pointwise_bwd(const PointwiseBwd& p, std::int64_t H) {
#ifdef LOOM_HAVE_AVX512_BUILD
  if (use_avx512()) return bwd_avx512(p, H);
#endif
  bwd_base(p, H);
}

void pointwise_fwd_baseline(const PointwiseFwd& p, std::int64_t H) { fwd_base(p, H); }
void pointwise_bwd_baseline(const PointwiseBwd& p, std::int64_t H) { bwd_base(p, H); }

void round_to_bf16(const float* src, std::int64_t n, std::uint16_t* dst) { cpu::round_to_bf16(src, n, dst); }

const char* pointwise_isa() { return use_avx512() ? "avx512f" : "baseline"; }

float fast_exp(float x) { return exp_poly(x); }

}  // namespace loom::kernels::lstm_cpu
