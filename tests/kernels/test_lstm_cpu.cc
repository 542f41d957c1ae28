// tests/kernels/test_lstm_cpu.cc: the CPU rows of the LSTM variant table (kernels/lstm/
// lstm_variants.h: "reference", the plain-loop oracle, and "cpu", the training path), called directly.
//
// Layer 1 of the pyramid: every gradient of the reference (w_ih, w_hh, bias, x, h0, c0) against
// central differences of its forward in F64, for the loss
//     L = sum w_y * y + sum_d (w_h[d] * h_n[d] + w_c[d] * c_n[d])
// with fixed random weights, i.e. backward seeded with dy = w_y, dh_n = w_h, dc_n = w_c. The same
// argument as tests/support/gradcheck.h sets the tolerance (h = 1e-6, rtol 1e-6, atol 1e-8). The
// threaded path gets the same finite-difference check with rows split over threads.
// Layer 2: every CPU row against the reference: forward outputs, saved buffers and every gradient,
// for lengths, reverse, bidirectional, rows of length 0, and every dtype (F64, F32, F16, BF16).
// Layer 3, for every CPU row: reverse with lengths == forward on per-row flipped copies; a batch
// with lengths == each row run alone; two directions == two one-direction calls. Then F16/BF16
// storage against an F32 run on the same rounded inputs, the cost formulas, GradMode, bad lengths
// and the table itself.
//
// Every output and gradient buffer starts as NaN, so a position the kernel forgets to write (the
// padding of y and dx, an Overwrite gradient) fails the comparison instead of passing by luck.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_variants.h"
#include "tests/support/compare.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;
using kernels::LstmVariantRow;

namespace {

// The tests name directions; the kernels take a flag.
enum class Direction { Forward, Reverse };

const LstmVariantRow& reference_row() { return kernels::lstm_variant("reference"); }

// The rows that run on CPU tensors ("reference" and "cpu").
std::vector<const LstmVariantRow*> cpu_rows() {
  std::vector<const LstmVariantRow*> rows;
  for (const LstmVariantRow& row : kernels::lstm_variants())
    if (row.device == DeviceType::Cpu) rows.push_back(&row);
  return rows;
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A host buffer in any float storage type, written from and read back as doubles. Empty = absent
// (the kernel receives nullptr).
class Stored {
 public:
  Stored(const std::vector<double>& v, DType t) : t_(t), n_(v.size()), bytes_(v.size() * dtype_size(t)) {
    for (std::size_t k = 0; k < n_; ++k) set(k, v[k]);
  }
  Stored(std::size_t n, double fill, DType t) : Stored(std::vector<double>(n, fill), t) {}
  void* ptr() { return n_ == 0 ? nullptr : bytes_.data(); }
  std::vector<double> values() const {
    std::vector<double> v(n_);
    for (std::size_t k = 0; k < n_; ++k) v[k] = get(k);
    return v;
  }

 private:
  void set(std::size_t k, double v) {
    unsigned char* p = bytes_.data() + k * dtype_size(t_);
    if (t_ == DType::F64) std::memcpy(p, &v, 8);
    const float f = static_cast<float>(v);
    if (t_ == DType::F32) std::memcpy(p, &f, 4);
    const std::uint16_t h = t_ == DType::F16 ? float_to_half_bits(f) : float_to_bf16_bits(f);
    if (t_ == DType::F16 || t_ == DType::BF16) std::memcpy(p, &h, 2);
  }
  double get(std::size_t k) const {
    const unsigned char* p = bytes_.data() + k * dtype_size(t_);
    double d = 0;
    float f = 0;
    std::uint16_t h = 0;
    switch (t_) {
      case DType::F64: std::memcpy(&d, p, 8); return d;
      case DType::F32: std::memcpy(&f, p, 4); return f;
      case DType::F16: std::memcpy(&h, p, 2); return half_bits_to_float(h);
      default: std::memcpy(&h, p, 2); return bf16_bits_to_float(h);
    }
  }
  DType t_;
  std::size_t n_;
  std::vector<unsigned char> bytes_;
};

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

LstmCase random_case(int D, Direction d0, std::vector<std::int32_t> lengths, std::uint64_t seed,
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

Seeds random_seeds(const LstmCase& c, std::uint64_t seed, bool final_state = true) {
  Seeds w;
  w.dy = random_values(c.T * c.B * c.D * c.H, seed, -1, 1);
  for (int d = 0; d < c.D && final_state; ++d) {
    w.dh_n[d] = random_values(c.B * c.H, seed + 10 + static_cast<std::uint64_t>(d), -1, 1);
    w.dc_n[d] = random_values(c.B * c.H, seed + 20 + static_cast<std::uint64_t>(d), -1, 1);
  }
  return w;
}

// Forward (training: the saved buffers are filled), then backward when seeds are given, on `row`.
LstmResult run_lstm(const LstmCase& c, DType t, const Seeds* seeds, const BwdOptions& opt = {},
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

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) s += a[k] * b[k];
  return s;
}

double loss(const LstmCase& c, const Seeds& w, const LstmVariantRow& row) {
  const LstmResult r = run_lstm(c, DType::F64, nullptr, {}, row);
  double L = dot(r.y, w.dy);
  for (int d = 0; d < c.D; ++d) L += dot(r.h_n[d], w.dh_n[d]) + dot(r.c_n[d], w.dc_n[d]);
  return L;
}

// Every analytic gradient of `row` against (L(v + h) - L(v - h)) / 2h, element by element. The
// analytic gradients come from `threads` threads (0: the current count); the probes run the forward
// on one thread, which "results do not depend on the thread count" shows equal to every split,
// because thousands of tiny parallel calls cost a spinning barrier each on a busy machine.
void check_finite_differences(const LstmCase& c, const Seeds& w, const std::string& what, int threads = 0,
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
std::vector<double> flip_rows(const std::vector<double>& v, const LstmCase& c, std::int64_t width) {
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
std::vector<double> row_of(const std::vector<double>& v, std::int64_t T, std::int64_t B, std::int64_t b,
                           std::int64_t width) {
  std::vector<double> out;
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t k = 0; k < width; ++k) out.push_back(v[static_cast<std::size_t>((t * B + b) * width + k)]);
  return out;
}

// Columns [first, first + width) of a [rows, cols] matrix.
std::vector<double> columns(const std::vector<double>& v, std::int64_t cols, std::int64_t first, std::int64_t width) {
  std::vector<double> out;
  for (std::size_t r = 0; r < v.size() / static_cast<std::size_t>(cols); ++r)
    for (std::int64_t k = 0; k < width; ++k) out.push_back(v[r * static_cast<std::size_t>(cols) + static_cast<std::size_t>(first + k)]);
  return out;
}

std::vector<double> plus(std::vector<double> a, const std::vector<double>& b) {
  for (std::size_t k = 0; k < a.size(); ++k) a[k] += b[k];
  return a;
}

std::vector<double> round_all(const std::vector<double>& v, DType t) {
  std::vector<double> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = round_to(static_cast<float>(v[k]), t);
  return out;
}

}  // namespace

TEST_CASE("lstm_seq reference: F64 finite differences - one direction forward") {
  const LstmCase c = random_case(1, Direction::Forward, {4, 1, 3}, 11);
  check_finite_differences(c, random_seeds(c, 12), "forward lengths 4 1 3");
  const LstmCase full = random_case(1, Direction::Forward, {}, 13);
  check_finite_differences(full, random_seeds(full, 14), "forward all T");
  // nullptr h0 / c0 (zeros) and no gradient at the final state.
  const LstmCase zero_state = random_case(1, Direction::Forward, {2, 4, 1}, 15, false);
  check_finite_differences(zero_state, random_seeds(zero_state, 16, false), "forward without h0 c0 dh_n dc_n");
}

TEST_CASE("lstm_seq reference: F64 finite differences - one direction reverse") {
  // Mixed lengths take the gathered-dz path; equal lengths below T read dZ in place.
  const LstmCase c = random_case(1, Direction::Reverse, {4, 1, 3}, 21);
  check_finite_differences(c, random_seeds(c, 22), "reverse lengths 4 1 3");
  const LstmCase equal = random_case(1, Direction::Reverse, {2, 2, 2}, 23);
  check_finite_differences(equal, random_seeds(equal, 24), "reverse lengths 2 2 2");
  const LstmCase full = random_case(1, Direction::Reverse, {}, 25);
  check_finite_differences(full, random_seeds(full, 26), "reverse all T");
}

TEST_CASE("lstm_seq reference: F64 finite differences - two directions") {
  const LstmCase c = random_case(2, Direction::Forward, {4, 1, 3}, 31);
  check_finite_differences(c, random_seeds(c, 32), "bidirectional lengths 4 1 3");
  const LstmCase full = random_case(2, Direction::Forward, {}, 33);
  check_finite_differences(full, random_seeds(full, 34), "bidirectional all T");
}

TEST_CASE("lstm_seq cpu rows: a row of length 0") {
  const LstmCase c = random_case(2, Direction::Forward, {4, 0, 2}, 41);
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const LstmResult r = run_lstm(c, DType::F64, nullptr, {}, *row);
    const std::int64_t DH = c.D * c.H;
    for (std::int64_t t = 0; t < c.T; ++t) {
      const std::vector<double> y_row(r.y.begin() + (t * c.B + 1) * DH, r.y.begin() + (t * c.B + 2) * DH);
      check_equal(y_row, std::vector<double>(static_cast<std::size_t>(DH), 0.0), "y of the empty row, t = " + std::to_string(t));
    }
    for (int d = 0; d < c.D; ++d) {
      check_equal(row_of(r.h_n[d], 1, c.B, 1, c.H), row_of(c.h0[d], 1, c.B, 1, c.H), "h_n == h0 of the empty row");
      check_equal(row_of(r.c_n[d], 1, c.B, 1, c.H), row_of(c.c0[d], 1, c.B, 1, c.H), "c_n == c0 of the empty row");
    }
  }
  check_finite_differences(c, random_seeds(c, 42), "bidirectional lengths 4 0 2");
  const LstmCase reverse = random_case(1, Direction::Reverse, {0, 3, 0}, 43);
  check_finite_differences(reverse, random_seeds(reverse, 44), "reverse lengths 0 3 0");
}

// The kernels run serially below ~32 k operations of work; this shape is above it, so the rows
// are split over threads (thread k owns a block of rows for the whole recurrence, and the T*B-row
// GEMMs are split too). 3 threads on 9 rows with these lengths give uneven blocks, and a block
// whose rows finish early.
LstmCase threaded_case(std::uint64_t seed) {
  LstmCase shape;
  shape.T = 7, shape.C = 8, shape.H = 6;  // 2 N G (C + H) = 2 * 63 * 24 * 14 = 42 k flops
  return random_case(2, Direction::Forward, {7, 0, 3, 7, 1, 5, 2, 7, 4}, seed, true, shape);
}

TEST_CASE("lstm_seq cpu: F64 finite differences - rows split over threads") {
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  LstmCase c = threaded_case(45);
  check_finite_differences(c, random_seeds(c, 46), "2 threads T 7 B 9 C 8 H 6", 2, cpu);
  c.dir[0] = Direction::Reverse;  // both reverse: mixed lengths take the gathered-dz path
  check_finite_differences(c, random_seeds(c, 47), "3 threads reverse T 7 B 9 C 8 H 6", 3, cpu);
}

TEST_CASE("lstm_seq cpu: results do not depend on the thread count") {
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  for (Direction d0 : {Direction::Forward, Direction::Reverse}) {
    LstmCase c = threaded_case(47);
    c.dir[0] = d0, c.dir[1] = d0;  // reverse in both: mixed lengths take the gathered-dz path
    const Seeds w = random_seeds(c, 48);
    LstmResult one;
    {
      ThreadCount use(1);
      one = run_lstm(c, DType::F64, &w, {}, cpu);
    }
    for (int threads : {2, 3, 4}) {
      ThreadCount use(threads);
      const LstmResult r = run_lstm(c, DType::F64, &w, {}, cpu);
      const Tolerance tol = tolerance(DType::F64);
      const std::string what = std::to_string(threads) + " threads vs 1: ";
      check_close(r.y, one.y, tol, what + "y");
      check_close(r.dx, one.dx, tol, what + "dx");
      for (int d = 0; d < c.D; ++d) {
        check_close(r.h_n[d], one.h_n[d], tol, what + "h_n");
        check_close(r.c_n[d], one.c_n[d], tol, what + "c_n");
        check_close(r.dw_ih[d], one.dw_ih[d], tol, what + "dw_ih");
        check_close(r.dw_hh[d], one.dw_hh[d], tol, what + "dw_hh");
        check_close(r.dbias[d], one.dbias[d], tol, what + "dbias");
        check_close(r.dh0[d], one.dh0[d], tol, what + "dh0");
        check_close(r.dc0[d], one.dc0[d], tol, what + "dc0");
      }
    }
  }
}

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

TEST_CASE("lstm_seq cpu: cost against a hand count") {
  // T = 4, B = 3, C = 5, H = 3, one direction, F32, training, h0 given, c0 not:
  // N = T B = 12 rows, G = 4 H = 12.
  kernels::LstmSeqFwdArgs a;
  a.T = 4, a.B = 3, a.C = 5, a.H = 3, a.D = 1, a.dtype = DType::F32;
  float dummy = 0;
  a.dirs[0].h0 = &dummy;
  a.dirs[0].c_saved = &dummy, a.dirs[0].gates_saved = &dummy;
  const kernels::Cost f = kernels::lstm_seq_fwd_cost(a);
  // GEMMs 2 N G (C + H) = 2*12*12*8 = 2304; pointwise 23 N H = 23*12*3 = 828.
  CHECK(f.flops == 2304.0 + 828.0);
  // Storage: x 60 + weights and bias 12*9 = 108 + y 36 + h_n, c_n 18 + h0 9 = 231 floats;
  // saved: c 36 + gates 144 = 180 floats.
  CHECK(f.bytes == 4.0 * 231 + 4.0 * 180);
  a.D = 2;  // the second direction has neither h0 nor saved buffers: 222 floats
  CHECK(kernels::lstm_seq_fwd_cost(a).bytes == 4.0 * 231 + 4.0 * 180 + 4.0 * 222);

  kernels::LstmSeqBwdArgs b;
  a.D = 1;
  b.fwd = a;
  b.dy = &dummy, b.dx = &dummy;
  b.grads[0].dw_ih = b.grads[0].dw_hh = b.grads[0].dbias = &dummy;
  b.grads[0].dh0 = b.grads[0].dc0 = &dummy;
  b.grads[0].dh_n = &dummy;
  b.param_mode = GradMode::Accumulate, b.input_mode = GradMode::Overwrite;
  const kernels::Cost g = kernels::lstm_seq_bwd_cost(b);
  // GEMMs: dh_prev and dW_hh 2 N G H = 864 each, dW_ih and dx 2 N G C = 1440 each;
  // pointwise 25 N H = 900; db column sum N G = 144.
  CHECK(g.flops == 2 * 864.0 + 2 * 1440.0 + 900.0 + 144.0);
  // Reads: x 60 + weights 96 + dy 36 + h0 9 + dh_n 9 = 210 floats, saved 180 floats;
  // parameter gradients 108 floats read and written; dh0, dc0 18 written; dx 60 written.
  CHECK(g.bytes == 4.0 * 210 + 4.0 * 180 + 4.0 * 2 * 108 + 4.0 * 18 + 4.0 * 60);
  b.grads[0].dw_ih = b.grads[0].dw_hh = b.grads[0].dbias = nullptr;
  b.dx = nullptr;  // only dh0, dc0 wanted: the dh_prev GEMM and the pointwise pass remain
  CHECK(kernels::lstm_seq_bwd_cost(b).flops == 864.0 + 900.0);
  CHECK(kernels::lstm_seq_bwd_cost(b).bytes == 4.0 * 210 + 4.0 * 180 + 4.0 * 18);
}

TEST_CASE("lstm_seq cpu rows: bad arguments") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const std::string fwd = std::string("lstm_seq_fwd_") + row->name, bwd = std::string("lstm_seq_bwd_") + row->name;
    LstmCase c = random_case(1, Direction::Reverse, {4, 5, 1}, 101);
    CHECK_SHAPE_ERROR([&] { run_lstm(c, DType::F32, nullptr, {}, *row); }, fwd, "lengths[1] = 5", "T = 4");
    c.lengths = {4, 2, -1};
    CHECK_SHAPE_ERROR([&] { run_lstm(c, DType::F64, nullptr, {}, *row); }, fwd, "lengths[2] = -1", "T = 4");

    kernels::LstmSeqFwdArgs a;
    a.T = 4, a.B = 3, a.C = 5, a.H = 3, a.D = 3;
    CHECK_SHAPE_ERROR([&] { row->forward(a, nullptr); }, fwd, "D = 3");
    a.D = 1, a.dtype = DType::I32;
    CHECK_SHAPE_ERROR([&] { row->forward(a, nullptr); }, fwd, "i32");

    kernels::LstmSeqBwdArgs b;
    b.fwd.T = 4, b.fwd.B = 3, b.fwd.C = 5, b.fwd.H = 3;
    const std::int32_t lengths[3] = {4, 7, 1};
    b.fwd.lengths = lengths;
    CHECK_SHAPE_ERROR([&] { row->backward(b, nullptr, nullptr); }, bwd, "lengths[1] = 7", "T = 4");
    b.fwd.lengths = nullptr;  // an inference forward saved nothing
    CHECK_SHAPE_ERROR([&] { row->backward(b, nullptr, nullptr); }, bwd, "saved");
  }
}

// Layer 2: each CPU row against the reference, on every dtype, with every feature of the contract.
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
        const DType saved_t = t == DType::F64 ? DType::F64 : DType::F32;
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

TEST_CASE("lstm_seq: the variant table") {
  const std::vector<LstmVariantRow>& rows = kernels::lstm_variants();
  REQUIRE(rows.size() >= 2);
  CHECK(std::string(rows[0].name) == "reference");
  CHECK(std::string(rows[1].name) == "cpu");
  for (const LstmVariantRow& row : rows) {
    CHECK(&kernels::lstm_variant(row.name) == &row);
    CHECK((row.forward != nullptr && row.backward != nullptr));
  }
  CHECK_THROWS_WITH_AS(kernels::lstm_variant("cuda-v9"), doctest::Contains("reference, cpu"), Error);
}
