// tests/kernels/test_pool_cpu.cc: the CPU pooling kernels (kernels/pool/pool_cpu.cc), called directly.
//
// Hand-worked examples pin the conventions of pool.h (floor mode, windows past a row's length are
// not counted, first index on ties, empty rows give 0 and argmax -1, overlapping windows add).
// Layer 1: every backward against central differences of its forward in F64 (h = 1e-6, rtol 1e-6,
// atol 1e-8, as tests/support/gradcheck.h argues), on inputs whose values are all at least 0.01
// apart so a 1e-6 step never changes a winner. Then GradMode, the same bits on 1 and 2 threads,
// F16 / BF16 storage against F32 on rounded inputs, NaN propagation, the cost formulas, and errors.
//
// Every output and Overwrite gradient starts as NaN, so a slot the kernel forgets to write fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "kernels/pool/pool.h"
#include "tests/support/compare.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/stored.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;
using kernels::TimeReduce;
using std::int64_t;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

struct PoolCase {
  int64_t T = 9, B = 4, C = 3, k = 3, s = 2;
  std::vector<std::int32_t> lengths;  // empty: nullptr (every row T long)
  std::vector<double> x;              // [T, B, C]
  const std::int32_t* len_ptr() const { return lengths.empty() ? nullptr : lengths.data(); }
};

struct PoolOut {
  std::vector<double> y;
  std::vector<std::int32_t> argmax, out_lengths;
};

PoolOut maxpool_fwd(const PoolCase& c, DType t) {
  const int64_t T_out = c.s > 0 ? kernels::maxpool1d_out_T(c.T, c.k, c.s) : 0;  // stride 0 is an error case
  const std::size_t n = static_cast<std::size_t>(T_out * c.B * c.C);
  Stored x(c.x, t), y(n, kNaN, t);
  PoolOut out;
  out.argmax.assign(n, -7), out.out_lengths.assign(static_cast<std::size_t>(c.B), -7);
  kernels::MaxPool1dFwdArgs a;
  a.T = c.T, a.B = c.B, a.C = c.C, a.kernel = c.k, a.stride = c.s, a.dtype = t;
  a.x = x.ptr(), a.lengths = c.len_ptr(), a.y = y.ptr();
  a.argmax = out.argmax.data(), a.out_lengths = out.out_lengths.data();
  kernels::maxpool1d_fwd_cpu(a);
  out.y = y.values();
  return out;
}

std::vector<double> maxpool_bwd(const PoolCase& c, const std::vector<std::int32_t>& argmax,
                                const std::vector<double>& dy, DType t, GradMode mode = GradMode::Overwrite,
                                double prefill = kNaN) {
  Stored dys(dy, t), dx(static_cast<std::size_t>(c.T * c.B * c.C), prefill, t);
  kernels::MaxPool1dBwdArgs a;
  a.T = c.T, a.B = c.B, a.C = c.C, a.kernel = c.k, a.stride = c.s, a.dtype = t;
  a.argmax = argmax.data(), a.dy = dys.ptr(), a.dx = dx.ptr(), a.mode = mode;
  kernels::maxpool1d_bwd_cpu(a);
  return dx.values();
}

PoolOut global_fwd(const PoolCase& c, TimeReduce op, DType t) {
  const std::size_t n = static_cast<std::size_t>(c.B * c.C);
  Stored x(c.x, t), y(n, kNaN, t);
  PoolOut out;
  out.argmax.assign(n, -7);
  kernels::GlobalPoolFwdArgs a;
  a.T = c.T, a.B = c.B, a.C = c.C, a.dtype = t, a.op = op;
  a.x = x.ptr(), a.lengths = c.len_ptr(), a.y = y.ptr(), a.argmax = op == TimeReduce::Max ? out.argmax.data() : nullptr;
  kernels::global_pool_fwd_cpu(a);
  out.y = y.values();
  return out;
}

std::vector<double> global_bwd(const PoolCase& c, TimeReduce op, const std::vector<std::int32_t>& argmax,
                               const std::vector<double>& dy, DType t, GradMode mode = GradMode::Overwrite,
                               double prefill = kNaN) {
  Stored dys(dy, t), dx(static_cast<std::size_t>(c.T * c.B * c.C), prefill, t);
  kernels::GlobalPoolBwdArgs a;
  a.T = c.T, a.B = c.B, a.C = c.C, a.dtype = t, a.op = op;
  a.lengths = c.len_ptr(), a.argmax = op == TimeReduce::Max ? argmax.data() : nullptr;
  a.dy = dys.ptr(), a.dx = dx.ptr(), a.mode = mode;
  kernels::global_pool_bwd_cpu(a);
  return dx.values();
}

// n values, every two at least 0.01 apart: 0.01 times a random permutation of 0..n-1, centred.
std::vector<double> distinct_values(int64_t n, std::uint64_t seed) {
  const std::vector<double> keys = random_values(n, seed, 0, 1);
  std::vector<std::size_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < order.size(); ++i)
    v[order[i]] = 0.01 * static_cast<double>(i) - 0.005 * static_cast<double>(n);
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) s += a[k] * b[k];
  return s;
}

Tolerance gradcheck_tolerance() {
  const GradcheckOptions o;
  return {o.rtol, o.atol};
}

std::vector<double> shifted(std::vector<double> v, double by) {
  for (double& e : v) e += by;
  return v;
}

std::vector<double> round_all(const std::vector<double>& v, DType t) {
  std::vector<double> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = round_to(static_cast<float>(v[k]), t);
  return out;
}

}  // namespace

TEST_CASE("maxpool1d cpu: hand example with lengths and a tie") {
  PoolCase c;
  c.T = 5, c.B = 2, c.C = 1, c.k = 2, c.s = 2;  // floor mode: T_out = 2, t = 4 is in no window
  c.lengths = {5, 3};                            // row 1 has (3 - 2) / 2 + 1 = 1 valid window
  // x[t, b]:    t = 0   1   2   3   4
  //   row 0:        1   3   2   2   5
  //   row 1:        4  -1   7   9   9      (window 1 = t 2..3 reaches past length 3: not counted)
  c.x = {1, 4, 3, -1, 2, 7, 2, 9, 5, 9};
  const PoolOut r = maxpool_fwd(c, DType::F32);
  check_equal(r.y, {3, 4, 2, 0}, "y [w, b]");
  check_equal(r.argmax, {1, 0, 2, -1}, "argmax (the tie 2, 2 goes to the first)");
  check_equal(r.out_lengths, {2, 1}, "out_lengths");
  // Gradient goes to the winners only; the uncounted window sends nothing.
  check_equal(maxpool_bwd(c, r.argmax, {0.5, 0.25, -1, 8}, DType::F32), {0, 0.25, 0.5, 0, -1, 0, 0, 0, 0, 0}, "dx");
}

TEST_CASE("maxpool1d cpu: overlapping windows add their gradients") {
  PoolCase c;
  c.T = 4, c.B = 1, c.C = 1, c.k = 3, c.s = 1;  // windows t 0..2 and 1..3 both pick x[1] = 5
  c.x = {0, 5, 1, 2};
  const PoolOut r = maxpool_fwd(c, DType::F64);
  check_equal(r.y, {5, 5}, "y");
  check_equal(r.argmax, {1, 1}, "argmax");
  check_equal(maxpool_bwd(c, r.argmax, {0.5, 0.25}, DType::F64), {0, 0.75, 0, 0}, "dx");
}

TEST_CASE("maxpool1d cpu: F64 finite differences with lengths and overlapping windows") {
  struct Window {
    int64_t k, s;
  };
  std::uint64_t seed = 10;
  for (const Window w : {Window{3, 2}, Window{4, 1}, Window{2, 3}}) {  // overlap, heavy overlap, gaps
    INFO("kernel ", w.k, " stride ", w.s);
    PoolCase c;
    c.k = w.k, c.s = w.s;
    c.lengths = {9, 6, 2, 0};
    c.x = distinct_values(c.T * c.B * c.C, seed);
    const PoolOut r = maxpool_fwd(c, DType::F64);
    const std::vector<double> wts = random_values(static_cast<int64_t>(r.y.size()), seed + 1, -1, 1);
    const std::vector<double> dx = maxpool_bwd(c, r.argmax, wts, DType::F64);
    auto loss = [&] { return dot(maxpool_fwd(c, DType::F64).y, wts); };
    check_close(dx, numeric_grad(c.x, loss), gradcheck_tolerance(), "dx");
    for (int64_t b = 0; b < c.B; ++b)
      CHECK(r.out_lengths[static_cast<std::size_t>(b)] ==
            kernels::maxpool1d_out_length(c.lengths[static_cast<std::size_t>(b)], w.k, w.s));
    seed += 2;
  }
}

TEST_CASE("global pool cpu: hand example, max and mean with lengths") {
  PoolCase c;
  c.T = 3, c.B = 3, c.C = 2;
  c.lengths = {3, 0, 1};
  // x[t, b, c]: row 0 = (1, -2), (6, -5), (6, -1); row 1 is empty; row 2 = (-4, 2) then padding 100.
  c.x = {1, -2, 9, 9, -4, 2, 6, -5, 9, 9, 100, 100, 6, -1, 9, 9, 100, 100};
  const PoolOut mx = global_fwd(c, TimeReduce::Max, DType::F32);
  check_equal(mx.y, {6, -1, 0, 0, -4, 2}, "max");
  check_equal(mx.argmax, {1, 2, -1, -1, 0, 0}, "argmax (6 at t = 1 and t = 2: the first)");
  const PoolOut mean = global_fwd(c, TimeReduce::Mean, DType::F32);
  check_close(mean.y, std::vector<double>{13.0 / 3, -8.0 / 3, 0, 0, -4, 2}, DType::F32, "mean");
  const std::vector<double> dy = {0.5, 1.5, 7, 7, -2, 3};
  check_equal(global_bwd(c, TimeReduce::Max, mx.argmax, dy, DType::F32),
              {0, 0, 0, 0, -2, 3, 0.5, 0, 0, 0, 0, 0, 0, 1.5, 0, 0, 0, 0}, "max dx");
  check_close(global_bwd(c, TimeReduce::Mean, {}, dy, DType::F32),
              std::vector<double>{0.5 / 3, 0.5, 0, 0, -2, 3, 0.5 / 3, 0.5, 0, 0, 0, 0, 0.5 / 3, 0.5, 0, 0, 0, 0},
              DType::F32, "mean dx");
}

TEST_CASE("global pool cpu: F64 finite differences, max and mean, with a zero length") {
  for (TimeReduce op : {TimeReduce::Max, TimeReduce::Mean}) {
    INFO((op == TimeReduce::Max ? "max" : "mean"));
    PoolCase c;
    c.T = 6, c.B = 4, c.C = 3;
    c.lengths = {6, 3, 0, 1};
    c.x = distinct_values(c.T * c.B * c.C, 30);
    const PoolOut r = global_fwd(c, op, DType::F64);
    const std::vector<double> wts = random_values(c.B * c.C, 31, -1, 1);
    const std::vector<double> dx = global_bwd(c, op, r.argmax, wts, DType::F64);
    auto loss = [&] { return dot(global_fwd(c, op, DType::F64).y, wts); };
    check_close(dx, numeric_grad(c.x, loss), gradcheck_tolerance(), "dx");
    c.lengths.clear();  // nullptr: every row T long
    const PoolOut full = global_fwd(c, op, DType::F64);
    const std::vector<double> dx_full = global_bwd(c, op, full.argmax, wts, DType::F64);
    check_close(dx_full, numeric_grad(c.x, [&] { return dot(global_fwd(c, op, DType::F64).y, wts); }),
                gradcheck_tolerance(), "dx without lengths");
  }
}

TEST_CASE("pool cpu: GradMode Accumulate adds onto the old gradient") {
  PoolCase c;
  c.lengths = {9, 5, 3, 0};
  c.x = distinct_values(c.T * c.B * c.C, 40);
  const PoolOut mp = maxpool_fwd(c, DType::F64);
  const std::vector<double> dy = random_values(static_cast<int64_t>(mp.y.size()), 41, -1, 1);
  check_close(maxpool_bwd(c, mp.argmax, dy, DType::F64, GradMode::Accumulate, 0.25),
              shifted(maxpool_bwd(c, mp.argmax, dy, DType::F64), 0.25), DType::F64, "maxpool dx");
  for (TimeReduce op : {TimeReduce::Max, TimeReduce::Mean}) {
    const PoolOut g = global_fwd(c, op, DType::F64);
    const std::vector<double> gy = random_values(c.B * c.C, 42, -1, 1);
    check_close(global_bwd(c, op, g.argmax, gy, DType::F64, GradMode::Accumulate, -0.75),
                shifted(global_bwd(c, op, g.argmax, gy, DType::F64), -0.75), DType::F64, "global dx");
  }
}

TEST_CASE("pool cpu: the same bits on one and two threads") {
  PoolCase c;
  c.T = 64, c.B = 16, c.C = 40, c.k = 4, c.s = 1;  // big enough to pass kParallelGrain
  c.x = random_values(c.T * c.B * c.C, 50, -1, 1);
  c.lengths = random_ints(c.B, 51, 65);
  const int before = loom::num_threads();
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2}) {
    loom::set_num_threads(threads);
    const PoolOut r = maxpool_fwd(c, DType::F32);
    const std::vector<double> dy = random_values(static_cast<int64_t>(r.y.size()), 52, -1, 1);
    runs.push_back(maxpool_bwd(c, r.argmax, dy, DType::F32));
    runs.push_back(global_fwd(c, TimeReduce::Mean, DType::F32).y);
  }
  loom::set_num_threads(before);
  check_equal(runs[0], runs[2], "maxpool dx");
  check_equal(runs[1], runs[3], "global mean");
}

TEST_CASE("pool cpu: F16 and BF16 storage match F32 on the rounded inputs") {
  PoolCase c;
  c.lengths = {9, 6, 2, 0};
  c.x = random_values(c.T * c.B * c.C, 60, -2, 2);
  for (DType t : {DType::F16, DType::BF16}) {
    INFO(dtype_name(t));
    PoolCase r = c;
    r.x = round_all(c.x, t);
    const PoolOut half = maxpool_fwd(c, t), ref = maxpool_fwd(r, DType::F32);
    check_equal(half.y, ref.y, "maxpool y (a max is a stored value: exact)");
    check_equal(half.argmax, ref.argmax, "maxpool argmax");
    const std::vector<double> dy = random_values(static_cast<int64_t>(ref.y.size()), 61, -1, 1);
    check_close(maxpool_bwd(c, half.argmax, dy, t), maxpool_bwd(r, ref.argmax, round_all(dy, t), DType::F32), t,
                "maxpool dx");
    const std::vector<double> gy = random_values(c.B * c.C, 62, -1, 1);
    for (TimeReduce op : {TimeReduce::Max, TimeReduce::Mean}) {
      const PoolOut gh = global_fwd(c, op, t), gr = global_fwd(r, op, DType::F32);
      check_close(gh.y, gr.y, t, "global y");
      check_equal(gh.argmax, gr.argmax, "global argmax");
      check_close(global_bwd(c, op, gh.argmax, gy, t), global_bwd(r, op, gr.argmax, round_all(gy, t), DType::F32), t,
                  "global dx");
    }
  }
}

TEST_CASE("pool cpu: NaN wins a max, the first one seen") {
  PoolCase c;
  c.T = 4, c.B = 1, c.C = 2, c.k = 4, c.s = 1;
  c.x = {1, kNaN, kNaN, 5, 3, kNaN, 2, 0};  // channel 0: 1 NaN 3 2; channel 1: NaN 5 NaN 0
  const PoolOut mp = maxpool_fwd(c, DType::F32);
  CHECK(std::isnan(mp.y[0]));
  CHECK(std::isnan(mp.y[1]));
  check_equal(mp.argmax, {1, 0}, "maxpool argmax");
  const PoolOut g = global_fwd(c, TimeReduce::Max, DType::F64);
  CHECK(std::isnan(g.y[0]));
  CHECK(std::isnan(g.y[1]));
  check_equal(g.argmax, {1, 0}, "global argmax");
}

TEST_CASE("pool cpu: cost formulas against a hand count") {
  std::int32_t dummy = 0;  // cost() reads only shapes and which pointers are set
  kernels::MaxPool1dFwdArgs m;
  m.T = 10, m.B = 2, m.C = 3, m.kernel = 3, m.stride = 2, m.lengths = &dummy, m.out_lengths = &dummy;
  // T_out = 4, windows cover rows 0..8 (9 rows); flops 4*2*3 windows of 3;
  // bytes 4 (9*6 read + 24 written) + argmax 4*24 + lengths 8 + out_lengths 8.
  CHECK(kernels::maxpool1d_fwd_cost(m).flops == 72);
  CHECK(kernels::maxpool1d_fwd_cost(m).bytes == 312 + 96 + 16);
  m.kernel = 2, m.stride = 3, m.dtype = DType::F16, m.lengths = nullptr, m.out_lengths = nullptr;
  // T_out = 3 windows of 2 with gaps: 6 rows read; flops 3*6*2; bytes 2 (36 + 18) + 4*18.
  CHECK(kernels::maxpool1d_fwd_cost(m).flops == 36);
  CHECK(kernels::maxpool1d_fwd_cost(m).bytes == 108 + 72);
  kernels::GlobalPoolFwdArgs g;
  g.T = 10, g.B = 2, g.C = 3, g.op = TimeReduce::Max, g.lengths = &dummy;
  CHECK(kernels::global_pool_fwd_cost(g).flops == 60);                 // one compare per element
  CHECK(kernels::global_pool_fwd_cost(g).bytes == 4 * 66 + 24 + 8);    // x + y, argmax, lengths
  g.op = TimeReduce::Mean, g.dtype = DType::BF16, g.lengths = nullptr;
  CHECK(kernels::global_pool_fwd_cost(g).flops == 66);                 // 60 adds + 6 scales
  CHECK(kernels::global_pool_fwd_cost(g).bytes == 2 * 66);
}

TEST_CASE("pool cpu: bad lengths, windows and dtypes are ShapeErrors") {
  PoolCase c;
  c.T = 4, c.B = 2, c.C = 1, c.k = 2, c.s = 2;
  c.x = {1, 2, 3, 4, 5, 6, 7, 8};
  c.lengths = {4, 5};
  CHECK_SHAPE_ERROR([&] { maxpool_fwd(c, DType::F32); }, "maxpool1d_fwd_cpu", "lengths[1] = 5", "T = 4");
  CHECK_SHAPE_ERROR([&] { global_fwd(c, TimeReduce::Mean, DType::F32); }, "global_pool_fwd_cpu", "lengths[1] = 5");
  c.lengths = {4, -1};
  CHECK_SHAPE_ERROR([&] { global_bwd(c, TimeReduce::Mean, {}, {0, 0}, DType::F32); }, "global_pool_bwd_cpu",
                    "lengths[1] = -1");
  c.lengths.clear();
  c.s = 0;
  CHECK_SHAPE_ERROR([&] { maxpool_fwd(c, DType::F32); }, "maxpool1d_fwd_cpu", "stride = 0");
  kernels::GlobalPoolFwdArgs i32;
  i32.dtype = DType::I32;
  CHECK_SHAPE_ERROR([&] { kernels::global_pool_fwd_cpu(i32); }, "global_pool_fwd_cpu", "i32");
}
