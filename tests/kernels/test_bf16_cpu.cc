// tests/kernels/test_bf16_cpu.cc: kernels/common/bf16_cpu.h's buffer conversions give exactly
// core/dtype.h's scalar bits (the 16-lane AVX-512 loops where the CPU has them), and the users
// that now route through them (widen_cpu.h's widen / round_into, cast_cpu's F32 <-> BF16
// overwrites) still give the scalar bits. Sizes cover every vector tail and the threaded blocks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/grad_mode.h"
#include "kernels/common/bf16_cpu.h"
#include "kernels/common/widen_cpu.h"
#include "kernels/elementwise/elementwise.h"

using namespace loom;

namespace {

// n floats spread over many decades with the awkward values planted every 7th place: NaNs of
// both signs, infinities, FLT_MAX (rounds to inf), ties to even either way, subnormals, zeros.
std::vector<float> awkward_floats(std::int64_t n, std::uint32_t seed) {
  const std::vector<float> special = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                                      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                      std::numeric_limits<float>::max(), 1.00390625f, 1.01171875f,
                                      std::numeric_limits<float>::denorm_min(), -1e-40f, 0.0f, -0.0f};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> mant(-1.0f, 1.0f);
  std::uniform_int_distribution<int> expo(-30, 30);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t k = 0; k < v.size(); ++k)
    v[k] = k % 7 == 3 ? special[(k / 7) % special.size()] : std::ldexp(mant(rng), expo(rng));
  return v;
}

const std::int64_t kSizes[] = {0, 1, 15, 16, 17, 31, 33, 4095, 4097, 100003};

}  // namespace

TEST_CASE("bf16_cpu: round_to_bf16 and round_bf16_serial give float_to_bf16_bits, tails and threads included") {
  INFO("isa = " << kernels::cpu::bf16_cpu_isa());
  for (std::int64_t n : kSizes) {
    INFO("n = " << n);
    const std::vector<float> src = awkward_floats(n, 7 + static_cast<std::uint32_t>(n));
    std::vector<std::uint16_t> want(src.size()), got(src.size(), 0x1234), serial(src.size(), 0x1234),
        second(src.size(), 0x4321), scalar(src.size(), 0x1234);
    for (std::size_t k = 0; k < src.size(); ++k) want[k] = float_to_bf16_bits(src[k]);
    kernels::cpu::round_to_bf16(src.data(), n, got.data());
    kernels::cpu::round_bf16_serial(src.data(), n, serial.data(), second.data());
    kernels::cpu::round_bf16_scalar(src.data(), n, scalar.data());
    CHECK(got == want);
    CHECK(serial == want);
    CHECK(second == want);
    CHECK(scalar == want);
  }
}

TEST_CASE("bf16_cpu: widen_bf16 gives bf16_bits_to_float for all 65,536 bit patterns, NaN payloads included") {
  std::vector<std::uint16_t> src;
  for (int rep = 0; rep < 2; ++rep)  // 131,072 values: threaded, ragged tail below
    for (std::uint32_t b = 0; b < 65536; ++b) src.push_back(static_cast<std::uint16_t>(b));
  for (std::int64_t n : {std::int64_t{0}, std::int64_t{17}, std::int64_t{65536 + 33}, std::int64_t(src.size())}) {
    INFO("n = " << n);
    std::vector<float> got(static_cast<std::size_t>(n), 1.5f), want(static_cast<std::size_t>(n));
    for (std::int64_t k = 0; k < n; ++k) want[static_cast<std::size_t>(k)] = bf16_bits_to_float(src[static_cast<std::size_t>(k)]);
    kernels::cpu::widen_bf16(src.data(), n, got.data());
    // Bits, so NaNs compare; n = 0 leaves both vectors without storage, and memcmp on null is UB.
    CHECK((got.empty() || std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0));
  }
}

TEST_CASE("bf16_cpu: widen_cpu.h's widen / round_into on BF16 keep the scalar bits") {
  const std::int64_t n = 70001;
  const std::vector<float> src = awkward_floats(n, 99);
  std::vector<std::uint16_t> bits(src.size());
  kernels::cpu::Wide w = kernels::cpu::allocate(n);
  std::copy(src.begin(), src.end(), w.data.get());
  kernels::cpu::round_into(w, bits.data(), DType::BF16);
  std::int64_t wrong = 0;
  for (std::size_t k = 0; k < src.size(); ++k) wrong += bits[k] != float_to_bf16_bits(src[k]);
  CHECK(wrong == 0);
  const kernels::cpu::Wide back = kernels::cpu::widen(bits.data(), DType::BF16, n);
  REQUIRE(back.n == n);
  wrong = 0;
  for (std::size_t k = 0; k < src.size(); ++k) {
    const float e = bf16_bits_to_float(bits[k]);
    wrong += std::memcmp(&back.data[k], &e, sizeof e) != 0;
  }
  CHECK(wrong == 0);
}

TEST_CASE("bf16_cpu: cast_cpu F32 <-> BF16 (overwrite and accumulate) keeps the scalar bits") {
  for (std::int64_t n : kSizes) {
    INFO("n = " << n);
    const std::vector<float> src = awkward_floats(n, 300 + static_cast<std::uint32_t>(n));
    std::vector<std::uint16_t> half(src.size(), 0x1234);
    kernels::CastArgs a;
    a.n = n, a.src_dtype = DType::F32, a.dst_dtype = DType::BF16, a.src = src.data(), a.dst = half.data();
    kernels::cast_cpu(a);
    std::int64_t wrong = 0;
    for (std::size_t k = 0; k < src.size(); ++k) wrong += half[k] != float_to_bf16_bits(src[k]);
    CHECK(wrong == 0);

    std::vector<float> back(src.size(), 2.0f);
    kernels::CastArgs b;
    b.n = n, b.src_dtype = DType::BF16, b.dst_dtype = DType::F32, b.src = half.data(), b.dst = back.data();
    kernels::cast_cpu(b);
    wrong = 0;
    for (std::size_t k = 0; k < src.size(); ++k) {
      const float e = bf16_bits_to_float(half[k]);
      wrong += std::memcmp(&back[k], &e, sizeof e) != 0;
    }
    CHECK(wrong == 0);

    // Accumulate stays on the generic loop: F32 sum of the old value and the widened bf16.
    std::vector<float> acc(src.size(), 0.25f);
    b.dst = acc.data(), b.mode = GradMode::Accumulate;
    kernels::cast_cpu(b);
    wrong = 0;
    for (std::size_t k = 0; k < src.size(); ++k) {
      const float e = 0.25f + bf16_bits_to_float(half[k]);
      wrong += std::memcmp(&acc[k], &e, sizeof e) != 0;
    }
    CHECK(wrong == 0);
  }
}
