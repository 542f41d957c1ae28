// tests/kernels/test_lstm_cpu_bf16.cc: the native BF16 path of the CPU LSTM (row "cpu",
// kernels/lstm/lstm_cpu.cc) against the same row in F32 on the bf16-rounded inputs.
//
// What the native path rounds that the F32 run does not (lstm_cpu.cc's opening comment): h to bf16
// before each recurrent GEMM (and so y, h_n, and Hprev, which feeds dW_hh), and dz to bf16 before
// the GEMMs of the backward (dh_prev, dW_ih, dW_hh, dx). The cell state, the gates, the carries,
// db and every accumulation stay F32, and each gradient is rounded once at the end.
//
// Tolerance, derived for the harness's values (|w| <= 0.8, |x|, |h0|, |c0| <= 1, H = 3 or 6, T <= 7):
// rounding h perturbs each element by at most 2^-9 |h| (bf16 keeps 8 significant bits), so each
// pre-activation z moves by at most 2^-9 sum_k |W_hh[r, k] h_k| <= 2^-9 * 0.8 H = 4.7e-3 (H = 3) or
// 9.4e-3 (H = 6); the gates pass it on with slope <= 1 and the cell state adds up at most one such
// term per step, damped by f < 1. dz rounding perturbs each backward GEMM operand by 2^-9
// relative, the same size. Every output is then rounded once more (2^-9 relative). That is a few
// 2^-9-sized terms on O(1) values: the BF16 row of the tolerance table (tests/support/compare.h:
// rtol 4e-2, atol 2e-2, "a few half-ulps with margin"). The long case below checks that the error
// does not grow with T instead of deriving a bound over 50 steps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/kernels/lstm_cpu_harness.h"

using namespace loom;
using namespace loom::test;
using namespace loom::test::lstm;

namespace {

// The same case with every value rounded to bf16: what the native path reads.
LstmCase rounded(const LstmCase& c) {
  LstmCase r = c;
  r.x = round_all(c.x, DType::BF16);
  for (int d = 0; d < c.D; ++d)
    for (auto* v : {&r.w_ih[d], &r.w_hh[d], &r.bias[d], &r.h0[d], &r.c0[d]}) *v = round_all(*v, DType::BF16);
  return r;
}

Seeds rounded(const Seeds& w) {
  Seeds r = w;
  r.dy = round_all(w.dy, DType::BF16);
  for (int d = 0; d < 2; ++d) r.dh_n[d] = round_all(w.dh_n[d], DType::BF16), r.dc_n[d] = round_all(w.dc_n[d], DType::BF16);
  return r;
}

void check_bf16_against_f32(const LstmCase& c, const Seeds& w, const BwdOptions& opt, const std::string& what) {
  INFO(what);
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  const LstmResult h = run_lstm(c, DType::BF16, &w, opt, cpu);
  const Seeds w32 = rounded(w);
  const LstmResult f = run_lstm(rounded(c), DType::F32, &w32, opt, cpu);
  const Tolerance tol = tolerance(DType::BF16);
  check_close(h.y, f.y, tol, "y");
  check_close(h.dx, f.dx, tol, "dx");
  for (int d = 0; d < c.D; ++d) {
    const std::string dir = "direction " + std::to_string(d) + " ";
    check_close(h.h_n[d], f.h_n[d], tol, dir + "h_n");
    check_close(h.c_n[d], f.c_n[d], tol, dir + "c_n");
    // F32 buffers, but computed from h rounded to bf16: the same budget as h.
    check_close(h.c_saved[d], f.c_saved[d], tol, dir + "c_saved");
    check_close(h.gates_saved[d], f.gates_saved[d], tol, dir + "gates_saved");
    check_close(h.dw_ih[d], f.dw_ih[d], tol, dir + "dw_ih");
    check_close(h.dw_hh[d], f.dw_hh[d], tol, dir + "dw_hh");
    check_close(h.dbias[d], f.dbias[d], tol, dir + "dbias");
    check_close(h.dh0[d], f.dh0[d], tol, dir + "dh0");
    check_close(h.dc0[d], f.dc0[d], tol, dir + "dc0");
  }
}

}  // namespace

TEST_CASE("lstm_seq cpu bf16: native path == F32 on the rounded inputs, forward and backward") {
  const BwdOptions overwrite{GradMode::Overwrite, GradMode::Overwrite, kNaN};
  const LstmCase fwd = random_case(1, Direction::Forward, {}, 501);
  check_bf16_against_f32(fwd, random_seeds(fwd, 502), overwrite, "one direction, all T");
  const LstmCase rev = random_case(1, Direction::Reverse, {4, 1, 3}, 503);
  check_bf16_against_f32(rev, random_seeds(rev, 504), overwrite, "reverse, mixed lengths (gathered dz)");
  const LstmCase bi = random_case(2, Direction::Forward, {4, 0, 2}, 505, false);
  check_bf16_against_f32(bi, random_seeds(bi, 506, false), overwrite, "two directions, a row of length 0, no h0 c0");
  const LstmCase bi_full = random_case(2, Direction::Forward, {}, 507);
  check_bf16_against_f32(bi_full, random_seeds(bi_full, 508), overwrite, "two directions, all T");
}

TEST_CASE("lstm_seq cpu bf16: gradients accumulate in F32 and round once") {
  // 0.5 is exact in bf16. Parameters and inputs both accumulate (dx also across the directions).
  const BwdOptions accumulate{GradMode::Accumulate, GradMode::Accumulate, 0.5};
  const LstmCase c = random_case(2, Direction::Forward, {4, 1, 3}, 511);
  check_bf16_against_f32(c, random_seeds(c, 512), accumulate, "accumulate onto 0.5");
  // The sum rounds once: the result is a bf16 value within the budget of the fresh gradient plus
  // 0.5, not 0.5 plus an already rounded gradient rounded again (that would still pass here; what
  // this checks is that the old contents are read and kept at all).
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  const Seeds w = random_seeds(c, 512);
  const LstmResult acc = run_lstm(c, DType::BF16, &w, accumulate, cpu);
  const LstmResult fresh = run_lstm(c, DType::BF16, &w, {GradMode::Overwrite, GradMode::Overwrite, kNaN}, cpu);
  std::vector<double> shifted = fresh.dw_hh[0];
  for (double& v : shifted) v += 0.5;
  check_close(acc.dw_hh[0], shifted, tolerance(DType::BF16), "dw_hh accumulates onto 0.5");
}

TEST_CASE("lstm_seq cpu bf16: T * B == 0") {
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  LstmCase shape;
  shape.T = 0;
  const LstmCase no_steps = random_case(2, Direction::Forward, {}, 521, true, shape);
  const LstmResult r = run_lstm(no_steps, DType::BF16, nullptr, {}, cpu);
  CHECK(r.y.empty());
  for (int d = 0; d < 2; ++d) {  // no step ran: the final state is the initial state, bf16 exactly
    check_equal(r.h_n[d], round_all(no_steps.h0[d], DType::BF16), "h_n == h0 with T = 0");
    check_equal(r.c_n[d], round_all(no_steps.c0[d], DType::BF16), "c_n == c0 with T = 0");
  }
  const Seeds w = random_seeds(no_steps, 522);
  const LstmResult g = run_lstm(no_steps, DType::BF16, &w, {}, cpu);
  for (int d = 0; d < 2; ++d) {  // and the final state's gradient goes straight to the initial one
    check_equal(g.dh0[d], round_all(w.dh_n[d], DType::BF16), "dh0 == dh_n with T = 0");
    check_equal(g.dc0[d], round_all(w.dc_n[d], DType::BF16), "dc0 == dc_n with T = 0");
    check_equal(g.dbias[d], std::vector<double>(g.dbias[d].size(), 0.0), "dbias == 0 with T = 0");
  }
  shape.T = 4, shape.B = 0;
  const LstmCase no_rows = random_case(1, Direction::Forward, {}, 523, true, shape);
  const LstmResult e = run_lstm(no_rows, DType::BF16, nullptr, {}, cpu);
  CHECK(e.y.empty());
  CHECK(e.h_n[0].empty());
}

TEST_CASE("lstm_seq cpu bf16: thread counts 1 and 2 give the same results") {
  // Above the parallel grain (as test_lstm_cpu.cc's threaded case): rows split over threads.
  LstmCase shape;
  shape.T = 7, shape.C = 8, shape.H = 6;
  const LstmCase c = random_case(2, Direction::Reverse, {7, 0, 3, 7, 1, 5, 2, 7, 4}, 531, true, shape);
  const Seeds w = random_seeds(c, 532);
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  const BwdOptions opt{GradMode::Accumulate, GradMode::Overwrite, 0.5};
  LstmResult one, two;
  {
    ThreadCount use(1);
    one = run_lstm(c, DType::BF16, &w, opt, cpu);
  }
  {
    ThreadCount use(2);
    two = run_lstm(c, DType::BF16, &w, opt, cpu);
  }
  // Every row runs the same arithmetic whichever thread owns it; only a GEMM's blocking over a
  // different number of rows could change an F32 sum's order before the bf16 rounding, so the
  // results agree to within one bf16 rounding of each other (the F32 row of the table would
  // demand more than the storage holds).
  const Tolerance tol{1.0 / 256, 1.0 / 256};
  check_close(two.y, one.y, tol, "y");
  check_close(two.dx, one.dx, tol, "dx");
  for (int d = 0; d < c.D; ++d) {
    check_close(two.c_saved[d], one.c_saved[d], tol, "c_saved");
    check_close(two.dw_ih[d], one.dw_ih[d], tol, "dw_ih");
    check_close(two.dw_hh[d], one.dw_hh[d], tol, "dw_hh");
    check_close(two.dbias[d], one.dbias[d], tol, "dbias");
    check_close(two.dh0[d], one.dh0[d], tol, "dh0");
  }
  // And the 2-thread run is the native path, not a widened one: same checks against F32.
  ThreadCount use(2);
  check_bf16_against_f32(c, w, opt, "2 threads, reverse, mixed lengths");
}

TEST_CASE("lstm_seq cpu bf16: the error stays bounded over T = 50 steps") {
  // H = 32 with torch's initialization, U(-1/sqrt(H), 1/sqrt(H)): the regime of a real model. The
  // rounding of h adds a fresh error at every step; f < 1 damps the old ones, so the difference to
  // F32 must level off instead of growing with t. Checked: the largest |y error| over the last 10
  // steps is at most twice that of the first 10 steps plus one bf16 ulp at 1 (2^-8: y's own
  // rounding), and every step stays within the BF16 tolerance.
  LstmCase shape;
  shape.T = 50, shape.B = 4, shape.C = 16, shape.H = 32;
  LstmCase c = random_case(1, Direction::Forward, {}, 541, true, shape);
  const double k = 1.0 / std::sqrt(32.0);
  c.w_ih[0] = random_values(4 * 32 * 16, 542, -k, k);
  c.w_hh[0] = random_values(4 * 32 * 32, 543, -k, k);
  c.bias[0] = random_values(4 * 32, 544, -k, k);
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  const LstmResult h = run_lstm(c, DType::BF16, nullptr, {}, cpu);
  const LstmResult f = run_lstm(rounded(c), DType::F32, nullptr, {}, cpu);
  std::vector<double> err(50, 0.0);
  for (std::size_t i = 0; i < h.y.size(); ++i) {
    const std::size_t t = i / (4 * 32);
    err[t] = std::max(err[t], std::fabs(h.y[i] - f.y[i]));
  }
  const double first = *std::max_element(err.begin(), err.begin() + 10);
  const double last = *std::max_element(err.end() - 10, err.end());
  MESSAGE("bf16 vs F32, max |y error|: steps 0-9 ", first, ", steps 40-49 ", last);
  // The recurrence really reads h rounded to bf16: a widened run computes c_saved from the same F32
  // values as the F32 run, bit for bit.
  double c_diff = 0;
  for (std::size_t i = 0; i < h.c_saved[0].size(); ++i) c_diff = std::max(c_diff, std::fabs(h.c_saved[0][i] - f.c_saved[0][i]));
  CHECK(c_diff > 0.0);
  CHECK(last <= 2 * first + 1.0 / 256);
  check_close(h.y, f.y, tolerance(DType::BF16), "y over 50 steps");
  check_close(h.c_n[0], f.c_n[0], tolerance(DType::BF16), "c_n after 50 steps");
}
