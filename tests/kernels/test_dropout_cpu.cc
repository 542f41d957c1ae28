// tests/kernels/test_dropout_cpu.cc: the CPU dropout kernel, bit for bit, against its definition
// written out here as scalar code:
//   y[i] (+)= from_float(u_i >= p ? x[i] / (1 - p) : 0),   u_i = philox_uniform(seed, offset + i)
// (the division and the Accumulate sum in F32, one rounding to the storage type). On an AVX-512
// CPU dropout_cpu runs dropout_avx512.cc's 16-lane span for F32 and BF16 with words from
// philox_blocks_cpu's eight-block passes; elsewhere its scalar loop. Either must give exactly
// these bits, for every length and offset (ragged first and last Philox blocks, masked last
// lanes) and for special values (NaN, infinities, signed zeros, subnormals).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/philox.h"
#include "kernels/elementwise/dropout_avx512.h"
#include "kernels/elementwise/elementwise.h"

using namespace loom;
using namespace loom::kernels;

namespace {

// Values that include every awkward case, then a spread of ordinary ones.
std::vector<float> awkward_values(std::int64_t n, unsigned salt) {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), 0.0f, -0.0f, 1e-40f, -3e-39f, 65504.0f,
                            3.0e38f, -1.0f};
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    v[k] = i % 13 == 5 ? specials[(i / 13 + salt) % 10]
                       : static_cast<float>(((i * 7919 + salt * 104729) % 20001) - 10000) / 997.0f;
  }
  return v;
}

template <typename T>
std::vector<T> stored(const std::vector<float>& v) {
  std::vector<T> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = from_float<T>(v[i]);
  return out;
}

template <typename T>
void check_kernel(DType dtype, std::int64_t n, std::uint64_t offset, float p, GradMode mode) {
  const std::vector<T> x = stored<T>(awkward_values(n, 1)), old = stored<T>(awkward_values(n, 2));
  std::vector<T> y = old, expected = old;
  const float keep_prob = 1.0f - p;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const float u = philox_uniform(1234567, offset + static_cast<std::uint64_t>(i));
    float value = u >= p ? to_float(x[k]) / keep_prob : 0.0f;
    if (mode == GradMode::Accumulate) value += to_float(old[k]);
    expected[k] = from_float<T>(value);
  }
  DropoutArgs a;
  a.n = n;
  a.dtype = dtype;
  a.p = p;
  a.seed = 1234567;
  a.offset = offset;
  a.x = x.data();
  a.y = y.data();
  a.mode = mode;
  dropout_cpu(a);
  std::int64_t differ = 0;
  for (std::size_t k = 0; k < y.size(); ++k) differ += std::memcmp(&y[k], &expected[k], sizeof(T)) != 0;
  CHECK(differ == 0);
}

}  // namespace

TEST_CASE("dropout_cpu: the same bits as the scalar definition, F32 and BF16, both modes, any length and offset") {
  const std::string route = dropout_avx512_available() ? "AVX-512 span in use" : "no AVX-512: the scalar loop is checked";
  MESSAGE(route);
  for (std::int64_t n : {1, 3, 15, 16, 17, 513, 40000}) {
    for (std::uint64_t offset : {0ULL, 3ULL, 6ULL, (1ULL << 34) + 1}) {
      for (float p : {0.1f, 0.3f, 0.5f}) {
        for (GradMode mode : {GradMode::Overwrite, GradMode::Accumulate}) {
          INFO("n = ", n, ", offset = ", offset, ", p = ", p, ", accumulate = ", mode == GradMode::Accumulate);
          check_kernel<float>(DType::F32, n, offset, p, mode);
          check_kernel<BFloat16>(DType::BF16, n, offset, p, mode);
        }
      }
    }
  }
}
