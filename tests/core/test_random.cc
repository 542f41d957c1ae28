// tests/core/test_random.cc: the counter-based generator.
//
// Philox-4x32-10 is checked against the known-answer vectors published with the Random123
// library (Salmon et al., SC'11), then the stream, uniform floats, Tensor::uniform / normal and
// Generator::reserve against their documented contracts.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "core/random.h"
#include "ops/tensor.h"
#include "core/philox.h"
#include "kernels/common/philox_cpu.h"
#include "tests/support/devices.h"

using namespace loom;

namespace {
void check_kat(Philox4 counter, std::uint32_t k0, std::uint32_t k1, Philox4 expected) {
  const Philox4 got = philox4x32_10(counter, k0, k1);
  for (int i = 0; i < 4; ++i) {
    INFO("word ", i);
    CHECK(got.v[i] == expected.v[i]);
  }
}

double mean_of(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / static_cast<double>(v.size());
}
double variance_of(const std::vector<float>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size());
}
}  // namespace

TEST_CASE("random: Philox4x32-10 known-answer vectors (Random123)") {
  check_kat({{0u, 0u, 0u, 0u}}, 0u, 0u, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
  check_kat({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu,
            {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
  check_kat({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
            {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

TEST_CASE("random: stream word n is word n%4 of block n/4 keyed by the seed") {
  const std::uint64_t seed = 0x0123456789abcdefULL;
  for (std::uint64_t n : {0ULL, 1ULL, 2ULL, 3ULL, 4ULL, 4097ULL, (1ULL << 34) + 6}) {
    const std::uint64_t block = n / 4;
    const Philox4 expected = philox4x32_10(
        {{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u, 0u}},
        static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
    INFO("n = ", n);
    CHECK(philox_word(seed, n) == expected.v[n % 4]);
  }
  // The high half of the seed matters (it is the second key word).
  CHECK(philox_word(1, 0) != philox_word(1 + (1ULL << 32), 0));
}

// The batch generator dropout uses (eight blocks per AVX-512 pass, the rest scalar) must give
// philox_block's words exactly, whatever the count (full passes, a tail, both) and wherever the run
// of blocks starts, including one that carries into the counter's high word.
TEST_CASE("random: philox_blocks_cpu gives philox_block's words for any start and count") {
  const std::uint64_t seed = 0xfedcba9876543210ULL;
  for (std::uint64_t first : {0ULL, 5ULL, 0xfffffffcULL, (1ULL << 40) + 3, ~0ULL - 9}) {
    for (std::int64_t count : {0, 1, 7, 8, 9, 16, 23, 128}) {
      std::vector<std::uint32_t> words(static_cast<std::size_t>(4 * count) + 1, 0xdeadbeefu);
      kernels::philox_blocks_cpu(seed, first, count, words.data());
      INFO("first = ", first, ", count = ", count);
      int wrong = 0;
      for (std::int64_t j = 0; j < count; ++j) {
        const Philox4 b = philox_block(first + static_cast<std::uint64_t>(j), seed);
        for (int w = 0; w < 4; ++w) wrong += words[static_cast<std::size_t>(4 * j + w)] != b.v[w];
      }
      CHECK(wrong == 0);
      CHECK(words.back() == 0xdeadbeefu);  // nothing written past 4 count words
    }
  }
}

TEST_CASE("random: philox_uniform is below 1 and at least 0 with 24 exact bits") {
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const float u = philox_uniform(7, static_cast<std::uint64_t>(i));
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    // u * 2^24 must be an integer: the top 24 bits of one word, nothing rounded.
    const float scaled = u * 16777216.0f;
    REQUIRE(scaled == std::floor(scaled));
    sum += u;
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(philox_uniform(7, 3) ==
        static_cast<float>(philox_word(7, 3) >> 8) / 16777216.0f);
}

TEST_CASE("random: Tensor::uniform follows the stream and its offset") {
  const Tensor a = Tensor::uniform({1000}, 0.0f, 1.0f, 42, 0);
  const std::vector<float> va = a.to_vector();
  CHECK(a.shape() == Shape{1000});
  CHECK(a.dtype() == DType::F32);
  // Element i is number (offset + i) of stream `seed`.
  for (int i : {0, 1, 2, 3, 4, 517, 999}) CHECK(va[i] == philox_uniform(42, static_cast<std::uint64_t>(i)));
  // Offset 10 is the same stream shifted by 10.
  const std::vector<float> vb = Tensor::uniform({990}, 0.0f, 1.0f, 42, 10).to_vector();
  for (int i = 0; i < 990; ++i) REQUIRE(vb[i] == va[i + 10]);
  // Same (seed, offset) -> same bits; another seed -> different numbers.
  CHECK(Tensor::uniform({1000}, 0.0f, 1.0f, 42, 0).to_vector() == va);
  const std::vector<float> vc = Tensor::uniform({1000}, 0.0f, 1.0f, 43, 0).to_vector();
  int same = 0;
  for (int i = 0; i < 1000; ++i) same += vc[i] == va[i];
  CHECK(same < 5);
  // The shape is only a view of the flat stream.
  CHECK(Tensor::uniform({10, 100}, 0.0f, 1.0f, 42, 0).to_vector() == va);
}

TEST_CASE("random: Tensor::uniform range and moments") {
  const float low = -3.0f, high = 5.0f;
  const std::vector<float> v = Tensor::uniform({100000}, low, high, 1234, 0).to_vector();
  CHECK(*std::min_element(v.begin(), v.end()) >= low);
  CHECK(*std::max_element(v.begin(), v.end()) < high);
  // Mean (low + high) / 2 = 1, variance (high - low)^2 / 12 = 5.333; standard errors are
  // 0.007 and 0.015 for 1e5 samples, so these bounds fail only for a wrong distribution.
  CHECK(mean_of(v) == doctest::Approx(1.0).epsilon(0.05));
  CHECK(variance_of(v) == doctest::Approx(64.0 / 12.0).epsilon(0.02));
  // F64 and half-precision storage hold the same numbers, rounded.
  const std::vector<double> v64 = Tensor::uniform({100}, low, high, 1234, 0, DType::F64).to_vector_f64();
  for (int i = 0; i < 100; ++i) CHECK(v64[i] == doctest::Approx(v[i]).epsilon(1e-6));
  const Tensor h = Tensor::uniform({100}, low, high, 1234, 0, DType::BF16);
  CHECK(h.dtype() == DType::BF16);
  const std::vector<float> vh = h.to_vector();
  for (int i = 0; i < 100; ++i) CHECK(vh[i] == bf16_bits_to_float(float_to_bf16_bits(v[i])));
}

TEST_CASE("random: Tensor::normal reproducibility and moments") {
  const std::vector<float> a = Tensor::normal({100000}, 2.0f, 0.5f, 99, 0).to_vector();
  CHECK(Tensor::normal({100000}, 2.0f, 0.5f, 99, 0).to_vector() == a);
  const std::vector<float> other_seed = Tensor::normal({100000}, 2.0f, 0.5f, 100, 0).to_vector();
  CHECK(other_seed != a);
  const std::vector<float> other_offset = Tensor::normal({100000}, 2.0f, 0.5f, 99, 4096).to_vector();
  CHECK(other_offset != a);
  // mean 2 (standard error 0.0016), stddev 0.5, and about 68.3% within one sigma.
  CHECK(mean_of(a) == doctest::Approx(2.0).epsilon(0.005));
  CHECK(std::sqrt(variance_of(a)) == doctest::Approx(0.5).epsilon(0.02));
  int within = 0;
  for (float x : a) within += std::fabs(x - 2.0f) < 0.5f;
  CHECK(within / 100000.0 == doctest::Approx(0.6827).epsilon(0.02));
  for (float x : a) REQUIRE(std::isfinite(x));
}

TEST_CASE("random: Generator::reserve hands out disjoint block-aligned ranges") {
  Generator g(5);
  CHECK(g.seed() == 5);
  CHECK(g.offset() == 0);
  CHECK(g.reserve(5) == 0);   // takes 0..4, rounded up to 8
  CHECK(g.reserve(1) == 8);   // takes 8, rounded up to 12
  CHECK(g.reserve(4) == 12);
  CHECK(g.reserve(0) == 16);  // nothing taken
  CHECK(g.offset() == 16);
  g.set_state(77, 400);
  CHECK(g.seed() == 77);
  CHECK(g.reserve(3) == 400);
  CHECK(g.offset() == 404);
}

TEST_CASE("random: manual_seed resets the default generator") {
  manual_seed(2024);
  CHECK(default_generator().seed() == 2024);
  CHECK(default_generator().offset() == 0);
  default_generator().reserve(10);
  manual_seed(2024);
  CHECK(default_generator().offset() == 0);
}

TEST_SUITE("cuda") {
  TEST_CASE("random: uniform and normal tensors on CUDA have the CPU bits") {
    LOOM_REQUIRE_CUDA_DEVICE();
    for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
      INFO(std::string(dtype_name(dt)));
      const Tensor cpu_u = Tensor::uniform({3000}, -1.0f, 1.0f, 11, 8, dt);
      const Tensor gpu_u = Tensor::uniform({3000}, -1.0f, 1.0f, 11, 8, dt, Device::cuda());
      CHECK(gpu_u.device() == Device::cuda());
      CHECK(gpu_u.to(Device::cpu()).to_vector() == cpu_u.to_vector());
      const Tensor cpu_n = Tensor::normal({3000}, 0.0f, 1.0f, 12, 0, dt);
      const Tensor gpu_n = Tensor::normal({3000}, 0.0f, 1.0f, 12, 0, dt, Device::cuda());
      CHECK(gpu_n.to(Device::cpu()).to_vector() == cpu_n.to_vector());
    }
  }
}
