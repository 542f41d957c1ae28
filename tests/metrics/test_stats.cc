// tests/metrics/test_stats.cc: metrics/stats.h against cases checked by hand and by scipy
// (scipy 1.x, /usr/bin/python3: scipy.stats.binomtest(k, n, 0.5).pvalue; numpy.std(ddof=1)).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "metrics/stats.h"

using loom::metrics::bootstrap_mean_ci;
using loom::metrics::sign_test;
using loom::metrics::sign_test_p;

TEST_SUITE("stats") {
  TEST_CASE("mean and sample_std (ddof 1)") {
    // numpy: mean([0.1, 0.2, 0.4]) = 0.23333333333333336, std(ddof=1) = 0.1527525231651947
    const std::vector<double> x{0.1, 0.2, 0.4};
    CHECK(loom::metrics::mean(x) == doctest::Approx(0.23333333333333336).epsilon(1e-14));
    CHECK(loom::metrics::sample_std(x) == doctest::Approx(0.1527525231651947).epsilon(1e-14));
    CHECK(std::isnan(loom::metrics::mean({})));
    CHECK(std::isnan(loom::metrics::sample_std({1.0})));  // one value: no spread to estimate
  }

  TEST_CASE("sign test: hand-checked and scipy.stats.binomtest values") {
    // Five wins out of five: by hand 2 * 0.5^5 = 0.0625 (scipy: 0.0625).
    CHECK(sign_test_p({0.01, 0.02, 0.03, 0.01, 0.5}) == doctest::Approx(0.0625).epsilon(1e-14));
    // Six wins, one loss: by hand 2 * (1 + 7) / 2^7 = 0.125 (scipy binomtest(6, 7): 0.125).
    const loom::metrics::SignTest t = sign_test({1, 1, 1, 1, 1, 1, -1});
    CHECK(t.positive == 6);
    CHECK(t.negative == 1);
    CHECK(t.p == doctest::Approx(0.125).epsilon(1e-14));
    // The same with two ties added: ties are dropped, so still n = 7 and p = 0.125.
    const loom::metrics::SignTest tied = sign_test({1, 1, 0, 1, 1, 1, 0.0, 1, -1});
    CHECK(tied.ties == 2);
    CHECK(tied.p == doctest::Approx(0.125).epsilon(1e-14));
    // Symmetric: one win and six losses is the same p.
    CHECK(sign_test_p({-1, -1, -1, -1, -1, -1, 1}) == doctest::Approx(0.125).epsilon(1e-14));
    // scipy binomtest(3, 10) = 0.34375; binomtest(0, 12) = 0.00048828125;
    // binomtest(2, 20) = 0.0004024505615234375; binomtest(10, 20) = 1.0.
    std::vector<double> d(10, -1.0);
    d[0] = d[1] = d[2] = 1.0;
    CHECK(sign_test_p(d) == doctest::Approx(0.34375).epsilon(1e-12));
    CHECK(sign_test_p(std::vector<double>(12, -0.5)) == doctest::Approx(0.00048828125).epsilon(1e-12));
    std::vector<double> e(20, -1.0);
    e[5] = e[9] = 2.0;
    CHECK(sign_test_p(e) == doctest::Approx(0.0004024505615234375).epsilon(1e-10));
    std::vector<double> f(20, -1.0);
    for (int i = 0; i < 10; ++i) f[static_cast<std::size_t>(i)] = 1.0;
    CHECK(sign_test_p(f) == doctest::Approx(1.0));
    // Only ties: nothing to test, p = 1.
    CHECK(sign_test_p({0.0, 0.0}) == 1.0);
  }

  TEST_CASE("bootstrap of a constant vector is that constant") {
    const loom::metrics::Interval ci = bootstrap_mean_ci({0.75, 0.75, 0.75, 0.75}, 1000, 0.95, 7);
    CHECK(ci.low == doctest::Approx(0.75).epsilon(1e-15));
    CHECK(ci.high == doctest::Approx(0.75).epsilon(1e-15));
  }

  TEST_CASE("bootstrap CI covers the mean and is reproducible and shrinks as n grows") {
    // Two different samples of the same alternating pattern 0, 1, 0, 1, ... (mean 0.5, sd about
    // 0.5): the interval's width falls like 1 / sqrt(n), so n = 400 gives about a third of n = 40.
    auto pattern = [](int n) {
      std::vector<double> x;
      for (int i = 0; i < n; ++i) x.push_back(i % 2);
      return x;
    };
    const loom::metrics::Interval small = bootstrap_mean_ci(pattern(40), 10000, 0.95, 1);
    const loom::metrics::Interval large = bootstrap_mean_ci(pattern(400), 10000, 0.95, 1);
    CHECK(small.low < 0.5);
    CHECK(small.high > 0.5);
    CHECK(large.low < 0.5);
    CHECK(large.high > 0.5);
    const double w_small = small.high - small.low, w_large = large.high - large.low;
    // Normal theory: 2 * 1.96 * 0.5 / sqrt(n) = 0.31 (n = 40) and 0.098 (n = 400).
    CHECK(w_small == doctest::Approx(0.31).epsilon(0.15));
    CHECK(w_large == doctest::Approx(0.098).epsilon(0.15));
    CHECK(w_large < w_small / 2.5);
    // Same seed, same interval; another seed, (almost surely) a slightly different one.
    const loom::metrics::Interval again = bootstrap_mean_ci(pattern(40), 10000, 0.95, 1);
    CHECK(again.low == small.low);
    CHECK(again.high == small.high);
  }

  TEST_CASE("bootstrap: bad arguments are errors") {
    CHECK_THROWS_AS(bootstrap_mean_ci({}, 10, 0.95, 1), loom::Error);
    CHECK_THROWS_AS(bootstrap_mean_ci({1.0}, 0, 0.95, 1), loom::Error);
    CHECK_THROWS_AS(bootstrap_mean_ci({1.0}, 10, 1.5, 1), loom::Error);
  }
}
