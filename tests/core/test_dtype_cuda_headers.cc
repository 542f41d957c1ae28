// tests/core/test_dtype_cuda_headers.cc: loom's CPU conversions against CUDA's own.
//
// cuda_fp16.h and cuda_bf16.h define __float2half_rn, __half2float, __float2bfloat16_rn and
// __bfloat162float for host code too; their results are the documented behaviour of the device
// intrinsics (round to nearest even, NaN -> 0x7fff). A GPU kernel storing F16/BF16 and a CPU kernel
// storing F16/BF16 must produce the same bits, so loom's functions are compared bit for bit on:
//   - a strided sweep over all 2^32 float bit patterns (stride 4099, a prime, so every exponent,
//     both signs, NaNs and subnormals are visited with varied low mantissa bits),
//   - every rounding boundary: for each f16 / bf16 value, the float midpoint to its neighbour and
//     the floats one ulp either side of it (where ties and near-ties live),
//   - all 65536 f16 and bf16 patterns converted back to float.
// Compiled only when CMake found the CUDA toolkit (LOOM_TESTS_WITH_CUDA_HEADERS); needs no GPU.
#include <doctest/doctest.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/dtype.h"

using namespace loom;

namespace {

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

std::uint16_t cuda_half_bits(float f) {
  const __half_raw raw = __float2half_rn(f);
  return raw.x;
}
float cuda_half_to_float(std::uint16_t bits) {
  __half_raw raw;
  raw.x = bits;
  return __half2float(__half(raw));
}
std::uint16_t cuda_bf16_bits(float f) {
  const __nv_bfloat16_raw raw = __float2bfloat16_rn(f);
  return raw.x;
}
float cuda_bf16_to_float(std::uint16_t bits) {
  __nv_bfloat16_raw raw;
  raw.x = bits;
  return __bfloat162float(__nv_bfloat16(raw));
}

// Compares one float both ways; reports (once per test case) the first disagreement.
struct Sweep {
  int failures = 0;
  long checked = 0;
  void check(float f) {
    ++checked;
    const std::uint16_t ours_h = float_to_half_bits(f), cuda_h = cuda_half_bits(f);
    const std::uint16_t ours_b = float_to_bf16_bits(f), cuda_b = cuda_bf16_bits(f);
    if ((ours_h != cuda_h || ours_b != cuda_b) && failures++ < 5)
      FAIL_CHECK("float bits ", hex(float_bits(f)), ": f16 loom ", hex(ours_h), " cuda ", hex(cuda_h),
                 "; bf16 loom ", hex(ours_b), " cuda ", hex(cuda_b));
  }
};

// Floats around the rounding boundary between two adjacent representable values lo < hi.
void check_boundary(Sweep& s, float lo, float hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return;
  const float mid = static_cast<float>((static_cast<double>(lo) + static_cast<double>(hi)) / 2);
  s.check(mid);
  s.check(std::nextafter(mid, -INFINITY));
  s.check(std::nextafter(mid, INFINITY));
  s.check(-mid);
}

}  // namespace

TEST_CASE("dtype: f32 -> f16/bf16 equals CUDA's host intrinsics on a sweep of all bit patterns") {
  Sweep s;
  for (std::uint64_t u = 0; u <= 0xffffffffULL; u += 4099) s.check(bits_float(static_cast<std::uint32_t>(u)));
  // The ends of the range and the specials, which a stride can step over.
  for (std::uint32_t u : {0x00000000u, 0x80000000u, 0x00000001u, 0x7f7fffffu, 0xff7fffffu, 0x7f800000u,
                          0xff800000u, 0x7f800001u, 0x7fc00000u, 0xffffffffu, 0x477ff000u, 0x477fefffu,
                          0x33000000u, 0x33000001u})
    s.check(bits_float(u));
  CHECK(s.failures == 0);
  CHECK(s.checked > 1000000);
}

TEST_CASE("dtype: f32 -> f16/bf16 equals CUDA's host intrinsics at every rounding boundary") {
  Sweep s;
  for (std::uint32_t h = 0; h < 0x7c00u; ++h)  // positive finite halves and their upper neighbour
    check_boundary(s, half_bits_to_float(static_cast<std::uint16_t>(h)),
                   half_bits_to_float(static_cast<std::uint16_t>(h + 1)));
  for (std::uint32_t b = 0; b < 0x7f80u; ++b)  // positive finite bf16 and their upper neighbour
    check_boundary(s, bf16_bits_to_float(static_cast<std::uint16_t>(b)),
                   bf16_bits_to_float(static_cast<std::uint16_t>(b + 1)));
  CHECK(s.failures == 0);
}

TEST_CASE("dtype: f16/bf16 -> f32 equals CUDA's host intrinsics for all 65536 patterns") {
  int failures = 0;
  for (std::uint32_t i = 0; i < 0x10000u; ++i) {
    const std::uint16_t bits = static_cast<std::uint16_t>(i);
    const float ours_h = half_bits_to_float(bits), cuda_h = cuda_half_to_float(bits);
    const float ours_b = bf16_bits_to_float(bits), cuda_b = cuda_bf16_to_float(bits);
    // Bit equality, except that any NaN matches any NaN: the payload a widening keeps is not
    // something loom relies on (every NaN is stored back as 0x7fff).
    const bool half_ok = float_bits(ours_h) == float_bits(cuda_h) || (std::isnan(ours_h) && std::isnan(cuda_h));
    const bool bf16_ok = float_bits(ours_b) == float_bits(cuda_b) || (std::isnan(ours_b) && std::isnan(cuda_b));
    if ((!half_ok || !bf16_ok) && failures++ < 5)
      FAIL_CHECK("16-bit pattern ", hex(i), ": f16 -> loom ", hex(float_bits(ours_h)), " cuda ",
                 hex(float_bits(cuda_h)), "; bf16 -> loom ", hex(float_bits(ours_b)), " cuda ",
                 hex(float_bits(cuda_b)));
  }
  CHECK(failures == 0);
}
