// core/dtype.h: element types and exact float <-> f16 / bf16 conversion on the CPU.
//
// Arithmetic is always F32 (F64 for the gradient-check path); F16 and BF16 are storage types.
// The conversions round to nearest, ties to even, and map every NaN to the canonical 0x7fff,
// exactly as CUDA's __float2half / __float2bfloat16 do, so a CPU kernel reading or writing
// half-precision storage produces the same bits as a GPU kernel (tests/core/test_dtype.cc).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace loom {

enum class DType { F32, F16, BF16, F64, I32 };

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::F64: return 8;
    case DType::I32: return 4;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
  }
  return "?";
}

inline bool is_floating(DType t) { return t != DType::I32; }

// Host-side storage types. They carry only the bits; arithmetic converts to float first.
struct Half {
  std::uint16_t bits;
};
struct BFloat16 {
  std::uint16_t bits;
};

inline std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// f32 -> f16, round to nearest even. Worked cases are in tests/core/test_dtype.cc.
inline std::uint16_t float_to_half_bits(float f) {
  const std::uint32_t x = float_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return 0x7fffu;             // NaN -> canonical NaN (as CUDA)
  if (ax >= 0x477ff000u) return sign | 0x7c00u;     // >= 65520 rounds to inf (65504 is odd)
  if (ax >= 0x38800000u) {                          // normal half: |f| >= 2^-14
    std::uint32_t h = ((((ax >> 23) - 112u)) << 10) | ((ax >> 13) & 0x3ffu);
    const std::uint32_t rest = ax & 0x1fffu;        // the 13 bits that are dropped
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // carry may bump the exponent: fine
    return static_cast<std::uint16_t>(sign | h);
  }
  const std::uint32_t e = ax >> 23;
  if (e <= 101) return static_cast<std::uint16_t>(sign);  // < 2^-25 (or a tie at it): rounds to 0
  // Subnormal half: units of 2^-24. The float's value is m * 2^(e-150) with the implicit bit.
  const std::uint32_t m = (ax & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126 - e;              // 14..24
  std::uint32_t h = m >> shift;
  const std::uint32_t rest = m & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

inline float half_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;  // mant * 2^-24, exact
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));
  return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

// f32 -> bf16: keep the top 16 bits, round to nearest even on the dropped 16.
inline std::uint16_t float_to_bf16_bits(float f) {
  const std::uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fffu;  // NaN -> canonical NaN (as CUDA)
  const std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>((x + rounding) >> 16);
}

inline float bf16_bits_to_float(std::uint16_t b) { return bits_float(static_cast<std::uint32_t>(b) << 16); }

// Typed load/store used by CPU kernels templated on the storage type.
inline float to_float(float v) { return v; }
inline double to_float(double v) { return v; }
inline float to_float(Half v) { return half_bits_to_float(v.bits); }
inline float to_float(BFloat16 v) { return bf16_bits_to_float(v.bits); }

template <typename T>
inline T from_float(float v);
template <>
inline float from_float<float>(float v) { return v; }
template <>
inline Half from_float<Half>(float v) { return Half{float_to_half_bits(v)}; }
template <>
inline BFloat16 from_float<BFloat16>(float v) { return BFloat16{float_to_bf16_bits(v)}; }

template <typename T>
inline T from_double(double v) {
  if constexpr (std::is_same_v<T, double>) return v;
  else return from_float<T>(static_cast<float>(v));
}

// The arithmetic type for a storage type: double for double, float for everything else.
template <typename T>
struct compute_type { using type = float; };
template <>
struct compute_type<double> { using type = double; };
template <typename T>
using compute_t = typename compute_type<T>::type;

}  // namespace loom
