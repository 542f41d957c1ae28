// tests/support/compare.h: THE tolerance table, and check_close.
//
// Every numeric comparison in the suite goes through this table, so loosening a tolerance is one
// visible edit with its reason next to it. A value passes when
//     |actual - expected| <= atol + rtol * |expected|.
//
// How the numbers were chosen (inputs in these tests are O(1) by construction):
//   F64  rtol 1e-6: the gradient-check tolerance. Central differences with h = 1e-6 have a
//        truncation error ~h^2 |f'''| ~ 1e-12 and a rounding error ~eps |f| / h ~ 1e-10 |f|, so
//        1e-6 leaves four orders of margin and still catches any wrong derivative.
//   F32  rtol 1e-5 (~80 ulps): CPU and GPU sum in different orders and their exp/tanh differ by a
//        few ulps; a K-term dot product of O(1) terms can move by ~K ulps of its terms, which the
//        absolute floor covers for the K <= 64 used here.
//   F16  rtol 1e-2: storage rounds to 11 significant bits (half-ulp 4.9e-4 relative); an op rounds
//        its inputs, maybe an intermediate, and its output, so a few half-ulps, with margin.
//        atol 5e-3: errors are relative to the O(1) operands, not to a result that cancelled to
//        near zero (e.g. tanh' = 1 - y^2 read from a rounded y), so ~5 ulps at 1.
//   BF16 rtol 4e-2: 8 significant bits (half-ulp 3.9e-3 relative), same reasoning, ~4x F16's
//        budget per rounding; atol 2e-2 likewise ~5 ulps at 1.
//   I32  exact.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace loom::test {

struct Tolerance {
  double rtol = 0, atol = 0;
};

inline Tolerance tolerance(DType t) {
  switch (t) {
    case DType::F64: return {1e-6, 1e-9};
    case DType::F32: return {1e-5, 1e-5};
    case DType::F16: return {1e-2, 5e-3};
    case DType::BF16: return {4e-2, 2e-2};
    case DType::I32: return {0.0, 0.0};
  }
  return {0.0, 0.0};
}

// Returns "" when every element is close, else a description of the first mismatch and the count.
template <typename A, typename E>
std::string first_mismatch(const std::vector<A>& actual, const std::vector<E>& expected, Tolerance tol) {
  std::ostringstream os;
  os.precision(9);
  if (actual.size() != expected.size()) {
    os << "size mismatch: actual has " << actual.size() << " elements, expected " << expected.size();
    return os.str();
  }
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    const bool both_nan = std::isnan(a) && std::isnan(e);
    const bool same_inf = std::isinf(a) && std::isinf(e) && (a > 0) == (e > 0);
    const bool ok = both_nan || same_inf || std::fabs(a - e) <= tol.atol + tol.rtol * std::fabs(e);
    if (!ok) {
      if (bad == 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return "";
  const double a = static_cast<double>(actual[first]);
  const double e = static_cast<double>(expected[first]);
  os << bad << " of " << actual.size() << " elements differ; first at index " << first << ": actual "
     << a << ", expected " << e << " (|diff| " << std::fabs(a - e) << " > atol " << tol.atol
     << " + rtol " << tol.rtol << " * |expected|)";
  return os.str();
}

// check_close(actual, expected, dtype, "what"): one doctest CHECK that names what was compared
// and the first element out of tolerance. Returns whether it passed, for a caller that must know
// (a test that may report a skip: tests/support/devices.h).
template <typename A, typename E>
bool check_close(const std::vector<A>& actual, const std::vector<E>& expected, Tolerance tol,
                 const std::string& what) {
  const std::string msg = first_mismatch(actual, expected, tol);
  INFO(what, ": ", msg);
  CHECK(msg.empty());
  return msg.empty();
}

template <typename A, typename E>
bool check_close(const std::vector<A>& actual, const std::vector<E>& expected, DType dtype,
                 const std::string& what) {
  return check_close(actual, expected, tolerance(dtype), what + " [" + dtype_name(dtype) + " tolerance]");
}

// Exact equality (bit patterns, integer results), with the same reporting.
template <typename T>
void check_equal(const std::vector<T>& actual, const std::vector<T>& expected, const std::string& what) {
  std::string msg;
  if (actual.size() != expected.size()) {
    msg = "size mismatch: " + std::to_string(actual.size()) + " vs " + std::to_string(expected.size());
  } else {
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (!(actual[i] == expected[i])) {
        std::ostringstream os;
        os.precision(9);
        os << "first difference at index " << i << ": actual " << +actual[i] << ", expected " << +expected[i];
        msg = os.str();
        break;
      }
    }
  }
  INFO(what, ": ", msg);
  CHECK(msg.empty());
}

}  // namespace loom::test
