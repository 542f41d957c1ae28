// tests/support/values.h: deterministic test inputs, independent of the library under test.
//
// Inputs come from splitmix64 (a tiny, well-known integer mixer written out here) rather than
// from loom's own Philox, so a broken generator cannot hide a broken op. Same seed, same values,
// on every compiler and machine.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "ops/tensor.h"

namespace loom::test {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// n values uniform in [lo, hi).
inline std::vector<double> random_values(std::int64_t n, std::uint64_t seed, double lo, double hi) {
  std::uint64_t state = seed * 0x2545F4914F6CDD1DULL + 1;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& x : v) {
    const double u = static_cast<double>(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
    x = lo + (hi - lo) * u;
  }
  return v;
}

inline std::vector<float> random_floats(std::int64_t n, std::uint64_t seed, float lo, float hi) {
  const std::vector<double> d = random_values(n, seed, lo, hi);
  return std::vector<float>(d.begin(), d.end());
}

// Values in [lo, hi) with |v| >= gap: keeps gradient checks away from kinks (relu at 0).
inline std::vector<double> random_values_away_from_zero(std::int64_t n, std::uint64_t seed, double lo,
                                                        double hi, double gap) {
  std::vector<double> v = random_values(n, seed, lo, hi);
  for (auto& x : v)
    if (std::fabs(x) < gap) x = x < 0 ? x - gap : x + gap;
  return v;
}

// Integers in [0, k).
inline std::vector<std::int32_t> random_ints(std::int64_t n, std::uint64_t seed, std::int32_t k) {
  std::uint64_t state = seed * 0x2545F4914F6CDD1DULL + 7;
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<std::int32_t>(splitmix64(state) % static_cast<std::uint64_t>(k));
  return v;
}

// What storing a float in `dtype` and reading it back gives (round to nearest even).
inline float round_to(float v, DType dtype) {
  switch (dtype) {
    case DType::F16: return half_bits_to_float(float_to_half_bits(v));
    case DType::BF16: return bf16_bits_to_float(float_to_bf16_bits(v));
    default: return v;
  }
}
inline std::vector<float> round_to(const std::vector<float>& v, DType dtype) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = round_to(v[i], dtype);
  return out;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// An F64 CPU tensor, the input type of every gradient check.
inline Tensor f64(const std::vector<double>& v, const Shape& shape) {
  return Tensor::from_vector(v, shape, DType::F64);
}
inline Tensor f64_random(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return f64(random_values(numel(shape), seed, lo, hi), shape);
}
inline Tensor i32(const std::vector<std::int32_t>& v, const Shape& shape, Device device = Device::cpu()) {
  return Tensor::from_vector(v, shape, device);
}

// Does `e.what()` contain every one of `parts`? Used to check error messages name the op and
// the shapes involved.
template <typename... Parts>
bool message_has(const std::string& what, const Parts&... parts) {
  return ((what.find(parts) != std::string::npos) && ...);
}

}  // namespace loom::test
