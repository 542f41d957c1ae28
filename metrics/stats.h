// metrics/stats.h: the few statistics `loom compare` reports over repeated runs (no I/O).
//
//   mean(x)        = sum x_i / n
//   sample_std(x)  = sqrt( sum (x_i - mean)^2 / (n - 1) )        (ddof 1, as pandas' .std())
//   bootstrap_mean_ci(x, B, level, seed): the percentile bootstrap of the mean. B times, draw n
//     values of x with replacement (Philox stream `seed`, so the interval is reproducible) and take
//     their mean; the interval is the (1-level)/2 and (1+level)/2 quantiles of those B means
//     (linear interpolation between order statistics, numpy's default "linear" method).
//   sign_test(d): the exact two-sided sign test of "median difference = 0". Zeros (ties) are
//     dropped; with n non-zero differences of which k are positive, under H0 k ~ Binomial(n, 1/2),
//     and p = min(1, 2 * P(K <= min(k, n - k))). For p = 1/2 this equals scipy.stats.binomtest's
//     two-sided p-value (the binomial is symmetric). n = 0 gives p = 1 (no evidence either way).
#pragma once

#include <cstdint>
#include <vector>

namespace loom::metrics {

double mean(const std::vector<double>& x);        // NaN for an empty vector
double sample_std(const std::vector<double>& x);  // NaN for fewer than 2 values

struct Interval {
  double low = 0, high = 0;
};
// resamples >= 1, 0 < level < 1, x non-empty (else loom::Error).
Interval bootstrap_mean_ci(const std::vector<double>& x, int resamples, double level, std::uint64_t seed);

struct SignTest {
  int positive = 0, negative = 0, ties = 0;  // ties: differences exactly 0 (dropped)
  double p = 1.0;                            // exact two-sided p-value
};
SignTest sign_test(const std::vector<double>& differences);
double sign_test_p(const std::vector<double>& differences);

}  // namespace loom::metrics
