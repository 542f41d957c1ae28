// tests/kernels/test_lstm_cpu_rows.cc: every CPU row of the LSTM variant table ("reference" and
// "cpu", kernels/lstm/lstm_variants.h) against the plain-loop reference, and the invariances each
// must keep.
//
// Layer 2 of the pyramid: forward outputs, saved buffers and every gradient of each row against
// the reference, for lengths, reverse, bidirectional, rows of length 0 and every dtype (F64, F32,
// F16, BF16). Layer 3, for every row: GradMode; reverse with lengths == forward on per-row flipped
// copies; a batch with lengths == each row run alone; two directions == two one-direction calls;
// F16/BF16 storage == F32 on the same rounded inputs; F32 agrees with F64.
// BF16 on the "cpu" row is native (h and dz rounded to bf16 before the GEMMs, lstm_cpu.cc), not
// widened: there it is not "F32 on the same rounded inputs", and its saved F32 buffers come from a
// bf16-rounded h, so they get the BF16 tolerance below; test_lstm_cpu_bf16.cc checks that path in
// full, with the derivation of its tolerance.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/kernels/lstm_cpu_harness.h"

using namespace loom;
using namespace loom::test;
using namespace loom::test::lstm;

TEST_CASE("lstm_seq cpu rows: GradMode") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const LstmCase c = random_case(2, Direction::Forward, {4, 1, 3}, 51);
    const Seeds w = random_seeds(c, 52);
    const LstmResult fresh = run_lstm(c, DType::F64, &w, {}, *row);  // Overwrite onto NaN: nothing old survives
    const Tolerance tol = tolerance(DType::F64);
    auto shifted = [](std::vector<double> v, double by) {
      for (double& e : v) e += by;
      return v;
    };
    // Parameters accumulate, inputs overwrite (the default of a training step).
    BwdOptions acc_params{GradMode::Accumulate, GradMode::Overwrite, 0.25};
    const LstmResult p = run_lstm(c, DType::F64, &w, acc_params, *row);
    for (int d = 0; d < c.D; ++d) {
      check_close(p.dw_ih[d], shifted(fresh.dw_ih[d], 0.25), tol, "dw_ih accumulates");
      check_close(p.dw_hh[d], shifted(fresh.dw_hh[d], 0.25), tol, "dw_hh accumulates");
      check_close(p.dbias[d], shifted(fresh.dbias[d], 0.25), tol, "dbias accumulates");
      check_close(p.dh0[d], fresh.dh0[d], tol, "dh0 overwrites");
    }
    check_close(p.dx, fresh.dx, tol, "dx overwrites on the first direction and adds the second");
    BwdOptions acc_inputs{GradMode::Overwrite, GradMode::Accumulate, -0.5};
    const LstmResult i = run_lstm(c, DType::F64, &w, acc_inputs, *row);
    check_close(i.dx, shifted(fresh.dx, -0.5), tol, "dx accumulates");
    for (int d = 0; d < c.D; ++d) {
      check_close(i.dh0[d], shifted(fresh.dh0[d], -0.5), tol, "dh0 accumulates");
      check_close(i.dc0[d], shifted(fresh.dc0[d], -0.5), tol, "dc0 accumulates");
      check_close(i.dw_ih[d], fresh.dw_ih[d], tol, "dw_ih overwrites");
    }
  }
}

TEST_CASE("lstm_seq cpu rows: reverse with lengths == forward on per-row flipped copies") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const LstmCase rev = random_case(1, Direction::Reverse, {4, 1, 3, 0}, 61);
    LstmCase fwd = rev;
    fwd.dir[0] = Direction::Forward;
    fwd.x = flip_rows(rev.x, rev, rev.C);
    const Seeds w_rev = random_seeds(rev, 62);
    Seeds w_fwd = w_rev;
    w_fwd.dy = flip_rows(w_rev.dy, rev, rev.H);
    const LstmResult a = run_lstm(rev, DType::F64, &w_rev, {}, *row);
    const LstmResult b = run_lstm(fwd, DType::F64, &w_fwd, {}, *row);
    const Tolerance tol = tolerance(DType::F64);
    check_close(a.y, flip_rows(b.y, rev, rev.H), tol, "y");
    check_close(a.h_n[0], b.h_n[0], tol, "h_n");
    check_close(a.c_n[0], b.c_n[0], tol, "c_n");
    check_close(a.dx, flip_rows(b.dx, rev, rev.C), tol, "dx");
    check_close(a.dw_ih[0], b.dw_ih[0], tol, "dw_ih");
    check_close(a.dw_hh[0], b.dw_hh[0], tol, "dw_hh");
    check_close(a.dbias[0], b.dbias[0], tol, "dbias");
    check_close(a.dh0[0], b.dh0[0], tol, "dh0");
    check_close(a.dc0[0], b.dc0[0], tol, "dc0");
  }
}

TEST_CASE("lstm_seq cpu rows: a batch with lengths == each row run alone") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const LstmCase c = random_case(2, Direction::Forward, {4, 2, 0, 3}, 71);
    const Seeds w = random_seeds(c, 72);
    const LstmResult all = run_lstm(c, DType::F64, &w, {}, *row);
    const std::int64_t DH = c.D * c.H;
    // What the batch run must produce, assembled from B runs of one row each (T = len_b, no lengths).
    LstmResult want;
    want.y.assign(all.y.size(), 0.0);  // padding is zero
    want.dx.assign(all.dx.size(), 0.0);
    for (int d = 0; d < c.D; ++d) {
      want.h_n[d] = want.c_n[d] = want.dh0[d] = want.dc0[d] = std::vector<double>(static_cast<std::size_t>(c.B * c.H));
      want.dw_ih[d].assign(c.w_ih[d].size(), 0.0);
      want.dw_hh[d].assign(c.w_hh[d].size(), 0.0);
      want.dbias[d].assign(c.bias[d].size(), 0.0);
    }
    for (std::int64_t b = 0; b < c.B; ++b) {
      const std::int64_t len = c.lengths[static_cast<std::size_t>(b)];
      LstmCase one = c;
      one.T = len, one.B = 1, one.lengths.clear();
      one.x = row_of(c.x, len, c.B, b, c.C);
      Seeds w1;
      w1.dy = row_of(w.dy, len, c.B, b, DH);
      for (int d = 0; d < c.D; ++d) {
        one.h0[d] = row_of(c.h0[d], 1, c.B, b, c.H), one.c0[d] = row_of(c.c0[d], 1, c.B, b, c.H);
        w1.dh_n[d] = row_of(w.dh_n[d], 1, c.B, b, c.H), w1.dc_n[d] = row_of(w.dc_n[d], 1, c.B, b, c.H);
      }
      const LstmResult r = run_lstm(one, DType::F64, &w1, {}, *row);
      for (std::int64_t t = 0; t < len; ++t) {
        for (std::int64_t k = 0; k < DH; ++k) want.y[static_cast<std::size_t>((t * c.B + b) * DH + k)] = r.y[static_cast<std::size_t>(t * DH + k)];
        for (std::int64_t k = 0; k < c.C; ++k) want.dx[static_cast<std::size_t>((t * c.B + b) * c.C + k)] = r.dx[static_cast<std::size_t>(t * c.C + k)];
      }
      for (int d = 0; d < c.D; ++d) {
        for (std::int64_t j = 0; j < c.H; ++j) {
          const std::size_t bj = static_cast<std::size_t>(b * c.H + j), k = static_cast<std::size_t>(j);
          want.h_n[d][bj] = r.h_n[d][k], want.c_n[d][bj] = r.c_n[d][k];
          want.dh0[d][bj] = r.dh0[d][k], want.dc0[d][bj] = r.dc0[d][k];
        }
        want.dw_ih[d] = plus(want.dw_ih[d], r.dw_ih[d]);
        want.dw_hh[d] = plus(want.dw_hh[d], r.dw_hh[d]);
        want.dbias[d] = plus(want.dbias[d], r.dbias[d]);
      }
    }
    const Tolerance tol = tolerance(DType::F64);
    check_close(all.y, want.y, tol, "y");
    check_close(all.dx, want.dx, tol, "dx");
    for (int d = 0; d < c.D; ++d) {
      const std::string dir = "direction " + std::to_string(d) + " ";
      check_close(all.h_n[d], want.h_n[d], tol, dir + "h_n");
      check_close(all.c_n[d], want.c_n[d], tol, dir + "c_n");
      check_close(all.dh0[d], want.dh0[d], tol, dir + "dh0");
      check_close(all.dc0[d], want.dc0[d], tol, dir + "dc0");
      check_close(all.dw_ih[d], want.dw_ih[d], tol, dir + "dw_ih");
      check_close(all.dw_hh[d], want.dw_hh[d], tol, dir + "dw_hh");
      check_close(all.dbias[d], want.dbias[d], tol, dir + "dbias");
    }
  }
}

TEST_CASE("lstm_seq cpu rows: two directions == two one-direction calls") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const LstmCase c = random_case(2, Direction::Forward, {4, 1, 3}, 81, false);  // h0 c0 nullptr too
    const Seeds w = random_seeds(c, 82);
    const LstmResult both = run_lstm(c, DType::F64, &w, {}, *row);
    const Tolerance tol = tolerance(DType::F64);
    std::vector<double> dx_sum(both.dx.size(), 0.0);
    for (int d = 0; d < 2; ++d) {
      LstmCase one = c;
      one.D = 1, one.dir[0] = c.dir[d];
      one.w_ih[0] = c.w_ih[d], one.w_hh[0] = c.w_hh[d], one.bias[0] = c.bias[d];
      Seeds w1;
      w1.dy = columns(w.dy, 2 * c.H, d * c.H, c.H);
      w1.dh_n[0] = w.dh_n[d], w1.dc_n[0] = w.dc_n[d];
      const LstmResult r = run_lstm(one, DType::F64, &w1, {}, *row);
      const std::string dir = "direction " + std::to_string(d) + " ";
      check_close(columns(both.y, 2 * c.H, d * c.H, c.H), r.y, tol, dir + "y");
      check_close(both.h_n[d], r.h_n[0], tol, dir + "h_n");
      check_close(both.c_n[d], r.c_n[0], tol, dir + "c_n");
      check_close(both.dw_ih[d], r.dw_ih[0], tol, dir + "dw_ih");
      check_close(both.dw_hh[d], r.dw_hh[0], tol, dir + "dw_hh");
      check_close(both.dbias[d], r.dbias[0], tol, dir + "dbias");
      check_close(both.dh0[d], r.dh0[0], tol, dir + "dh0");
      check_close(both.dc0[d], r.dc0[0], tol, dir + "dc0");
      dx_sum = plus(dx_sum, r.dx);
    }
    check_close(both.dx, dx_sum, tol, "dx sums both directions");
  }
}

TEST_CASE("lstm_seq cpu rows: F16 and BF16 storage == F32 on the same rounded values") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    for (DType t : {DType::F16, DType::BF16}) {
      if (t == DType::BF16 && std::string(row->name) == "cpu") continue;  // native: test_lstm_cpu_bf16.cc
      INFO("storage ", dtype_name(t));
      const LstmCase c = random_case(2, Direction::Forward, {4, 1, 3}, 91);
      const Seeds w = random_seeds(c, 92);
      // The F32 reference sees exactly what the half kernel reads after widening.
      LstmCase c32 = c;
      Seeds w32 = w;
      c32.x = round_all(c.x, t);
      w32.dy = round_all(w.dy, t);
      for (int d = 0; d < c.D; ++d) {
        for (auto* v : {&c32.w_ih[d], &c32.w_hh[d], &c32.bias[d], &c32.h0[d], &c32.c0[d], &w32.dh_n[d], &w32.dc_n[d]})
          *v = round_all(*v, t);
      }
      // Accumulating parameter gradients: the sum happens in F32 and is rounded once.
      const BwdOptions opt{GradMode::Accumulate, GradMode::Overwrite, 0.5};
      const LstmResult h = run_lstm(c, t, &w, opt, *row);
      const LstmResult f = run_lstm(c32, DType::F32, &w32, opt, *row);
      check_close(h.y, f.y, t, "y");
      check_close(h.dx, f.dx, t, "dx");
      for (int d = 0; d < c.D; ++d) {
        const std::string dir = "direction " + std::to_string(d) + " ";
        check_close(h.h_n[d], f.h_n[d], t, dir + "h_n");
        check_close(h.c_n[d], f.c_n[d], t, dir + "c_n");
        // The saved state is F32 in both runs and computed from the same values.
        check_close(h.c_saved[d], f.c_saved[d], DType::F32, dir + "c_saved");
        check_close(h.gates_saved[d], f.gates_saved[d], DType::F32, dir + "gates_saved");
        check_close(h.dw_ih[d], f.dw_ih[d], t, dir + "dw_ih");
        check_close(h.dw_hh[d], f.dw_hh[d], t, dir + "dw_hh");
        check_close(h.dbias[d], f.dbias[d], t, dir + "dbias");
        check_close(h.dh0[d], f.dh0[d], t, dir + "dh0");
        check_close(h.dc0[d], f.dc0[d], t, dir + "dc0");
      }
    }
  }
}

TEST_CASE("lstm_seq cpu rows: F32 agrees with F64") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const LstmCase c = random_case(2, Direction::Forward, {4, 1, 3}, 95);
    const Seeds w = random_seeds(c, 96);
    const LstmResult s = run_lstm(c, DType::F32, &w, {}, *row);
    const LstmResult d64 = run_lstm(c, DType::F64, &w, {}, *row);
    check_close(s.y, d64.y, DType::F32, "y");
    check_close(s.dx, d64.dx, DType::F32, "dx");
    for (int d = 0; d < c.D; ++d) {
      check_close(s.dw_ih[d], d64.dw_ih[d], DType::F32, "dw_ih");
      check_close(s.dw_hh[d], d64.dw_hh[d], DType::F32, "dw_hh");
      check_close(s.dc0[d], d64.dc0[d], DType::F32, "dc0");
    }
  }
}

TEST_CASE("lstm_seq cpu rows: every output and gradient matches the reference") {
  struct Shape {
    const char* name;
    int D;
    Direction d0;
    std::vector<std::int32_t> lengths;
    bool initial_state;
  };
  const std::vector<Shape> shapes = {
      {"forward, all T", 1, Direction::Forward, {}, true},
      {"forward, lengths 4 1 3", 1, Direction::Forward, {4, 1, 3}, true},
      {"reverse, lengths 4 1 3 0", 1, Direction::Reverse, {4, 1, 3, 0}, true},
      {"bidirectional, lengths 4 0 2, no h0 c0", 2, Direction::Forward, {4, 0, 2}, false},
      {"bidirectional, all T", 2, Direction::Forward, {}, true},
  };
  const LstmVariantRow& reference = reference_row();
  std::uint64_t seed = 200;
  for (const LstmVariantRow* row : cpu_rows()) {
    for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
      for (const Shape& shape : shapes) {
        INFO("row ", row->name, ", ", dtype_name(t), ", ", shape.name);
        const LstmCase c = random_case(shape.D, shape.d0, shape.lengths, ++seed, shape.initial_state);
        const Seeds w = random_seeds(c, ++seed);
        // Parameters accumulate onto 0.5, inputs overwrite: the modes of a training step.
        const BwdOptions opt{GradMode::Accumulate, GradMode::Overwrite, 0.5};
        const LstmResult got = run_lstm(c, t, &w, opt, *row);
        const LstmResult want = run_lstm(c, t, &w, opt, reference);
        // The saved buffers are F32 (F64 for F64); the native BF16 path computes them from h rounded
        // to bf16 where the reference widens, so they differ by what that rounding moves (the
        // budget of test_lstm_cpu_bf16.cc).
        const bool native_bf16 = t == DType::BF16 && std::string(row->name) == "cpu";
        const DType saved_t = t == DType::F64 ? DType::F64 : native_bf16 ? DType::BF16 : DType::F32;
        check_close(got.y, want.y, t, "y");
        check_close(got.dx, want.dx, t, "dx");
        for (int d = 0; d < c.D; ++d) {
          const std::string dir = "direction " + std::to_string(d) + " ";
          check_close(got.h_n[d], want.h_n[d], t, dir + "h_n");
          check_close(got.c_n[d], want.c_n[d], t, dir + "c_n");
          // Padding of the saved buffers is never written (NaN in both); valid positions must agree.
          check_close(got.c_saved[d], want.c_saved[d], saved_t, dir + "c_saved");
          check_close(got.gates_saved[d], want.gates_saved[d], saved_t, dir + "gates_saved");
          check_close(got.dw_ih[d], want.dw_ih[d], t, dir + "dw_ih");
          check_close(got.dw_hh[d], want.dw_hh[d], t, dir + "dw_hh");
          check_close(got.dbias[d], want.dbias[d], t, dir + "dbias");
          check_close(got.dh0[d], want.dh0[d], t, dir + "dh0");
          check_close(got.dc0[d], want.dc0[d], t, dir + "dc0");
        }
      }
    }
  }
}
