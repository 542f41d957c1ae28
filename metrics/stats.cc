// metrics/stats.cc: mean, sample standard deviation, the percentile bootstrap of the mean and the
// exact sign test (formulas in stats.h).
#include "metrics/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/philox.h"

namespace loom::metrics {

double mean(const std::vector<double>& x) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double sample_std(const std::vector<double>& x) {
  if (x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double m = mean(x);
  double sq = 0;
  for (double v : x) sq += (v - m) * (v - m);
  return std::sqrt(sq / static_cast<double>(x.size() - 1));
}

namespace {

// Quantile q of sorted values, interpolating linearly between order statistics (numpy "linear"):
// position q * (n - 1).
double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

}  // namespace

Interval bootstrap_mean_ci(const std::vector<double>& x, int resamples, double level, std::uint64_t seed) {
  LOOM_CHECK(!x.empty(), "bootstrap_mean_ci: no values");
  LOOM_CHECK(resamples >= 1, "bootstrap_mean_ci: resamples must be >= 1, got ", resamples);
  LOOM_CHECK(level > 0 && level < 1, "bootstrap_mean_ci: level must be in (0, 1), got ", level);
  const std::uint64_t n = x.size();
  std::vector<double> means(static_cast<std::size_t>(resamples));
  std::uint64_t counter = 0;  // position in the Philox stream: two 32-bit words per index drawn
  for (int b = 0; b < resamples; ++b) {
    double s = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      // 64 random bits modulo n: the bias is below n / 2^64, far under anything we could measure.
      const std::uint64_t w = (static_cast<std::uint64_t>(philox_word(seed, counter)) << 32) |
                              philox_word(seed, counter + 1);
      counter += 2;
      s += x[static_cast<std::size_t>(w % n)];
    }
    means[static_cast<std::size_t>(b)] = s / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double tail = (1.0 - level) / 2.0;
  return Interval{quantile_sorted(means, tail), quantile_sorted(means, 1.0 - tail)};
}

SignTest sign_test(const std::vector<double>& differences) {
  SignTest t;
  for (double d : differences) {
    if (d > 0) ++t.positive;
    else if (d < 0) ++t.negative;
    else ++t.ties;
  }
  const int n = t.positive + t.negative;
  if (n == 0) return t;  // p = 1
  const int k = std::min(t.positive, t.negative);
  // P(K <= k) for K ~ Binomial(n, 1/2) = sum_{i<=k} C(n, i) / 2^n, with C(n, i) built up in
  // log space so that n in the thousands does not overflow.
  double log_c = 0;  // log C(n, 0)
  double tail = 0;
  for (int i = 0; i <= k; ++i) {
    if (i > 0) log_c += std::log(static_cast<double>(n - i + 1)) - std::log(static_cast<double>(i));
    tail += std::exp(log_c - n * std::log(2.0));
  }
  t.p = std::min(1.0, 2.0 * tail);
  return t;
}

double sign_test_p(const std::vector<double>& differences) { return sign_test(differences).p; }

}  // namespace loom::metrics
