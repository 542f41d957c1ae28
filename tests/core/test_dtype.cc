// tests/core/test_dtype.cc: float <-> f16 / bf16 conversion, round to nearest even.
//
// Every expected bit pattern below is derived by hand in the comment next to it, from the
// formats: f16 = 1 sign, 5 exponent (bias 15), 10 mantissa bits; bf16 = the top 16 bits of an
// f32 (1 sign, 8 exponent, 7 mantissa). CUDA's __float2half_rn / __float2bfloat16_rn give the same
// results (compared exhaustively in test_dtype_cuda_headers.cc when the CUDA headers are there),
// including NaN -> the canonical 0x7fff.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "core/dtype.h"

using namespace loom;

namespace {
float pow2(int e) { return std::ldexp(1.0f, e); }
}  // namespace

TEST_CASE("dtype: sizes and names") {
  CHECK(dtype_size(DType::F32) == 4);
  CHECK(dtype_size(DType::F16) == 2);
  CHECK(dtype_size(DType::BF16) == 2);
  CHECK(dtype_size(DType::F64) == 8);
  CHECK(dtype_size(DType::I32) == 4);
  CHECK(std::string(dtype_name(DType::BF16)) == "bf16");
  CHECK(is_floating(DType::F16));
  CHECK_FALSE(is_floating(DType::I32));
}

TEST_CASE("dtype: f32 -> f16 exact values and specials") {
  CHECK(float_to_half_bits(0.0f) == 0x0000);
  CHECK(float_to_half_bits(-0.0f) == 0x8000);   // the sign of zero survives
  CHECK(float_to_half_bits(1.0f) == 0x3c00);    // exponent 15 (bias), mantissa 0
  CHECK(float_to_half_bits(-2.0f) == 0xc000);   // sign, exponent 16
  CHECK(float_to_half_bits(0.5f) == 0x3800);    // exponent 14
  CHECK(float_to_half_bits(65504.0f) == 0x7bff);  // max normal: 2^15 * (2 - 2^-10)
  CHECK(float_to_half_bits(pow2(-14)) == 0x0400);  // smallest normal
  CHECK(float_to_half_bits(std::numeric_limits<float>::infinity()) == 0x7c00);
  CHECK(float_to_half_bits(-std::numeric_limits<float>::infinity()) == 0xfc00);
}

TEST_CASE("dtype: f32 -> f16 subnormals") {
  // Subnormal halves are k * 2^-24 for k = 1..1023.
  CHECK(float_to_half_bits(pow2(-24)) == 0x0001);           // smallest subnormal
  CHECK(float_to_half_bits(-pow2(-24)) == 0x8001);
  CHECK(float_to_half_bits(1023.0f * pow2(-24)) == 0x03ff);  // largest subnormal
  CHECK(float_to_half_bits(5.0f * pow2(-24)) == 0x0005);
  // 2^-25 is exactly half of the smallest subnormal: a tie between 0 (even) and 1 -> 0.
  CHECK(float_to_half_bits(pow2(-25)) == 0x0000);
  CHECK(float_to_half_bits(-pow2(-25)) == 0x8000);
  // One f32 ulp above that tie is no longer a tie -> 1.
  CHECK(float_to_half_bits(std::nextafter(pow2(-25), 1.0f)) == 0x0001);
  // 1.5 * 2^-24: tie between 1 (odd) and 2 (even) -> 2.  2.5 * 2^-24: tie between 2 and 3 -> 2.
  CHECK(float_to_half_bits(1.5f * pow2(-24)) == 0x0002);
  CHECK(float_to_half_bits(2.5f * pow2(-24)) == 0x0002);
  CHECK(float_to_half_bits(2.5001f * pow2(-24)) == 0x0003);
  // 1023.5 * 2^-24: tie between the largest subnormal 0x3ff (odd) and the smallest normal 0x400.
  CHECK(float_to_half_bits(1023.5f * pow2(-24)) == 0x0400);
  // Far below the smallest subnormal, including f32 subnormals, -> signed zero.
  CHECK(float_to_half_bits(1e-10f) == 0x0000);
  CHECK(float_to_half_bits(-1e-10f) == 0x8000);
  CHECK(float_to_half_bits(1e-40f) == 0x0000);
}

TEST_CASE("dtype: f32 -> f16 ties to even in normal range") {
  // In [1, 2) f16 steps are 2^-10. 1 + 2^-11 is halfway between 0x3c00 (even) and 0x3c01.
  CHECK(float_to_half_bits(1.0f + pow2(-11)) == 0x3c00);
  // Just above the tie rounds up.
  CHECK(float_to_half_bits(std::nextafter(1.0f + pow2(-11), 2.0f)) == 0x3c01);
  // 1 + 3 * 2^-11: halfway between 0x3c01 (odd) and 0x3c02 (even) -> up.
  CHECK(float_to_half_bits(1.0f + 3.0f * pow2(-11)) == 0x3c02);
  // In [2048, 4096) steps are 2: 2049 ties 2048 (0x6800, even) and 2050 (0x6801).
  CHECK(float_to_half_bits(2049.0f) == 0x6800);
  CHECK(float_to_half_bits(2051.0f) == 0x6802);  // ties 2050 (odd) and 2052 (even)
  CHECK(float_to_half_bits(-2051.0f) == 0xe802);
  // The mantissa carry bumps the exponent: 2 - 2^-11 ties 0x3bff (odd) and 2.0 = 0x4000.
  CHECK(float_to_half_bits(2.0f - pow2(-11)) == 0x4000);
  // 1/3 = 1.0101...b * 2^-2: mantissa 0x155 after rounding down (the next bit is 0).
  CHECK(float_to_half_bits(1.0f / 3.0f) == 0x3555);
}

TEST_CASE("dtype: f32 -> f16 overflow") {
  // Above 65504 the next f16 would be 65536 (= inf's position); the midpoint is 65520.
  CHECK(float_to_half_bits(65519.0f) == 0x7bff);
  CHECK(float_to_half_bits(std::nextafter(65520.0f, 0.0f)) == 0x7bff);
  // 65520 is a tie between 0x7bff (odd) and 0x7c00: even wins, which is infinity.
  CHECK(float_to_half_bits(65520.0f) == 0x7c00);
  CHECK(float_to_half_bits(-65520.0f) == 0xfc00);
  CHECK(float_to_half_bits(1e6f) == 0x7c00);
  CHECK(float_to_half_bits(std::numeric_limits<float>::max()) == 0x7c00);
}

TEST_CASE("dtype: f32 -> f16 NaN is canonical 0x7fff") {
  CHECK(float_to_half_bits(std::numeric_limits<float>::quiet_NaN()) == 0x7fff);
  CHECK(float_to_half_bits(bits_float(0xffc00000u)) == 0x7fff);  // negative NaN
  CHECK(float_to_half_bits(bits_float(0x7f800001u)) == 0x7fff);  // signaling NaN, payload in low bits
  CHECK(float_to_half_bits(bits_float(0x7fffffffu)) == 0x7fff);
}

TEST_CASE("dtype: f16 -> f32") {
  CHECK(half_bits_to_float(0x3c00) == 1.0f);
  CHECK(half_bits_to_float(0x0001) == pow2(-24));
  CHECK(half_bits_to_float(0x8001) == -pow2(-24));
  CHECK(half_bits_to_float(0x03ff) == 1023.0f * pow2(-24));
  CHECK(half_bits_to_float(0x0400) == pow2(-14));
  CHECK(half_bits_to_float(0x7bff) == 65504.0f);
  CHECK(half_bits_to_float(0x3555) == 0.333251953125f);  // 2^-2 * (1 + 341/1024)
  CHECK(half_bits_to_float(0xe802) == -2052.0f);
  CHECK(float_bits(half_bits_to_float(0x8000)) == 0x80000000u);  // -0
  CHECK(half_bits_to_float(0x7c00) == std::numeric_limits<float>::infinity());
  CHECK(half_bits_to_float(0xfc00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(half_bits_to_float(0x7e00)));
  CHECK(std::isnan(half_bits_to_float(0x7fff)));
  CHECK(std::isnan(half_bits_to_float(0x7c01)));  // smallest payload is still NaN, not inf
}

TEST_CASE("dtype: every f16 value survives f16 -> f32 -> f16") {
  // NaNs come back as the canonical 0x7fff; everything else bit-exactly.
  int failures = 0;
  for (std::uint32_t h = 0; h < 0x10000u && failures == 0; ++h) {
    const std::uint16_t bits = static_cast<std::uint16_t>(h);
    const bool nan = (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0;
    const std::uint16_t expected = nan ? 0x7fff : bits;
    const std::uint16_t back = float_to_half_bits(half_bits_to_float(bits));
    if (back != expected) {
      ++failures;
      FAIL_CHECK("f16 bits ", h, " came back as ", back, ", expected ", expected);
    }
  }
}

TEST_CASE("dtype: f32 -> bf16") {
  CHECK(float_to_bf16_bits(1.0f) == 0x3f80);  // 0x3f800000: the top half
  CHECK(float_to_bf16_bits(-1.0f) == 0xbf80);
  CHECK(float_to_bf16_bits(0.0f) == 0x0000);
  CHECK(float_to_bf16_bits(-0.0f) == 0x8000);
  // Ties: the dropped low half is exactly 0x8000.
  CHECK(float_to_bf16_bits(bits_float(0x3f808000u)) == 0x3f80);  // kept 0x3f80 is even: stays
  CHECK(float_to_bf16_bits(bits_float(0x3f818000u)) == 0x3f82);  // kept 0x3f81 is odd: up
  CHECK(float_to_bf16_bits(bits_float(0x3f808001u)) == 0x3f81);  // above the tie: up
  CHECK(float_to_bf16_bits(bits_float(0x3f807fffu)) == 0x3f80);  // below the tie: down
  CHECK(float_to_bf16_bits(bits_float(0xbf818000u)) == 0xbf82);  // negative tie, magnitude to even
  // Overflow: values that round past the largest finite bf16 (0x7f7f) become infinity.
  CHECK(float_to_bf16_bits(bits_float(0x7f7f7fffu)) == 0x7f7f);
  CHECK(float_to_bf16_bits(bits_float(0x7f7f8000u)) == 0x7f80);  // tie with odd 0x7f7f -> inf
  CHECK(float_to_bf16_bits(std::numeric_limits<float>::max()) == 0x7f80);
  CHECK(float_to_bf16_bits(-std::numeric_limits<float>::max()) == 0xff80);
  CHECK(float_to_bf16_bits(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(float_to_bf16_bits(-std::numeric_limits<float>::infinity()) == 0xff80);
  // f32 subnormals round the same way (bf16 has the same exponent range).
  CHECK(float_to_bf16_bits(bits_float(0x00018000u)) == 0x0002);
  CHECK(float_to_bf16_bits(bits_float(0x00008000u)) == 0x0000);
  // NaN -> 0x7fff, including a signaling NaN whose payload sits in the dropped bits (plain
  // truncation would turn it into infinity 0x7f80) and a negative NaN.
  CHECK(float_to_bf16_bits(std::numeric_limits<float>::quiet_NaN()) == 0x7fff);
  CHECK(float_to_bf16_bits(bits_float(0x7f800001u)) == 0x7fff);
  CHECK(float_to_bf16_bits(bits_float(0xffc00000u)) == 0x7fff);
}

TEST_CASE("dtype: bf16 -> f32 is a 16-bit shift") {
  CHECK(bf16_bits_to_float(0x3f80) == 1.0f);
  CHECK(bf16_bits_to_float(0x4049) == 3.140625f);  // 0x40490000
  CHECK(bf16_bits_to_float(0x7f80) == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(bf16_bits_to_float(0x7fff)));
  CHECK(float_bits(bf16_bits_to_float(0x8000)) == 0x80000000u);
  int failures = 0;
  for (std::uint32_t b = 0; b < 0x10000u && failures == 0; ++b) {
    if (float_bits(bf16_bits_to_float(static_cast<std::uint16_t>(b))) != b << 16) {
      ++failures;
      FAIL_CHECK("bf16 bits ", b, " do not widen to bits << 16");
    }
  }
}

TEST_CASE("dtype: typed load/store helpers agree with the bit functions") {
  CHECK(to_float(from_float<Half>(0.1f)) == half_bits_to_float(float_to_half_bits(0.1f)));
  CHECK(to_float(from_float<BFloat16>(0.1f)) == bf16_bits_to_float(float_to_bf16_bits(0.1f)));
  CHECK(from_double<double>(0.1) == 0.1);
  CHECK(from_double<float>(0.1) == 0.1f);
  CHECK(from_double<Half>(65520.0).bits == 0x7c00);
  static_assert(std::is_same_v<compute_t<Half>, float>);
  static_assert(std::is_same_v<compute_t<double>, double>);
}
