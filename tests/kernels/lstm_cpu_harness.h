// tests/kernels/lstm_cpu_harness.h: what the CPU LSTM tests share (test_lstm_cpu.cc,
// test_lstm_cpu_rows.cc): host buffers in any float storage type, random cases with lengths and
// both directions, and run_lstm(), which runs one row of the variant table (kernels/lstm/
// lstm_variants.h) forward and backward and reads every output and gradient back as doubles.
//
// Every output and gradient buffer starts as NaN, so a position the kernel forgets to write (the
// padding of y and dx, an Overwrite gradient) fails the comparison instead of passing by luck.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_variants.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"
#include "tests/support/stored.h"
#include "tests/support/values.h"

namespace loom::test::lstm {

using kernels::LstmVariantRow;

// The tests name directions; the kernels take a flag.
enum class Direction { Forward, Reverse };

inline const LstmVariantRow& reference_row() { return kernels::lstm_variant("reference"); }

// The rows that run on CPU tensors ("reference" and "cpu").
inline std::vector<const LstmVariantRow*> cpu_rows() {
  std::vector<const LstmVariantRow*> rows;
  for (const LstmVariantRow& row : kernels::lstm_variants())
    if (row.device == DeviceType::Cpu) rows.push_back(&row);
  return rows;
}

inline const double kNaN = std::numeric_limits<double>::quiet_NaN();

struct LstmCase {
  std::int64_t T = 4, B = 3, C = 5, H = 3;
  int D = 1;
  Direction dir[2] = {Direction::Forward, Direction::Reverse};
  std::vector<std::int32_t> lengths;  // empty: every row runs T steps
  std::vector<double> x;              // [T, B, C]
  std::vector<double> w_ih[2], w_hh[2], bias[2], h0[2], c0[2];  // h0 / c0 empty: zeros
};

// The loss weights, which are also the gradients that seed backward. Empty: not given (nullptr).
struct Seeds {
  std::vector<double> dy, dh_n[2], dc_n[2];
};

struct LstmResult {
  std::vector<double> y, h_n[2], c_n[2], c_saved[2], gates_saved[2];
  std::vector<double> dx, dw_ih[2], dw_hh[2], dbias[2], dh0[2], dc0[2];
};

struct BwdOptions {
  GradMode param_mode = GradMode::Overwrite, input_mode = GradMode::Overwrite;
  double prefill = kNaN;  // the gradient buffers' contents before backward
};

// Sets the engine's thread count for one scope and restores it.
struct ThreadCount {
  explicit ThreadCount(int n) : old(num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(old); }
  int old;
};

inline LstmCase random_case(int D, Direction d0, std::vector<std::int32_t> lengths, std::uint64_t seed,
                     bool initial_state = true, LstmCase c = {}) {
  c.D = D;
  c.dir[0] = d0;
  c.lengths = std::move(lengths);
  if (!c.lengths.empty()) c.B = static_cast<std::int64_t>(c.lengths.size());
  const std::int64_t G = 4 * c.H;
  c.x = random_values(c.T * c.B * c.C, seed, -1, 1);
  for (int d = 0; d < D; ++d) {
    const std::uint64_t s = seed * 16 + static_cast<std::uint64_t>(d) * 8;
    c.w_ih[d] = random_values(G * c.C, s + 1, -0.8, 0.8);
    c.w_hh[d] = random_values(G * c.H, s + 2, -0.8, 0.8);
    c.bias[d] = random_values(G, s + 3, -0.5, 0.5);
    if (initial_state) {
      c.h0[d] = random_values(c.B * c.H, s + 4, -1, 1);
      c.c0[d] = random_values(c.B * c.H, s + 5, -1, 1);
    }
  }
  return c;
}

inline Seeds random_seeds(const LstmCase& c, std::uint64_t seed, bool final_state = true) {
  Seeds w;
  w.dy = random_values(c.T * c.B * c.D * c.H, seed, -1, 1);
  for (int d = 0; d < c.D && final_state; ++d) {
    w.dh_n[d] = random_values(c.B * c.H, seed + 10 + static_cast<std::uint64_t>(d), -1, 1);
    w.dc_n[d] = random_values(c.B * c.H, seed + 20 + static_cast<std::uint64_t>(d), -1, 1);
  }
  return w;
}

// Forward (training: the saved buffers are filled), then backward when seeds are given, on `row`.
inline LstmResult run_lstm(const LstmCase& c, DType t, const Seeds* seeds, const BwdOptions& opt = {},
                    const LstmVariantRow& row = reference_row()) {
  const DType saved_t = t == DType::F64 ? DType::F64 : DType::F32;
  const std::size_t TB = static_cast<std::size_t>(c.T * c.B), BH = static_cast<std::size_t>(c.B * c.H);
  const std::size_t G = static_cast<std::size_t>(4 * c.H), Cn = static_cast<std::size_t>(c.C);
  Stored x(c.x, t), y(TB * static_cast<std::size_t>(c.D * c.H), kNaN, t);
  std::vector<Stored> in, out;  // per direction: w_ih w_hh bias h0 c0 | h_n c_n c_saved gates_saved
  kernels::LstmSeqFwdArgs a;
  a.T = c.T, a.B = c.B, a.C = c.C, a.H = c.H, a.D = c.D, a.dtype = t;
  a.x = x.ptr(), a.y = y.ptr();
  a.lengths = c.lengths.empty() ? nullptr : c.lengths.data();
  in.reserve(10), out.reserve(8);
  for (int d = 0; d < c.D; ++d) {
    for (const auto* v : {&c.w_ih[d], &c.w_hh[d], &c.bias[d], &c.h0[d], &c.c0[d]}) in.emplace_back(*v, t);
    out.emplace_back(BH, kNaN, t), out.emplace_back(BH, kNaN, t);
    out.emplace_back(TB * static_cast<std::size_t>(c.H), kNaN, saved_t), out.emplace_back(TB * G, kNaN, saved_t);
    kernels::LstmDirection& dir = a.dirs[d];
    Stored* i = &in[static_cast<std::size_t>(d) * 5];
    Stored* o = &out[static_cast<std::size_t>(d) * 4];
    dir.reverse = c.dir[d] == Direction::Reverse;
    dir.w_ih = i[0].ptr(), dir.w_hh = i[1].ptr(), dir.bias = i[2].ptr(), dir.h0 = i[3].ptr(), dir.c0 = i[4].ptr();
    dir.h_n = o[0].ptr(), dir.c_n = o[1].ptr(), dir.c_saved = o[2].ptr(), dir.gates_saved = o[3].ptr();
  }
  const std::unique_ptr<kernels::BackendSaved> saved = row.forward(a, nullptr);
  LstmResult r;
  r.y = y.values();
  for (int d = 0; d < c.D; ++d) {
    const Stored* o = &out[static_cast<std::size_t>(d) * 4];
    r.h_n[d] = o[0].values(), r.c_n[d] = o[1].values(), r.c_saved[d] = o[2].values(), r.gates_saved[d] = o[3].values();
  }
  if (seeds == nullptr) return r;

  kernels::LstmSeqBwdArgs b;
  b.fwd = a;
  b.param_mode = opt.param_mode, b.input_mode = opt.input_mode;
  Stored dy(seeds->dy, t), dx(TB * Cn, opt.prefill, t);
  b.dy = dy.ptr(), b.dx = dx.ptr();
  std::vector<Stored> g;  // per direction: dw_ih dw_hh dbias dh0 dc0 dh_n dc_n
  g.reserve(14);
  for (int d = 0; d < c.D; ++d) {
    for (std::size_t n : {G * Cn, G * static_cast<std::size_t>(c.H), G, BH, BH}) g.emplace_back(n, opt.prefill, t);
    g.emplace_back(seeds->dh_n[d], t), g.emplace_back(seeds->dc_n[d], t);
    Stored* s = &g[static_cast<std::size_t>(d) * 7];
    kernels::LstmDirectionGrad& gr = b.grads[d];
    gr.dw_ih = s[0].ptr(), gr.dw_hh = s[1].ptr(), gr.dbias = s[2].ptr(), gr.dh0 = s[3].ptr(), gr.dc0 = s[4].ptr();
    gr.dh_n = s[5].ptr(), gr.dc_n = s[6].ptr();
  }
  row.backward(b, nullptr, saved.get());
  r.dx = dx.values();
  for (int d = 0; d < c.D; ++d) {
    const Stored* s = &g[static_cast<std::size_t>(d) * 7];
    r.dw_ih[d] = s[0].values(), r.dw_hh[d] = s[1].values(), r.dbias[d] = s[2].values();
    r.dh0[d] = s[3].values(), r.dc0[d] = s[4].values();
  }
  return r;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) s += a[k] * b[k];
  return s;
}

inline double loss(const LstmCase& c, const Seeds& w, const LstmVariantRow& row) {
  const LstmResult r = run_lstm(c, DType::F64, nullptr, {}, row);
  double L = dot(r.y, w.dy);
  for (int d = 0; d < c.D; ++d) L += dot(r.h_n[d], w.dh_n[d]) + dot(r.c_n[d], w.dc_n[d]);
  return L;
}

// Every analytic gradient of `row` against (L(v + h) - L(v - h)) / 2h, element by element. The
// analytic gradients come from `threads` threads (0: the current count); the probes run the forward
// on one thread, which "results do not depend on the thread count" shows equal to every split,
// because thousands of tiny parallel calls cost a spinning barrier each on a busy machine.
inline void check_finite_differences(const LstmCase& c, const Seeds& w, const std::string& what, int threads = 0,
                              const LstmVariantRow& row = reference_row()) {
  const GradcheckOptions gc;
  const Tolerance tol{gc.rtol, gc.atol};
  const LstmResult r = [&] {
    ThreadCount use(threads > 0 ? threads : num_threads());
    return run_lstm(c, DType::F64, &w, {}, row);
  }();
  ThreadCount serial(1);
  LstmCase probe = c;
  auto numeric = [&](std::vector<double>& v) {
    std::vector<double> g(v.size());
    for (std::size_t k = 0; k < v.size(); ++k) {
      const double old = v[k];
      v[k] = old + gc.h;
      const double up = loss(probe, w, row);
      v[k] = old - gc.h;
      const double down = loss(probe, w, row);
      v[k] = old;
      g[k] = (up - down) / (2 * gc.h);
    }
    return g;
  };
  check_close(r.dx, numeric(probe.x), tol, what + ": dx");
  for (int d = 0; d < c.D; ++d) {
    const std::string dir = what + ": direction " + std::to_string(d) + " ";
    check_close(r.dw_ih[d], numeric(probe.w_ih[d]), tol, dir + "dw_ih");
    check_close(r.dw_hh[d], numeric(probe.w_hh[d]), tol, dir + "dw_hh");
    check_close(r.dbias[d], numeric(probe.bias[d]), tol, dir + "dbias");
    if (!c.h0[d].empty()) check_close(r.dh0[d], numeric(probe.h0[d]), tol, dir + "dh0");
    if (!c.c0[d].empty()) check_close(r.dc0[d], numeric(probe.c0[d]), tol, dir + "dc0");
  }
}

// Reverses the first len_b steps of each row b of a [T, B, width] sequence; padding stays put.
inline std::vector<double> flip_rows(const std::vector<double>& v, const LstmCase& c, std::int64_t width) {
  std::vector<double> out = v;
  for (std::int64_t b = 0; b < c.B; ++b) {
    const std::int64_t len = c.lengths.empty() ? c.T : c.lengths[static_cast<std::size_t>(b)];
    for (std::int64_t t = 0; t < len; ++t)
      for (std::int64_t k = 0; k < width; ++k)
        out[static_cast<std::size_t>((t * c.B + b) * width + k)] =
            v[static_cast<std::size_t>(((len - 1 - t) * c.B + b) * width + k)];
  }
  return out;
}

// Rows [b*width, (b+1)*width) of every time step t < T of a [T, B, width] sequence, as [T, 1, width].
inline std::vector<double> row_of(const std::vector<double>& v, std::int64_t T, std::int64_t B, std::int64_t b,
                           std::int64_t width) {
  std::vector<double> out;
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t k = 0; k < width; ++k) out.push_back(v[static_cast<std::size_t>((t * B + b) * width + k)]);
  return out;
}

// Columns [first, first + width) of a [rows, cols] matrix.
inline std::vector<double> columns(const std::vector<double>& v, std::int64_t cols, std::int64_t first, std::int64_t width) {
  std::vector<double> out;
  for (std::size_t r = 0; r < v.size() / static_cast<std::size_t>(cols); ++r)
    for (std::int64_t k = 0; k < width; ++k) out.push_back(v[r * static_cast<std::size_t>(cols) + static_cast<std::size_t>(first + k)]);
  return out;
}

inline std::vector<double> plus(std::vector<double> a, const std::vector<double>& b) {
  for (std::size_t k = 0; k < a.size(); ++k) a[k] += b[k];
  return a;
}

inline std::vector<double> round_all(const std::vector<double>& v, DType t) {
  std::vector<double> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = round_to(static_cast<float>(v[k]), t);
  return out;
}

}  // namespace loom::test::lstm
